"""``QuantumMultiheadAttention`` under torch DistributedDataParallel: 2 CPU processes, gloo,
loopback. Each rank seeds its own sampling generator (``seed=base + rank``): the ranks draw
different W on the same input, their local gradients differ, and DDP's all-reduce leaves the
parameters identical on both ranks after every step.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

mp = pytest.importorskip("torch.multiprocessing")
sys.path.insert(0, str(Path(__file__).parent))
import qtcore_ddp_worker  # noqa: E402  (after the sys.path entry)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_quantum_attention_trains_under_ddp(tmp_path):
    out = tmp_path / "report.json"
    mp.spawn(
        qtcore_ddp_worker.worker,
        args=(_free_port(), str(out)),
        nprocs=qtcore_ddp_worker.WORLD,
        join=True,
    )
    report = json.loads(out.read_text())
    # Per-rank seeds: different W on the same input, for the sampler and the backend layer.
    # With 4 samples over 8 keys in 3·2·8 rows, equal W on two ranks by chance is below 1e-30.
    assert all(all(step) for step in report["W_differ"]), report
    assert all(report["local_grads_differ"]), report
    # Synchronised gradients: identical parameters on both ranks after every step.
    assert all(report["params_equal"]), report
