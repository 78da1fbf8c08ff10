"""Classical samplers: unbiased attention weights ``W`` with ``E[W] = p`` (torch).

Every sampler has a ``name`` and ``sample_weights(p, num_samples, *, generator=None)``
returning ``W`` of ``p``'s shape (…, N), device and dtype, at most ``num_samples`` non-zero
entries per row, and ``E[W] = p``; the estimate of an attention output ``p·V`` is ``W·V``.
They are registered through the core's ``qtcore_samplers`` hook as ``multinomial``,
``stratified``, ``sobol`` and ``topk``; the *attending* samplers ``importance``,
``hyper`` and ``control`` take q, k, v instead (:mod:`qtcore.sampling.attend`).
``qtcore.get_sampler(name)`` creates one. This package needs torch; ``import qtcore``
does not import it.

Example:
    >>> import torch, qtcore
    >>> sampler = qtcore.get_sampler("topk")
    >>> p = torch.softmax(torch.tensor([[4.0, 1.0, 0.0, -1.0]]), dim=-1)
    >>> W = sampler.sample_weights(p, 2, generator=torch.Generator().manual_seed(0))
    >>> int((W > 0).sum()) <= 2
    True
"""

from __future__ import annotations

from qtcore.sampling.attend import AttendingSampler
from qtcore.sampling.base import SamplerBase
from qtcore.sampling.control import MultilevelControlVariate
from qtcore.sampling.hyper import HyperSampler
from qtcore.sampling.importance import ImportanceSampler, LowRankProposal
from qtcore.sampling.multinomial import MultinomialSampler
from qtcore.sampling.sobol import SobolSampler
from qtcore.sampling.stratified import StratifiedSampler
from qtcore.sampling.topk import TopKSampler

__all__ = [
    "ATTENDING_SAMPLERS",
    "BUILTIN_SAMPLERS",
    "AttendingSampler",
    "HyperSampler",
    "ImportanceSampler",
    "LowRankProposal",
    "MultilevelControlVariate",
    "MultinomialSampler",
    "SamplerBase",
    "SobolSampler",
    "StratifiedSampler",
    "TopKSampler",
]

#: The built-in sampler classes by registered name.
BUILTIN_SAMPLERS: dict[str, type[SamplerBase]] = {
    cls.name: cls for cls in (MultinomialSampler, StratifiedSampler, SobolSampler, TopKSampler)
}

#: The built-in attending samplers (``attend(q, k, v, …)``, no ``sample_weights``).
ATTENDING_SAMPLERS: dict[str, type[AttendingSampler]] = {
    cls.name: cls for cls in (ImportanceSampler, HyperSampler, MultilevelControlVariate)
}
