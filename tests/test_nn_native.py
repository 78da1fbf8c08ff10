"""The fused CPU pass (qtcore/nn/_rows.c): the torch path's estimator, exactly, and faster.

Every comparison runs the same call twice, with the pass and with the torch path, from the
same generator seed: the two draw the same uniforms, so they pick the same keys unless a
point falls within float round-off of a key boundary (the cumulative sums are accumulated
differently). Unbiasedness is also tested on the fused path alone.
"""

from __future__ import annotations

import shutil
import warnings

import pytest
import torch
from torch.nn.functional import scaled_dot_product_attention as sdpa

import qtcore.nn.functional as functional
from qtcore.nn import native
from qtcore.nn.functional import sampled_attention
from qtcore.sampling import StratifiedSampler, TopKSampler

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="needs a C compiler"
)

SAMPLERS = {
    "topk": TopKSampler(),
    "topk-p": TopKSampler(value_aware=False),
    "topk-jittered": TopKSampler(systematic=False, value_aware=False),
    "stratified": StratifiedSampler(),
    "stratified-systematic": StratifiedSampler(systematic=True),
}


@pytest.fixture
def torch_path(monkeypatch):  # type: ignore[no-untyped-def]
    """A context in which sampled_attention runs its torch path (the pass "unavailable")."""

    def switch(off: bool) -> None:
        if off:
            monkeypatch.setattr(native, "_state", {"lib": None, "status": "off for a test"})
        else:
            monkeypatch.setattr(native, "_state", {})

    return switch


def _both(torch_path, *args, **kwargs):  # type: ignore[no-untyped-def]
    outs = []
    for off in (False, True):
        torch_path(off)
        with torch.no_grad():
            outs.append(
                sampled_attention(*args, generator=torch.Generator().manual_seed(11), **kwargs)
            )
    torch_path(False)
    return outs


def _qkv(B=2, H=3, L=40, N=70, D=8, seed=0, peak=2.0):  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, L, D, generator=g) * peak
    k = torch.randn(B, H, N, D, generator=g)
    v = torch.randn(B, H, N, D, generator=g)
    return q, k, v


def test_the_pass_builds_on_this_machine() -> None:
    assert native.native_status() == "ok"


MASKS = ["none", "causal", "bool", "float", "padding", "padding+causal", "dead-rows"]


def _mask(kind: str, L: int, N: int) -> tuple[torch.Tensor | None, bool]:
    g = torch.Generator().manual_seed(5)
    if kind == "none":
        return None, False
    if kind == "causal":
        return None, True
    if kind == "bool":
        return torch.rand(L, N, generator=g) > 0.3, False
    if kind == "float":
        return torch.randn(L, N, generator=g), False
    if kind in ("padding", "padding+causal"):
        pad = torch.ones(2, 1, 1, N, dtype=torch.bool)
        pad[1, ..., N - 25 :] = False
        return pad, kind == "padding+causal"
    mask = torch.rand(L, N, generator=g) > 0.5
    mask[::7] = False  # every key masked on these rows
    return mask, False


@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("name", SAMPLERS)
def test_fused_pass_matches_the_torch_path(name: str, kind: str, monkeypatch, torch_path) -> None:  # type: ignore[no-untyped-def]
    # Small blocks: block boundaries, causal offsets and partial last blocks all occur. The
    # uniforms are drawn block by block, so both paths need the same blocks.
    monkeypatch.setattr(functional, "FUSED_BLOCK_ELEMENTS", 2000)
    monkeypatch.setattr(functional, "BLOCK_ELEMENTS", 2000)
    q, k, v = _qkv()
    mask, causal = _mask(kind, 40, 70)
    fused, reference = _both(
        torch_path, q, k, v, mask, causal, sampler=SAMPLERS[name], num_samples=12
    )
    assert torch.isfinite(fused).all()
    rows_differ = ((fused - reference).abs().amax(-1) > 1e-4).float().mean().item()
    # Systematic designs pick the same keys up to round-off; jittered points lie near key
    # boundaries more often, so a few rows in a thousand may differ there.
    assert rows_differ <= (0.005 if "jittered" in name or name == "stratified" else 0.0)
    close = (fused - reference).abs().amax(-1) <= 1e-4
    torch.testing.assert_close(fused[close], reference[close], atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("kind", ["none", "causal", "padding", "padding+causal", "float"])
def test_one_group_at_a_time_matches_the_torch_path(kind: str, monkeypatch, torch_path) -> None:  # type: ignore[no-untyped-def]
    """Long rows (N ≥ FUSED_GROUP_KEYS) take one (batch, head) group per matrix product; the
    uniforms are still drawn per block of query rows for all groups, as the torch path does."""
    monkeypatch.setattr(functional, "FUSED_GROUP_KEYS", 64)
    monkeypatch.setattr(functional, "FUSED_BLOCK_ELEMENTS", 7 * 70)  # 7 rows per block
    monkeypatch.setattr(functional, "BLOCK_ELEMENTS", 7 * 6 * 70)  # 7 rows of all 6 groups
    q, k, v = _qkv()
    mask, causal = _mask(kind, 40, 70)
    for name in ("topk", "topk-p", "stratified"):
        fused, reference = _both(
            torch_path, q, k, v, mask, causal, sampler=SAMPLERS[name], num_samples=12
        )
        close = (fused - reference).abs().amax(-1) <= 1e-4
        assert close.float().mean() >= (0.995 if name == "stratified" else 1.0)
        torch.testing.assert_close(fused[close], reference[close], atol=2e-5, rtol=1e-4)


def test_rows_with_fewer_keys_than_samples_are_exact(torch_path) -> None:  # type: ignore[no-untyped-def]
    q, k, v = _qkv(L=20, N=30)
    mask = torch.zeros(20, 30, dtype=torch.bool)
    mask[:, :5] = True  # 5 live keys, S = 8: every key is take-all
    with torch.no_grad():
        out = sampled_attention(q, k, v, mask, sampler=TopKSampler(), num_samples=8)
    torch.testing.assert_close(out, sdpa(q, k, v, attn_mask=mask), atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["topk-p", "stratified"])
def test_masked_keys_never_get_weight(name: str) -> None:
    """Huge values on masked keys: one chosen through round-off would show in the output.

    The last 16 keys of every 64-key block are masked, so that points which round-off puts
    at a block's end meet keys without mass (removing the pass's guard against that made
    this test fail).
    """
    g = torch.Generator().manual_seed(0)
    N = 1024
    q = torch.randn(1, 4, 256, 8, generator=g) * 3
    k, v = torch.randn(1, 4, N, 8, generator=g), torch.randn(1, 4, N, 8, generator=g)
    mask = torch.ones(256, N, dtype=torch.bool)
    for offset in range(48, 64):
        mask[:, offset::64] = False
    v = torch.where(mask.any(0)[:, None], v, torch.full_like(v, 1e6))
    with torch.no_grad():
        for seed in range(50):
            out = sampled_attention(
                q, k, v, mask, sampler=SAMPLERS[name], num_samples=64,
                generator=torch.Generator().manual_seed(seed),
            )  # fmt: skip
            assert out.abs().max() < 100


@pytest.mark.parametrize(
    ("name", "causal", "N"),
    [
        *((name, causal, 40) for name in SAMPLERS if name != "stratified-systematic"
          for causal in (False, True)),
        ("topk", False, 300),  # above TOUR_KEYS: the angle order in the control's next plane
    ],
)  # fmt: skip
def test_fused_pass_is_unbiased(name: str, causal: bool, N: int) -> None:
    """Mean of M = 4000 outputs against exact attention: a z-test per entry.

    With the sample standard error per entry and |z| ≤ 5.0 required for every one of the
    3·6·6 = 108 entries that vary, the false-failure rate is below 108 · 5.7e-7 ≈ 6e-5
    (seeds fixed). Ev = 6 > topk's control rank 4: the residuals still vary.
    """
    q, k, v = _qkv(B=1, H=1, L=6, N=N, D=6, seed=4)
    M = 4000
    with torch.no_grad():
        outs = sampled_attention(
            q.expand(M, 3, -1, -1), k, v, None, causal, sampler=SAMPLERS[name],
            num_samples=5, generator=torch.Generator().manual_seed(7),
        )  # fmt: skip
    exact = sdpa(q, k, v, is_causal=causal)[0].double()
    outs = outs.double()
    se = outs.std(dim=0) / M**0.5
    diff = outs.mean(dim=0) - exact
    # Early causal rows have fewer keys than S: computed exactly, no spread to test against.
    exact_rows = se < 1e-7
    assert bool((diff[exact_rows].abs() < 1e-5).all())
    z = diff[~exact_rows] / se[~exact_rows]
    assert z.numel() > 0 and z.abs().max() <= 5.0, z


def test_switched_off_by_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setenv("QTCORE_NATIVE", "0")
    assert native.native_status() == "switched off by QTCORE_NATIVE=0"
    assert native.sample_rows(
        torch.zeros(1, 1, 2), rows_per_group=1, causal_start=None, sizes=None,
        values=torch.zeros(1, 2, 1), u=torch.zeros(1, 1), num_samples=1, take_all=True,
    ) is None  # fmt: skip


def test_a_failed_build_warns_once_and_the_torch_path_runs(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setenv("QTCORE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    q, k, v = _qkv(L=8, N=40)
    with pytest.warns(native.NativeUnavailableWarning, match="torch path"):
        status = native.native_status()
    assert "failed" in status and "no-such-compiler" in status
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        with torch.no_grad():
            out = sampled_attention(q, k, v, num_samples=8)
    assert out.shape == (2, 3, 8, 8) and torch.isfinite(out).all()


def test_the_library_is_cached_by_source_and_cpu(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setenv("QTCORE_CACHE_DIR", str(tmp_path))
    assert native.native_status() == "ok"
    built = list((tmp_path / "native").glob("qtcore_rows_*.so"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    monkeypatch.setattr(native, "_state", {})
    assert native.native_status() == "ok"  # loaded from the cache, not rebuilt
    assert built[0].stat().st_mtime_ns == stamp
    assert list((tmp_path / "native").iterdir()) == built  # no temporary files left


def test_sample_rows_rejects_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="contiguous float32"):
        native.sample_rows(
            torch.zeros(1, 1, 2, dtype=torch.float64), rows_per_group=1, causal_start=None,
            sizes=None, values=torch.zeros(1, 2, 1), u=torch.zeros(1, 1), num_samples=1,
            take_all=True,
        )  # fmt: skip
    ok = torch.zeros(1, 4, 2), torch.zeros(1, 4, 1), torch.zeros(1, 1)
    bad = {
        "multiple of 4": (torch.zeros(1, 3, 2), torch.zeros(1, 3, 1), torch.zeros(1, 1)),
        "do not fit": (torch.zeros(1, 4, 2), torch.zeros(1, 4, 3), torch.zeros(1, 1)),
        "contiguous float32": (ok[0].double(), ok[1], ok[2]),
    }
    for message, control in bad.items():
        with pytest.raises(ValueError, match=message):
            native.sample_rows(
                torch.zeros(1, 1, 2), rows_per_group=1, causal_start=None, sizes=None,
                values=torch.zeros(1, 2, 1), u=torch.zeros(1, 1), num_samples=1,
                take_all=True, control=control,
            )  # fmt: skip


def test_other_dtypes_and_custom_samplers_take_the_torch_path(torch_path) -> None:  # type: ignore[no-untyped-def]
    class Mine(TopKSampler):
        """A subclass may change the estimator: the fused pass does not take it."""

    q, k, v = _qkv(L=8, N=40)
    assert functional._fused_mode(Mine(), q, k, v, None) is None
    assert functional._fused_mode(TopKSampler(), q.double(), k.double(), v.double(), None) is None
    assert functional._fused_mode(TopKSampler(), q, k, v, None) == (True, True)
    assert functional._fused_mode(StratifiedSampler(), q, k, v, None) == (False, False)


def test_inference_takes_the_fused_pass_by_default(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The default sampler at inference on float32 CPU tensors runs the pass, not the torch
    passes (a silent fallback would only show as time)."""
    calls = []
    inner = native.sample_rows

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["take_all"])
        return inner(*args, **kwargs)

    monkeypatch.setattr(native, "sample_rows", spy)
    q, k, v = _qkv(L=8, N=40)
    with torch.no_grad():
        sampled_attention(q, k, v, num_samples=8)
        sampled_attention(q, k, v, num_samples=8, sampler="stratified")
    assert calls and set(calls) == {True, False}
    calls.clear()
    sampled_attention(q.requires_grad_(), k, v, num_samples=8)  # training: the dense path
    assert not calls


@pytest.mark.parametrize("kind", ["none", "padding", "all-padded"])
@pytest.mark.parametrize("rank", [1, 5, 8])
def test_control_in_the_fused_pass_matches_the_torch_path(  # type: ignore[no-untyped-def]
    kind: str, rank: int, monkeypatch, torch_path
) -> None:
    """topk's low-rank control (Ev = 32, rank 1, 5, 8: one or two chunks of four sums, with
    zero padding) in the fused pass against the torch path. Blocks of 5 rows of all 6
    groups: the pass's row pairs straddle groups; "all-padded" gives one batch element no
    key at all (its rows must stay zero, with no control added)."""
    monkeypatch.setattr(functional, "FUSED_BLOCK_ELEMENTS", 5 * 6 * 70)
    monkeypatch.setattr(functional, "BLOCK_ELEMENTS", 5 * 6 * 70)
    q, k, v = _qkv(D=32)
    mask = None
    if kind != "none":
        mask = torch.ones(2, 1, 1, 70, dtype=torch.bool)
        mask[1, ..., 45:] = False
        if kind == "all-padded":
            mask[1] = False
    fused, reference = _both(
        torch_path, q, k, v, mask, False, sampler=TopKSampler(control_rank=rank),
        num_samples=12,
    )  # fmt: skip
    torch.testing.assert_close(fused, reference, atol=2e-5, rtol=1e-4)
    if kind == "all-padded":
        assert bool(fused[1].eq(0).all())
    else:  # the control is really on: without it the output differs
        with torch.no_grad():
            plain = sampled_attention(
                q, k, v, mask, sampler=TopKSampler(control_rank=0), num_samples=12,
                generator=torch.Generator().manual_seed(11),
            )  # fmt: skip
        assert float((plain - fused).abs().max()) > 1e-3


@pytest.mark.parametrize("N", [3, 17, 120])
def test_the_nearest_neighbour_path_in_c_matches_the_torch_walk(N: int, torch_path) -> None:  # type: ignore[no-untyped-def]
    """The C walk and the batched torch walk give the same path, ties included (points on
    a coarse grid, so many distances are equal: both must take the lowest index)."""
    g = torch.Generator().manual_seed(N)
    points = torch.randint(0, 3, (2, 5, N, 4), generator=g).float()
    points[0, 0] = 0.0  # every distance tied
    fast = functional._nearest_neighbour_path(points)
    torch_path(True)
    slow = functional._nearest_neighbour_path(points)
    torch_path(False)
    assert torch.equal(fast, slow)
    assert bool((fast.sort(dim=-1).values == torch.arange(N)).all())  # a permutation


def test_greedy_path_rejects_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="float64"):
        native.greedy_path(torch.zeros(1, 3, 3), torch.zeros(1, dtype=torch.int64))
    with pytest.raises(ValueError, match="must be"):
        native.greedy_path(torch.zeros(1, 3, 4, dtype=torch.float64), torch.zeros(1))
