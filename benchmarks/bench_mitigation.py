"""Bias of noisy amplitude-encoded distributions: unmitigated vs mitiq.zne vs mitiq.rem vs both.

For every backend that is installed among ``reference``, ``qiskit.aer`` and
``cirq.density_matrix``, at n = 3, 4, 5 qubits (rows drawn from Dirichlet(1) and
amplitude-encoded), depolarizing_2q ∈ {0.005, 0.01, 0.02} with depolarizing_1q =
depolarizing_2q / 10, and readout ∈ {0, 0.01}, it measures the mean total-variation distance
(TVD) of each method's distribution to the exact one (the row P itself), in three regimes:

* ``exact``: exact probabilities, no shots (``reference`` only): the pure bias of each method;
* ``large``: 10⁶ shots per executed circuit on ``reference``, 10⁵ on the frameworks' backends
  (ZNE spends 3× that: one run per scale factor);
* ``equal``: an equal total budget per row (3·10³ and 3·10⁵ shots): the unmitigated and REM
  runs get it all, ZNE splits it over its three scale factors.

Methods: ``raw`` (the backend's counts / shots), ``rem`` (Mitiq's inverse confusion matrix
from the NoiseModel's readout rate), ``zne`` (Mitiq fold_gates_at_random at (1, 3, 5),
Richardson), ``both`` (ZNE with REM at every scale factor). A second part measures the shot
budget each Mitiq factory needs (n = 3, depolarizing_2q = 0.01, no readout error).

The frameworks' backends sample far slower than ``reference``, so by default they run the
target cell (n = 3, depolarizing_2q = 0.01, readout 0.01, 4 rows); ``--other-qubits 3 4 5
--other-noise 0.005 0.01 0.02 --other-readout 0 0.01 --other-rows 16`` gives them the full
grid. The default run takes about 4–5 minutes on 2 cores.

Writes ``benchmarks/results/mitigation.json`` and ``mitigation.png``.

    python benchmarks/bench_mitigation.py [--qubits 3 4 5] [--rows 16] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
from qtcore_mitiq import REMMitigator, ZNEMitigator, extrapolation_weights

import qtcore

HERE = Path(__file__).parent
BACKENDS = ["reference", "qiskit.aer", "cirq.density_matrix"]
METHODS = ["raw", "rem", "zne", "both"]


def tvd(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(q - p).sum(axis=1)


def available_backends() -> tuple[dict[str, qtcore.Backend], dict[str, str]]:
    """The benchmarked backends that run here, and why the others are skipped."""
    registered = {e.name: e for e in qtcore.backends()}
    found: dict[str, qtcore.Backend] = {}
    skipped: dict[str, str] = {}
    for name in BACKENDS:
        entry = registered.get(name)
        if entry is None:
            skipped[name] = "not installed"
            continue
        reason = entry.unavailable_reason()
        if reason:
            skipped[name] = reason
            continue
        try:
            backend = qtcore.get_backend(name)
        except (qtcore.QtcoreError, ImportError) as exc:
            skipped[name] = f"{type(exc).__name__}: {exc}"
            continue
        if not backend.capabilities.noise:
            skipped[name] = "does not model noise"
            continue
        found[name] = backend
    return found, skipped


def run_method(
    method: str,
    backend: qtcore.Backend,
    P: np.ndarray,
    noise: qtcore.NoiseModel,
    *,
    budget: int | None,
    per_circuit: int | None,
    seed: int,
) -> tuple[np.ndarray, int]:
    """(distributions, shots spent per row). ``budget``: equal total per row; ``per_circuit``:
    shots per executed circuit; both None: exact probabilities."""
    exact = budget is None and per_circuit is None
    k = 1 if method in ("raw", "rem") else 3
    shots = 1 if exact else (per_circuit if per_circuit is not None else budget // k)  # type: ignore[operator]
    if method == "raw":
        if exact:
            return backend.distribution_probabilities(P, noise), 0  # type: ignore[attr-defined]
        counts = backend.sample_distributions(P, shots=shots, seed=seed, noise=noise)
        return counts / shots, shots
    mitigator: ZNEMitigator | REMMitigator
    if method == "rem":
        mitigator = REMMitigator(confusion="noise", exact=exact)
    else:
        mitigator = ZNEMitigator(rem=method == "both", exact=exact)
    q = mitigator.sample_distributions(backend, P, shots=shots, seed=seed, noise=noise)
    return q, mitigator.last_shots_spent // P.shape[0]


def main_grid(args: argparse.Namespace, backends: dict[str, qtcore.Backend]) -> list[dict]:
    records = []
    for bname, backend in backends.items():
        regimes: list[tuple[str, int | None, int | None]] = []
        if backend.capabilities.exact_probabilities and hasattr(
            backend, "distribution_probabilities"
        ):
            regimes.append(("exact", None, None))
        full = bname == "reference"
        regimes.append(("large", None, args.large_shots if full else args.other_large_shots))
        regimes += [("equal", b, None) for b in args.budgets]
        qubits = args.qubits if full else args.other_qubits
        rows = args.rows if full else args.other_rows
        for n in qubits:
            P = np.random.default_rng(100 + n).dirichlet(np.ones(2**n), size=args.rows)[:rows]
            for readout in args.readout if full else args.other_readout:
                for p2 in args.noise if full else args.other_noise:
                    noise = qtcore.NoiseModel(
                        depolarizing_1q=p2 / 10, depolarizing_2q=p2, readout=readout
                    )
                    for r_i, (regime, budget, per_circuit) in enumerate(regimes):
                        for m_i, method in enumerate(METHODS):
                            seed = 7919 * n + 104729 * r_i + 31 * m_i + int(p2 * 1e4)
                            start = time.perf_counter()
                            q, spent = run_method(
                                method, backend, P, noise,
                                budget=budget, per_circuit=per_circuit, seed=seed,
                            )
                            seconds = time.perf_counter() - start
                            d = tvd(q, P)
                            records.append({
                                "backend": bname, "n": n, "depolarizing_2q": p2,
                                "depolarizing_1q": p2 / 10, "readout": readout,
                                "regime": regime, "budget_per_row": budget,
                                "shots_per_circuit": per_circuit, "method": method,
                                "shots_spent_per_row": spent,
                                "tvd_mean": float(d.mean()),
                                "tvd_sem": float(d.std(ddof=1) / np.sqrt(len(d))),
                                "min_entry": float(q.min()), "seconds": seconds,
                            })
                    done = [r for r in records if r["backend"] == bname and r["n"] == n
                            and r["depolarizing_2q"] == p2 and r["readout"] == readout]
                    print(f"{bname:20s} n={n} p2={p2:<6g} ro={readout:<5g} " + "  ".join(
                        f"{r['regime'][:2]}{r['budget_per_row'] or ''}:{r['method']}="
                        f"{r['tvd_mean']:.2e}" for r in done if r["method"] != "rem"
                    ), flush=True)
    return records


def factory_budget(args: argparse.Namespace) -> list[dict]:
    """TVD at equal total budget per row for each factory, n = 3, p2 = 0.01, no readout."""
    ref = qtcore.get_backend("reference")
    n = 3
    P = np.random.default_rng(7).dirichlet(np.ones(2**n), size=args.rows)
    noise = qtcore.NoiseModel(depolarizing_1q=0.001, depolarizing_2q=0.01)
    factories = {
        "raw": None,
        "richardson(1,3,5)": {"factory": "richardson"},
        "linear(1,3,5)": {"factory": "linear"},
        "poly2(1,3,5,7)": {"factory": "poly", "order": 2, "scale_factors": (1, 3, 5, 7)},
        "exp(1,3,5)": {"factory": "exp"},
    }
    out = []
    for name, opts in factories.items():
        if opts is None:
            bias = tvd(ref.distribution_probabilities(P, noise), P).mean()
            amplification = 1.0
        else:
            exact = ZNEMitigator(exact=True, **opts)
            bias = tvd(exact.sample_distributions(ref, P, shots=1, noise=noise), P).mean()
            amplification = (
                float(np.sqrt((extrapolation_weights(exact.scale_factors, opts["factory"],
                                                     opts.get("order")) ** 2).sum()))
                if opts["factory"] != "exp" else float("nan")
            )
        for total in args.factory_budgets:
            errs = []
            for rep in range(args.repeats):
                seed = 1000 * rep + total % 997
                if opts is None:
                    q = ref.sample_distributions(P, shots=total, seed=seed, noise=noise) / total
                else:
                    z = ZNEMitigator(**opts)
                    k = len(z.scale_factors)
                    try:
                        q = z.sample_distributions(ref, P, shots=total // k, seed=seed,
                                                   noise=noise)
                    except qtcore.QtcoreError:
                        continue
                errs.append(tvd(q, P))
            e = np.concatenate(errs) if errs else np.array([np.nan])
            out.append({
                "factory": name, "total_shots_per_row": total, "bias_tvd": float(bias),
                "shot_noise_amplification": amplification,
                "tvd_mean": float(np.nanmean(e)),
                "tvd_sem": float(np.nanstd(e, ddof=1) / np.sqrt(max(1, e.size))),
                "failed_fits": args.repeats - len(errs),
            })
        print(f"budget {name:18s} bias={bias:.2e} " + " ".join(
            f"{r['total_shots_per_row']:.0e}:{r['tvd_mean']:.2e}"
            for r in out if r["factory"] == name), flush=True)
    return out


def summarise(records: list[dict]) -> dict:
    def get(backend: str, regime: str, method: str, readout: float, budget=None) -> float | None:
        for r in records:
            if (r["backend"], r["n"], r["depolarizing_2q"], r["regime"], r["method"],
                    r["readout"], r["budget_per_row"]) == (
                    backend, 3, 0.01, regime, method, readout, budget):
                return float(r["tvd_mean"])
        return None

    summary = {}
    for backend in sorted({r["backend"] for r in records}):
        for readout in sorted({r["readout"] for r in records}):
            for regime in ("exact", "large"):
                raw = get(backend, regime, "raw", readout)
                if raw is None:
                    continue
                key = f"{backend}|n=3|p2=0.01|readout={readout}|{regime}"
                summary[key] = {
                    m: {"tvd": get(backend, regime, m, readout),
                        "bias_reduction_vs_raw": raw / get(backend, regime, m, readout)}
                    for m in METHODS
                }
    return summary


def plot(records: list[dict], budget_rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = sorted({r["backend"] for r in records})
    qubits = sorted({r["n"] for r in records})
    readouts = sorted({r["readout"] for r in records})
    nrows = len(backends) * len(readouts) + 1
    fig, axes = plt.subplots(nrows, len(qubits), figsize=(4.2 * len(qubits), 3.3 * nrows),
                             squeeze=False)
    colors = {"raw": "k", "rem": "tab:orange", "zne": "tab:blue", "both": "tab:green"}
    styles = {"exact": ":", "large": "-", "equal": "--"}
    big_budget = max((r["budget_per_row"] or 0) for r in records)
    for bi, backend in enumerate(backends):
        for ri, readout in enumerate(readouts):
            for qi, n in enumerate(qubits):
                ax = axes[bi * len(readouts) + ri, qi]
                if not any(r["backend"] == backend and r["n"] == n and r["readout"] == readout
                           for r in records):
                    ax.axis("off")
                    continue
                for method in METHODS:
                    for regime in ("exact", "large", "equal"):
                        rs = [r for r in records if r["backend"] == backend and r["n"] == n
                              and r["readout"] == readout and r["method"] == method
                              and r["regime"] == regime
                              and (regime != "equal" or r["budget_per_row"] == big_budget)]
                        if not rs:
                            continue
                        rs.sort(key=lambda r: r["depolarizing_2q"])
                        ax.plot([r["depolarizing_2q"] for r in rs], [r["tvd_mean"] for r in rs],
                                styles[regime], color=colors[method], marker="o", ms=3,
                                label=f"{method} ({regime})")
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_title(f"{backend}, n={n}, readout={readout}", fontsize=9)
                ax.set_xlabel("depolarizing_2q")
                ax.set_ylabel("mean TVD to exact")
    axes[0, 0].legend(fontsize=6, ncol=2)
    ax = axes[-1, 0]
    for name in sorted({r["factory"] for r in budget_rows}):
        rs = [r for r in budget_rows if r["factory"] == name]
        ax.errorbar([r["total_shots_per_row"] for r in rs], [r["tvd_mean"] for r in rs],
                    yerr=[r["tvd_sem"] for r in rs], marker="o", ms=3, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title("reference, n=3, p2=0.01: equal total budget", fontsize=9)
    ax.set_xlabel("total shots per row")
    ax.set_ylabel("mean TVD to exact")
    ax.legend(fontsize=6)
    for ax in axes[-1, 1:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[3, 4, 5])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.005, 0.01, 0.02])
    parser.add_argument("--readout", type=float, nargs="+", default=[0.0, 0.01])
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--large-shots", type=int, default=1_000_000)
    parser.add_argument("--budgets", type=int, nargs="+", default=[3_000, 300_000])
    parser.add_argument("--factory-budgets", type=int, nargs="+",
                        default=[300, 3_000, 30_000, 300_000, 3_000_000, 30_000_000])
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--backends", nargs="+", default=BACKENDS)
    # The frameworks' own samplers cost seconds per 10⁶ shots (cirq.density_matrix: 40 s for
    # 4 rows), so by default they run the target cell only; pass the full grid to widen it.
    parser.add_argument("--other-qubits", type=int, nargs="+", default=[3])
    parser.add_argument("--other-noise", type=float, nargs="+", default=[0.01])
    parser.add_argument("--other-readout", type=float, nargs="+", default=[0.01])
    parser.add_argument("--other-rows", type=int, default=4)
    parser.add_argument("--other-large-shots", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="n = 3 only, 4 rows (smoke run)")
    parser.add_argument("--out", default=str(HERE / "results" / "mitigation.json"))
    args = parser.parse_args()
    if args.quick:
        args.qubits, args.rows, args.repeats = [3], 4, 1
        args.other_rows, args.other_readout = 4, [0.01]
        args.factory_budgets = [3_000, 300_000]
    BACKENDS[:] = args.backends

    start = time.perf_counter()
    backends, skipped = available_backends()
    for name, why in skipped.items():
        print(f"skipping {name}: {why}")
    records = main_grid(args, backends)
    budget_rows = factory_budget(args)
    summary = summarise(records)
    import cirq
    import mitiq

    result = {
        "benchmark": "mitigation",
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "processor": platform.processor()},
        "versions": {"qtcore": qtcore.__version__, "mitiq": mitiq.__version__,
                     "cirq": cirq.__version__, "numpy": np.__version__},
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "backends": sorted(backends), "skipped": skipped,
        "target": "≥ 3× lower bias at depolarizing_2q = 0.01, n = 3, large shots",
        "summary": summary,
        "records": records,
        "factory_budget": budget_rows,
        "seconds": time.perf_counter() - start,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    plot(records, budget_rows, out.with_suffix(".png"))
    for key, row in summary.items():
        print(key, "  ".join(f"{m}: {v['tvd']:.2e} ({v['bias_reduction_vs_raw']:.1f}×)"
                             for m, v in row.items()))
    print(f"wrote {out} and {out.with_suffix('.png')} in {result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
