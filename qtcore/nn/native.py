"""The fused CPU row pass of sampled attention: ``_rows.c``, compiled on first use.

:func:`qtcore.nn.functional.blockwise_sampled_attention` (the inference path of
``sampled_attention``, ``QuantumMultiheadAttention`` and the Hugging Face integration)
computes a block of logits with one matrix product and hands the block to this C pass,
which does the rest of the estimator in one sweep per row: max, ``exp``, the row sums,
the value-aware sizes, the ``topk`` or ``stratified`` points walked along the cumulative
sum, and ``Σ_s w_s·v[idx_s]``. The torch path needs a pass over the block for each of
these; at N = 2048 they cost more than the logits themselves.

The estimator and its random stream are the torch path's: the same uniforms are drawn from
the same generator in the same order, so the two paths pick the same keys except where a
point falls within float round-off of a key boundary (the cumulative sum is accumulated in
double here, in float there). Tests compare the two paths and check unbiasedness directly.

The source is compiled once per machine with the system C compiler (``$CC``, else ``cc``),
``-O3 -march=native`` and OpenMP when available, into ``$QTCORE_CACHE_DIR`` (default
``~/.cache/qtcore``); no Python or torch headers are needed. Without a compiler the torch
path runs, with one :class:`NativeUnavailableWarning`; ``QTCORE_NATIVE=0`` switches the
pass off. :func:`native_status` says which it is.

Example:
    >>> from qtcore.nn.native import native_status
    >>> isinstance(native_status(), str)
    True
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import torch

__all__ = ["NativeUnavailableWarning", "greedy_path", "native_status", "sample_rows"]


class NativeUnavailableWarning(RuntimeWarning):
    """The fused CPU pass could not be built; sampled attention runs its torch path."""


_lock = threading.Lock()
_state: dict[str, Any] = {}


def _cache_dir() -> Path:
    root = os.environ.get("QTCORE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "qtcore"
    )
    return Path(root) / "native"


def _cpu_flags() -> str:
    """What ``-march=native`` depends on: the CPU's feature flags (Linux) or its name."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith(("flags", "Features")):
                return line
    return platform.processor() or platform.machine()


def _compile(source: str, target: Path) -> str | None:
    """Compile ``source`` to the shared library ``target``; None, or why it failed."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return "no C compiler found (install gcc or clang, or set CC)"
    target.parent.mkdir(parents=True, exist_ok=True)
    # -fno-trapping-math lets the exp polynomial's rounding vectorise (11x on AVX2).
    base = [compiler, "-O3", "-fPIC", "-shared", "-std=gnu99", "-fno-math-errno"]
    base.append("-fno-trapping-math")
    errors = []
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        src = Path(tmp) / "_rows.c"
        src.write_text(source, encoding="utf-8")
        out = Path(tmp) / target.name
        # Best first; a compiler without OpenMP or -march=native still builds a serial one.
        for extra in (["-march=native", "-fopenmp"], ["-fopenmp"], ["-march=native"], []):
            cmd = [*base, *extra, str(src), "-o", str(out), "-lm"]
            try:
                run = subprocess.run(cmd, capture_output=True, text=True, check=False)
            except OSError as exc:  # the compiler itself cannot be run
                return f"compiling the fused CPU pass failed: {compiler}: {exc}"
            if run.returncode == 0:
                os.replace(out, target)  # atomic: parallel processes never see half a file
                return None
            errors.append(f"{' '.join(cmd)}: {run.stderr.strip()[-300:]}")
    return "compiling the fused CPU pass failed: " + " | ".join(errors)


def _load() -> Any:
    """The loaded library, or None (the reason is in ``_state["status"]``)."""
    if "lib" in _state:
        return _state["lib"]
    with _lock:
        if "lib" in _state:
            return _state["lib"]
        lib, status = None, "ok"
        if os.environ.get("QTCORE_NATIVE", "1") == "0":
            status = "switched off by QTCORE_NATIVE=0"
        else:
            source = resources.files("qtcore.nn").joinpath("_rows.c").read_text(encoding="utf-8")
            key = hashlib.sha256(
                "\0".join((source, _cpu_flags(), os.environ.get("CC", ""))).encode()
            ).hexdigest()[:16]
            path = _cache_dir() / f"qtcore_rows_{key}.so"
            try:
                error = None if path.exists() else _compile(source, path)
            except OSError as exc:  # the cache folder cannot be written
                error = f"building in {path.parent} failed: {exc}"
            if error is None:
                try:
                    lib = ctypes.CDLL(str(path))
                except OSError as exc:
                    error = f"loading {path} failed: {exc}"
            if error is not None:
                status = error
                warnings.warn(
                    f"qtcore's fused CPU pass is unavailable ({error}); sampled attention "
                    "uses its torch path, same estimator, about 2-3x slower",
                    NativeUnavailableWarning,
                    stacklevel=3,
                )
        if lib is not None:
            fn = lib.qtk_sample_rows
            i64, ptr = ctypes.c_int64, ctypes.c_void_p
            fn.argtypes = [
                ptr, i64, i64, i64,  # logits, R, n, ld
                i64, i64,  # rows_per_group, causal_start
                ptr, i64,  # sizes, size_group_stride
                ptr, i64, i64,  # values, value_group_stride, dv
                ptr, i64, i64, i64,  # ctrl, ctrl_group_stride, ctrl_ld, nctrl
                ptr, i64,  # basis, basis_group_stride
                ptr, i64,  # mean, mean_group_stride
                ptr, i64, i64,  # u, u_row_stride, u_point_stride
                i64, ctypes.c_int,  # S, take_all
                ptr, i64, ctypes.c_int,  # out, out_ld, num_threads
            ]  # fmt: skip
            fn.restype = ctypes.c_int
            walk = lib.qtk_greedy_path
            walk.argtypes = [ptr, i64, i64, ptr, ptr, ctypes.c_int]
            walk.restype = ctypes.c_int
        _state["lib"], _state["status"] = lib, status
        return lib


def native_status() -> str:
    """``"ok"`` when the fused CPU pass is built and loaded, else why sampled attention runs
    its torch path (no compiler, ``QTCORE_NATIVE=0``, a build error). Builds it if needed.

    Example:
        >>> from qtcore.nn.native import native_status
        >>> native_status() == "ok" or len(native_status()) > 0
        True
    """
    _load()
    return str(_state["status"])


def sample_rows(
    logits: torch.Tensor,
    *,
    rows_per_group: int,
    causal_start: int | None,
    sizes: torch.Tensor | None,
    values: torch.Tensor,
    u: torch.Tensor,
    num_samples: int,
    take_all: bool,
    control: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor | None:
    """One block of the estimator: ``Σ_s w_s·v[idx_s]`` per row (R, Dv), or None (no pass).

    Args:
        logits: (G, r, n) float32, contiguous, masked already (−inf or added float mask);
            overwritten.
        rows_per_group: r, the query rows per (batch, head) group in this block.
        causal_start: the first query row's index when ``is_causal``: row i of a group sees
            keys ``< causal_start + i + 1``; None when not causal.
        sizes: (G, n) float32 value-aware sizes, or None.
        values: (G, N, Dv) float32 with N ≥ n.
        u: (G·r, 1) (systematic) or (G·r, S) (jittered) uniforms in [0, 1).
        num_samples: S.
        take_all: ``topk``'s take-all keys (True) or ``stratified`` (False).
        control: the value design's exact low-rank control, or None: ``(ctrl, basis,
            mean)`` with ``ctrl`` (G, r, N) float32 holding ``φ_jt / a_j`` (``φ_jt`` alone
            without sizes), ``basis`` (G, r, Dv) the ``ψ_t`` and ``mean`` (G, Dv) μ; each
            row with mass then gets ``μ + Σ_t (Σ_j p_j φ_jt)·ψ_t`` added (``values`` are
            then the residuals; μ's coefficient ``Σ_j p_j`` over the keys that take part
            is 1). r is a multiple of 4 (pad with zero components), all contiguous.

    Example:
        >>> import torch
        >>> from qtcore.nn.native import native_status, sample_rows
        >>> logits = torch.zeros(1, 1, 4)                 # one flat row of 4 keys
        >>> values = torch.arange(4.0).reshape(1, 4, 1)
        >>> out = sample_rows(logits, rows_per_group=1, causal_start=None, sizes=None,
        ...                   values=values, u=torch.full((1, 1), 0.5), num_samples=4,
        ...                   take_all=True)
        >>> out is None or out.flatten().tolist() == [1.5]  # each key once, weight 1/4
        True
    """
    lib = _load()
    if lib is None:
        return None
    G, r, n = logits.shape
    N, dv = values.shape[-2], values.shape[-1]
    for name, t in (("logits", logits), ("values", values), ("u", u)):
        if t.dtype != torch.float32 or not t.is_contiguous() or t.device.type != "cpu":
            raise ValueError(f"{name} must be a contiguous float32 CPU tensor")
    if sizes is not None and (sizes.dtype != torch.float32 or sizes.stride(-1) != 1):
        raise ValueError("sizes must be float32 with unit stride along keys")
    # ctrl, its group stride, row stride and rows; basis and its stride; mean and its stride.
    ctrl_args: tuple[Any, ...] = (None, 0, 0, 0, None, 0, None, 0)
    if control is not None:
        ctrl, basis, mean = control
        fits = ctrl.dim() == 3 and ctrl.shape[0] == G and ctrl.shape[2] >= n
        if not fits or basis.shape != (G, ctrl.shape[1], dv) or mean.shape != (G, dv):
            raise ValueError(
                f"control shapes {tuple(ctrl.shape)}, {tuple(basis.shape)}, "
                f"{tuple(mean.shape)} do not fit {G} groups of {n} keys and {dv} value columns"
            )
        if ctrl.shape[1] % 4:
            raise ValueError("the control's components must be padded to a multiple of 4")
        for name, t in (("control", ctrl), ("control basis", basis), ("control mean", mean)):
            if t.dtype != torch.float32 or not t.is_contiguous() or t.device.type != "cpu":
                raise ValueError(f"{name} must be a contiguous float32 CPU tensor")
        ctrl_args = (
            ctrl.data_ptr(), ctrl.stride(0), ctrl.stride(1), ctrl.shape[1],
            basis.data_ptr(), basis.stride(0), mean.data_ptr(), mean.stride(0),
        )  # fmt: skip
    out = torch.empty(G * r, dv, dtype=torch.float32)
    failed = lib.qtk_sample_rows(
        logits.data_ptr(), G * r, n, n,
        r, -1 if causal_start is None else causal_start,
        None if sizes is None else sizes.data_ptr(), 0 if sizes is None else sizes.stride(0),
        values.data_ptr(), N * dv, dv,
        *ctrl_args,
        u.data_ptr(), u.shape[1], 0 if u.shape[1] == 1 else 1,
        num_samples, int(take_all),
        out.data_ptr(), dv, torch.get_num_threads(),
    )  # fmt: skip
    if failed:
        raise MemoryError("the fused CPU pass could not allocate its scratch memory")
    return out.reshape(G, r, dv)


def greedy_path(dist: torch.Tensor, start: torch.Tensor) -> torch.Tensor | None:
    """Greedy nearest-neighbour paths (G, N) from squared distances ``dist`` (G, N, N) float64
    and start keys ``start`` (G,), or None when the pass is not built. Each path starts at
    its start key and always moves to the nearest key not yet visited (ties: the lowest
    index), the order of :class:`qtcore.nn.functional.ValueDesign` up to ``TOUR_KEYS`` keys.

    Example:
        >>> import torch
        >>> from qtcore.nn.native import greedy_path
        >>> x = torch.tensor([0.0, 5.0, 1.0, 3.0], dtype=torch.float64)
        >>> dist = ((x[:, None] - x[None, :]) ** 2)[None]
        >>> path = greedy_path(dist, torch.tensor([0]))
        >>> path is None or path.tolist() == [[0, 2, 3, 1]]
        True
    """
    lib = _load()
    if lib is None:
        return None
    G, N = dist.shape[0], dist.shape[-1]
    if dist.dtype != torch.float64 or not dist.is_contiguous() or dist.device.type != "cpu":
        raise ValueError("dist must be a contiguous float64 CPU tensor")
    if dist.shape != (G, N, N) or start.shape != (G,):
        got = f"{tuple(dist.shape)}, {tuple(start.shape)}"
        raise ValueError(f"dist must be (G, N, N) and start (G,), got {got}")
    start = start.to(torch.int64).contiguous()
    out = torch.empty(G, N, dtype=torch.int64)
    if lib.qtk_greedy_path(
        dist.data_ptr(), G, N, start.data_ptr(), out.data_ptr(), torch.get_num_threads()
    ):
        raise MemoryError("the nearest-neighbour path could not allocate its scratch memory")
    return out
