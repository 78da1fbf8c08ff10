"""QuantumGPT: a GPT-2 causal language model from ``transformers`` with sampled attention.

There is no model zoo here: :func:`quantum_gpt` builds a randomly initialised
``transformers.GPT2LMHeadModel`` from a ``GPT2Config`` of the chosen size (nothing is
downloaded) and points its attention at :func:`qtcore.nn.functional.sampled_attention`
through :func:`qtcore.integrations.transformers.register` (``attn_implementation`` set to a
registered qtcore name). transformers' own machinery runs unchanged: ``generate()`` with
the KV cache (each decode step samples over the cached keys), ``save_pretrained`` /
``from_pretrained(path, attn_implementation=model.qtcore_attention.name)``, and
``set_attn_implementation("sdpa")`` for exact attention and back.

Sizes (GPT-2's layout; ``n_positions`` and any ``GPT2Config`` field can be overridden):

========  ========  ======  =======  ===========  ======================================
size      n_layer   n_embd  n_head   n_positions  parameters (vocab 50257, tied head)
========  ========  ======  =======  ===========  ======================================
tiny      2         128     4        256          6.9 M (6.4 M of them the embedding)
small     6         384     6        512          30.1 M
124m      12        768     12       1024         124.4 M (GPT-2 small)
========  ========  ======  =======  ===========  ======================================

Example:
    >>> import torch
    >>> from qtcore.models import quantum_gpt
    >>> model = quantum_gpt("tiny", vocab_size=64, sampler="topk", num_samples=8, seed=0)
    >>> out = model(torch.randint(0, 64, (2, 12)))
    >>> out.logits.shape
    torch.Size([2, 12, 64])
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from qtcore.errors import InvalidInput
from qtcore.noise import NoiseModel

__all__ = ["SIZES", "QuantumAttentionSettings", "quantum_gpt", "use_quantum_attention"]

#: GPT2Config fields of each size (GPT-2's own layout; "124m" is GPT-2 small).
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"n_layer": 2, "n_embd": 128, "n_head": 4, "n_positions": 256},
    "small": {"n_layer": 6, "n_embd": 384, "n_head": 6, "n_positions": 512},
    "124m": {"n_layer": 12, "n_embd": 768, "n_head": 12, "n_positions": 1024},
}

#: transformers' own attention implementations accepted as ``attn=`` (exact attention).
EXACT_ATTENTION = ("sdpa", "eager")

_names = itertools.count()


@dataclass(frozen=True)
class QuantumAttentionSettings:
    """What a model's sampled attention was configured with (``model.qtcore_attention``).

    Attributes:
        name: the attention implementation registered with transformers.
        sampler, backend, num_samples, noise, mitigator, hybrid, seed: as passed to
            :func:`use_quantum_attention`.
        generator: the ``torch.Generator`` every attention call of the model draws from
            (``None``: torch's global generator). Its state is what a checkpoint must keep
            to resume a sampled run exactly (:mod:`qtcore.training` does).

    Example:
        >>> from qtcore.models import quantum_gpt
        >>> model = quantum_gpt("tiny", vocab_size=32, num_samples=4, seed=1)
        >>> model.qtcore_attention.num_samples, model.qtcore_attention.generator is not None
        (4, True)
    """

    name: str
    sampler: Any
    backend: Any
    num_samples: int | None
    noise: NoiseModel | None
    mitigator: Any
    hybrid: bool
    seed: int | None
    generator: Any


def use_quantum_attention(
    model: Any,
    *,
    sampler: Any = "topk",
    backend: Any = None,
    num_samples: int | None = 32,
    noise: NoiseModel | None = None,
    mitigator: Any = None,
    hybrid: bool = False,
    seed: int | None = None,
) -> QuantumAttentionSettings:
    """Switch a transformers model's attention to sampled attention with these settings.

    Each call registers a fresh attention implementation (``qtcore_model<k>``), so two models
    with different settings never share one, and sets it on ``model`` with
    ``model.set_attn_implementation``. ``model.set_attn_implementation("sdpa")`` switches
    back to exact attention; calling this again switches to sampled attention again (for
    "train exact, evaluate sampled" and the reverse).

    Args:
        model: a transformers ``PreTrainedModel`` whose architecture supports the attention
            interface (GPT-2, BERT, Llama, …).
        sampler, backend, num_samples, noise, mitigator, hybrid: as in
            :func:`qtcore.nn.functional.sampled_attention` (``sampler="exact"`` gives exact
            attention through the same code path).
        seed: seeds the ``torch.Generator`` all attention calls of the model draw from;
            ``None`` draws from torch's global generator.

    Returns:
        The settings, also stored as ``model.qtcore_attention``.

    Example:
        >>> from qtcore.models import quantum_gpt, use_quantum_attention
        >>> model = quantum_gpt("tiny", vocab_size=32, attn="sdpa")
        >>> settings = use_quantum_attention(model, sampler="stratified", num_samples=8)
        >>> model.config._attn_implementation == settings.name
        True
    """
    import torch

    from qtcore.integrations import transformers as qt_hf

    generator = None if seed is None else torch.Generator().manual_seed(seed)
    name = qt_hf.register(
        f"qtcore_model{next(_names)}",
        sampler=sampler,
        backend=backend,
        num_samples=num_samples,
        noise=noise,
        mitigator=mitigator,
        hybrid=hybrid,
        generator=generator,
    )
    model.set_attn_implementation(name)
    settings = QuantumAttentionSettings(
        name, sampler, backend, num_samples, noise, mitigator, hybrid, seed, generator
    )
    model.qtcore_attention = settings
    return settings


def quantum_gpt(
    size: str = "tiny",
    *,
    vocab_size: int = 50257,
    n_positions: int | None = None,
    sampler: Any = "topk",
    backend: Any = None,
    num_samples: int | None = 32,
    attn: str = "qtcore",
    seed: int | None = None,
    noise: NoiseModel | None = None,
    mitigator: Any = None,
    hybrid: bool = False,
    **config_overrides: Any,
) -> Any:
    """A randomly initialised GPT-2 causal LM (``GPT2LMHeadModel``) with sampled attention.

    Args:
        size: ``"tiny"``, ``"small"`` or ``"124m"`` (see :data:`SIZES`).
        vocab_size: the vocabulary (50257 = GPT-2's tokenizer). Below 50257 the
            beginning/end-of-text token ids default to ``vocab_size - 1``.
        n_positions: the context length (default per size).
        sampler, backend, num_samples, noise, mitigator, hybrid: the sampled attention, as
            in :func:`qtcore.nn.functional.sampled_attention` (default ``topk``, S = 32).
        attn: ``"qtcore"`` (sampled attention), or ``"sdpa"`` / ``"eager"`` for transformers'
            exact attention (the baseline; :func:`use_quantum_attention` switches later).
        seed: seeds the weight initialisation (without touching torch's global generator)
            and the attention's own ``torch.Generator``; ``None``: torch's global generator.
        **config_overrides: any other ``GPT2Config`` field (``n_layer``, ``resid_pdrop``,
            ``n_inner``, …).

    Returns:
        A ``transformers.GPT2LMHeadModel`` in training mode; with ``attn="qtcore"`` its
        settings are in ``model.qtcore_attention`` (:class:`QuantumAttentionSettings`).

    Raises:
        InvalidInput: an unknown ``size`` or ``attn``, or ``n_embd`` not divisible by
            ``n_head``.

    Example:
        >>> import torch
        >>> from qtcore.models import quantum_gpt
        >>> model = quantum_gpt("tiny", vocab_size=50, sampler="exact", seed=0).eval()
        >>> prompt = torch.tensor([[1, 2, 3]])
        >>> tokens = model.generate(prompt, max_new_tokens=5, do_sample=False)
        >>> tokens.shape
        torch.Size([1, 8])
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    if size not in SIZES:
        raise InvalidInput(f"unknown size {size!r}: choose one of {sorted(SIZES)}")
    if attn != "qtcore" and attn not in EXACT_ATTENTION:
        raise InvalidInput(
            f"attn={attn!r} is not supported: use 'qtcore' (sampled) or one of "
            f"{list(EXACT_ATTENTION)} (transformers' exact attention)"
        )
    fields: dict[str, Any] = {**SIZES[size], "vocab_size": vocab_size}
    if n_positions is not None:
        fields["n_positions"] = n_positions
    if vocab_size < 50257:
        fields["bos_token_id"] = fields["eos_token_id"] = vocab_size - 1
    fields.update(config_overrides)
    if fields["n_embd"] % fields["n_head"]:
        raise InvalidInput(
            f"n_embd={fields['n_embd']} is not divisible by n_head={fields['n_head']}: pick "
            "a head count that divides the width"
        )
    config = GPT2Config(**fields)
    config._attn_implementation = attn if attn in EXACT_ATTENTION else "sdpa"
    if seed is None:
        model = GPT2LMHeadModel(config)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = GPT2LMHeadModel(config)
    if attn == "qtcore":
        use_quantum_attention(
            model,
            sampler=sampler,
            backend=backend,
            num_samples=num_samples,
            noise=noise,
            mitigator=mitigator,
            hybrid=hybrid,
            seed=seed,
        )
    return model
