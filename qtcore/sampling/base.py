"""``SamplerBase``: argument checks and batching shared by the built-in samplers.

Example:
    >>> import torch
    >>> from qtcore.sampling import MultinomialSampler
    >>> W = MultinomialSampler().sample_weights(torch.tensor([[0.5, 0.5]]), 4,
    ...                                         generator=torch.Generator().manual_seed(0))
    >>> W.shape, float(W.sum())
    (torch.Size([1, 2]), 1.0)
"""

from __future__ import annotations

from typing import Any

import torch

from qtcore.errors import InvalidInput
from qtcore.sampling.inverse_cdf import scatter_weights

__all__ = ["SamplerBase"]


class SamplerBase:
    """Base of the classical samplers: validates, flattens to rows, restores the shape.

    A subclass sets ``name`` and implements ``_indices(p, num_samples, generator)`` on a
    (R, N) tensor of non-negative rows in a float dtype of at least single precision,
    returning the sparse form ``(idx, weight)`` (R, S) of :meth:`sample_indices`.
    Inputs are checked for structure only (type, rank, dtype, budget); the values of ``p``
    are not scanned, so rows must already be non-negative. Rows need not sum to 1: every
    sampler returns ``E[W] = p`` for any non-negative row, which makes a fully masked
    (all-zero) row give all-zero weights.
    """

    name: str = ""

    def sample_weights(
        self, p: Any, num_samples: int, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Unbiased weights ``W`` (…, N) with ``E[W] = p``, on ``p``'s device and dtype.

        Args:
            p: (…, N) tensor of non-negative rows (attention probabilities).
            num_samples: the budget S ≥ 1: keys read per row (at most S non-zero weights).
            generator: a ``torch.Generator`` (on any device) for reproducible draws; ``None``
                uses torch's global generator.

        Returns:
            A tensor with ``p``'s shape, device and dtype.

        Raises:
            InvalidInput: ``p`` is not a floating tensor with at least one dimension of
                positive size, or ``num_samples`` is not an int ≥ 1.

        Example:
            >>> import torch
            >>> from qtcore.sampling import StratifiedSampler
            >>> p = torch.tensor([0.5, 0.25, 0.25])
            >>> StratifiedSampler().sample_weights(p, 4).tolist()
            [0.5, 0.25, 0.25]
        """
        idx, weight = self.sample_indices(p, num_samples, generator=generator)
        return scatter_weights(p, idx, weight)

    def sample_indices(
        self, p: Any, num_samples: int, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The same estimator in sparse form: ``(idx, weight)``, each (…, S).

        ``W[..., j] = Σ_s weight[..., s]·[idx[..., s] = j]`` (an index may repeat, and a
        point may have weight 0). ``W·V`` is then ``Σ_s weight_s·v[idx_s]``: S value rows
        read per query instead of N, which is how :func:`~qtcore.nn.sampled_attention`
        avoids a dense (L, N) product at inference.

        Example:
            >>> import torch
            >>> from qtcore.sampling import MultinomialSampler
            >>> idx, w = MultinomialSampler().sample_indices(torch.tensor([0.0, 1.0]), 3)
            >>> idx.tolist(), w.tolist()
            ([1, 1, 1], [0.3333333432674408, 0.3333333432674408, 0.3333333432674408])
        """
        if not isinstance(p, torch.Tensor):
            raise InvalidInput(
                f"sampler {self.name!r} takes a torch.Tensor p, got {type(p).__name__}; "
                "convert with torch.as_tensor(p)"
            )
        if not p.is_floating_point() or p.dim() < 1 or p.shape[-1] < 1:
            raise InvalidInput(
                f"sampler {self.name!r}: p must be a floating tensor of shape (..., N) with "
                f"N ≥ 1, got dtype {p.dtype} and shape {tuple(p.shape)}"
            )
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise InvalidInput(
                f"sampler {self.name!r}: num_samples must be an int ≥ 1, got {num_samples!r}"
            )
        if generator is not None and not isinstance(generator, torch.Generator):
            raise InvalidInput(
                f"sampler {self.name!r}: generator must be a torch.Generator or None, got "
                f"{type(generator).__name__}"
            )
        work = p.detach()
        if work.dtype in (torch.float16, torch.bfloat16):
            # Half precision cannot resolve a CDF over thousands of keys.
            work = work.float()
        rows = work.reshape(-1, p.shape[-1])
        shape = (*p.shape[:-1], num_samples)
        if rows.shape[0] == 0:
            empty = torch.zeros(shape, dtype=torch.int64, device=p.device)
            return empty, torch.zeros(shape, dtype=p.dtype, device=p.device)
        idx, weight = self._indices(rows.contiguous(), num_samples, generator)
        return idx.reshape(shape), weight.reshape(shape).to(p.dtype)

    def _indices(
        self, p: torch.Tensor, num_samples: int, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must implement _indices")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
