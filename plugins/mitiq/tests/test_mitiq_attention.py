"""``QuantumMultiheadAttention(..., mitigator="mitiq.zne")``: mitigation inside the layer.

Skips until ``qtcore.nn`` (and torch) are installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import qtcore

torch = pytest.importorskip("torch")
qtnn = pytest.importorskip("qtcore.nn")


def test_zne_inside_attention_reduces_the_output_error() -> None:
    # 4 keys (n = 2), 2 heads, 4 queries: 8 amplitude-encoded rows per forward pass.
    # Deterministic (fixed seeds). Margin: at 2·10⁵ shots per scale factor the mitigated
    # weights' shot noise (TVD ≈ 4e-3) is well below the unmitigated bias at
    # depolarizing_2q = 0.05 (TVD ≈ 3e-2), so the 2× requirement fails only if the
    # layer drops or mis-scales the mitigated weights. Measured: mean |output error|
    # 1.6e-3 with ZNE vs 1.28e-2 without (8.2×).
    noise = qtcore.NoiseModel(depolarizing_1q=0.005, depolarizing_2q=0.05)
    torch.manual_seed(0)
    x = torch.randn(1, 4, 16, dtype=torch.float64)

    base = qtnn.QuantumMultiheadAttention(16, 2, batch_first=True, dtype=torch.float64)

    def layer(**kw: object) -> torch.nn.Module:
        m = qtnn.QuantumMultiheadAttention(16, 2, batch_first=True, dtype=torch.float64, **kw)
        m.load_state_dict(base.state_dict())  # identical projections in every layer
        return m

    exact, _ = layer(sampler="exact")(x, x, x)
    common = {"backend": "reference", "shots": 200_000, "noise": noise, "seed": 3}
    raw, _ = layer(**common)(x, x, x)
    zne, _ = layer(mitigator="mitiq.zne", **common)(x, x, x)
    err_raw = float((raw - exact).detach().abs().mean())
    err_zne = float((zne - exact).detach().abs().mean())
    assert np.isfinite(err_zne)
    assert err_zne * 2 < err_raw, (err_zne, err_raw)


def test_negative_quasi_probabilities_pass_through() -> None:
    # REM at readout 0.2 with 64 shots returns negative weights for most rows; the layer
    # must still give a finite output (ô = W·V is linear in W).
    noise = qtcore.NoiseModel(readout=0.2)
    torch.manual_seed(0)
    x = torch.randn(1, 3, 8, dtype=torch.float64)
    m = qtnn.QuantumMultiheadAttention(
        8,
        1,
        batch_first=True,
        dtype=torch.float64,
        backend="reference",
        shots=64,
        noise=noise,
        mitigator="mitiq.rem",
        seed=2,
    )
    out, _ = m(x, x, x)
    assert torch.isfinite(out).all()
