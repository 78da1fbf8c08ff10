"""The per-rank body of tests/test_nn_ddp.py, in its own module so that processes started
with ``spawn`` import it by name (the test puts this folder on ``sys.path``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

WORLD = 2
STEPS = 3


def _gathered(tensor):
    import torch
    import torch.distributed as dist

    parts = [torch.empty_like(tensor) for _ in range(WORLD)]
    dist.all_gather(parts, tensor.contiguous())
    return parts


def worker(rank: int, port: int, out: str) -> None:
    """Train a tiny model ``STEPS`` steps under DDP; rank 0 writes what it saw to ``out``."""
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel as DDP

    from qtcore.nn import QuantumMultiheadAttention

    os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD
    )
    torch.set_num_threads(1)
    torch.manual_seed(0)  # DDP broadcasts rank 0's parameters anyway; start equal regardless

    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # The per-rank recipe: each rank's own generator, seeded base + rank.
            self.sampled = QuantumMultiheadAttention(
                16, 2, batch_first=True, sampler="multinomial", num_samples=4, seed=100 + rank
            )
            self.quantum = QuantumMultiheadAttention(
                16, 2, batch_first=True, backend="reference", shots=4, seed=200 + rank
            )
            self.head = nn.Linear(16, 1)

        def forward(self, x):
            h, w1 = self.sampled(x, x, x, need_weights=True, average_attn_weights=False)
            h, w2 = self.quantum(h, h, h, need_weights=True, average_attn_weights=False)
            return self.head(h).mean(), w1, w2

    model = DDP(Tiny())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.Generator().manual_seed(7)  # the same batch on both ranks
    report = {"W_differ": [], "local_grads_differ": [], "params_equal": []}
    for _ in range(STEPS):
        x = torch.randn(3, 8, 16, generator=data)
        # Local gradients (no all-reduce) on the same input: differ only through sampling.
        with model.no_sync():
            loss, w1, w2 = model(x)
            loss.backward()
        local = torch.cat([p.grad.flatten() for p in model.parameters()])
        grads = _gathered(local)
        report["local_grads_differ"].append(not torch.equal(grads[0], grads[1]))
        report["W_differ"].append(
            [not torch.equal(*_gathered(w1.detach())), not torch.equal(*_gathered(w2.detach()))]
        )
        opt.zero_grad()
        loss, _, _ = model(x)
        loss.backward()  # DDP all-reduces (averages) the gradients here
        opt.step()
        opt.zero_grad()
        flat = torch.cat([p.detach().flatten() for p in model.parameters()])
        report["params_equal"].append(torch.equal(*_gathered(flat)))
    if rank == 0:
        Path(out).write_text(json.dumps(report))
    dist.destroy_process_group()
