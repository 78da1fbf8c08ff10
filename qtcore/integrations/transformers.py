"""Hugging Face ``transformers`` integration: ``attn_implementation="qtcore"``.

:func:`register` adds an attention function to transformers' ``AttentionInterface`` and,
as important, a mask function to its ``AttentionMaskInterface``: in transformers 5 a model
whose attention name has no registered mask function silently builds *no* padding mask, and
padded batches would attend to padding. The mask registered is transformers' own
``sdpa_mask`` (a boolean (B, 1, L, N) mask, True = attend), which
:func:`qtcore.nn.functional.sampled_attention` applies to ``p`` before sampling.

Example:
    >>> from qtcore.integrations import transformers as qt_hf
    >>> qt_hf.register("qtcore_doc", sampler="exact")
    'qtcore_doc'
    >>> from transformers import AttentionInterface
    >>> "qtcore_doc" in AttentionInterface()
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from qtcore.errors import InvalidInput
from qtcore.nn.functional import sampled_attention
from qtcore.noise import NoiseModel

__all__ = ["make_attention_function", "register"]


def make_attention_function(
    *,
    sampler: Any = None,
    backend: Any = None,
    num_samples: int | None = 32,
    noise: NoiseModel | None = None,
    mitigator: Any = None,
    hybrid: bool = False,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> Callable[..., tuple[torch.Tensor, torch.Tensor | None]]:
    """An attention function with transformers' signature that runs ``sampled_attention``.

    The function takes ``(module, query, key, value, attention_mask, dropout=0.0,
    scaling=None, is_causal=None, **kwargs)`` with query/key/value (B, heads, L, D) and
    returns ``(output (B, L, heads, D), weights or None)``, as transformers' sdpa does.
    Grouped-query attention repeats key/value heads; a causal model with no mask gets the
    causal mask aligned to the last key (as a KV cache needs). The samplers draw from
    ``generator`` (or a new one seeded with ``seed``; torch's global generator if neither).

    Example:
        >>> import torch
        >>> from qtcore.integrations.transformers import make_attention_function
        >>> fn = make_attention_function(sampler="exact")
        >>> q = torch.randn(1, 2, 3, 4)
        >>> out, _ = fn(torch.nn.Module(), q, q, q, None)
        >>> out.shape
        torch.Size([1, 3, 2, 4])
    """
    if seed is not None and generator is not None:
        raise InvalidInput(
            f"pass seed= or generator=, not both (seed={seed!r}, generator={generator!r})"
        )
    if generator is None and seed is not None:
        generator = torch.Generator().manual_seed(seed)

    def qtcore_attention(
        module: torch.nn.Module,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None,
        dropout: float = 0.0,
        scaling: float | None = None,
        is_causal: bool | None = None,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        groups = int(getattr(module, "num_key_value_groups", 1))
        if groups > 1:
            key = key.repeat_interleave(groups, dim=1)
            value = value.repeat_interleave(groups, dim=1)
        causal = bool(is_causal if is_causal is not None else getattr(module, "is_causal", False))
        L, N = query.shape[2], key.shape[2]
        mask = attention_mask
        if mask is not None and mask.dim() == 4 and mask.shape[-1] != N:
            mask = mask[..., :N]
        square_causal = False
        if mask is None and causal and L > 1:
            if L == N:
                square_causal = True
            else:  # queries are the last L of N positions (prefill after a cache)
                mask = torch.ones(L, N, dtype=torch.bool, device=query.device).tril(N - L)
        out, W = sampled_attention(
            query,
            key,
            value,
            mask,
            square_causal,
            scale=scaling,
            sampler=sampler,
            backend=backend,
            num_samples=num_samples,
            noise=noise,
            mitigator=mitigator,
            generator=generator,
            hybrid=hybrid,
            dropout_p=dropout,
            return_weights=True,
        )
        weights = W if kwargs.get("output_attentions") else None
        return out.transpose(1, 2).contiguous(), weights

    return qtcore_attention


def register(
    name: str = "qtcore",
    *,
    sampler: Any = None,
    backend: Any = None,
    num_samples: int | None = 32,
    noise: NoiseModel | None = None,
    mitigator: Any = None,
    hybrid: bool = False,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> str:
    """Register ``name`` as a transformers attention implementation (and its mask function).

    Afterwards ``AutoModel.from_pretrained(path, attn_implementation=name)`` or
    ``model.set_attn_implementation(name)`` runs every attention layer through
    :func:`qtcore.nn.functional.sampled_attention` with these settings. Registering the
    same name again replaces its settings (transformers' registry is global).

    Args:
        name: the attention implementation name.
        sampler, backend, num_samples, noise, mitigator, hybrid: as in
            :func:`~qtcore.nn.functional.sampled_attention`.
        seed: seeds one ``torch.Generator`` shared by the registered function's calls.
        generator: that generator itself, instead of ``seed`` (a caller that keeps it can
            save and restore its state, as a checkpoint of a sampled training run must).

    Returns:
        ``name``.

    Raises:
        InvalidInput: ``name`` is empty or one of transformers' own implementations, or
            both ``seed`` and ``generator`` are given.

    Example:
        >>> from qtcore.integrations import transformers as qt_hf
        >>> qt_hf.register("qtcore_stratified32", sampler="stratified", num_samples=32)
        'qtcore_stratified32'
    """
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    builtin = {"eager", "sdpa", "flex_attention", "paged|eager"}
    if not isinstance(name, str) or not name or name in builtin or name.startswith("flash"):
        raise InvalidInput(
            f"cannot register attention implementation {name!r}: choose a new name such as "
            "'qtcore' (transformers' own implementations cannot be replaced)"
        )
    fn = make_attention_function(
        sampler=sampler,
        backend=backend,
        num_samples=num_samples,
        noise=noise,
        mitigator=mitigator,
        hybrid=hybrid,
        seed=seed,
        generator=generator,
    )
    AttentionInterface.register(name, fn)
    AttentionMaskInterface.register(name, sdpa_mask)
    return name
