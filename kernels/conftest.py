"""Run the Triton kernels on the CPU interpreter where no CUDA device is visible.

``TRITON_INTERPRET`` is read when a kernel is decorated, i.e. when
``qtcore_kernels.attention`` is first imported, so it is set here, before pytest imports any
module of this folder. Without Triton installed, the kernel module is not collected (its
tests skip with the reason).
"""

import importlib.util
import os

collect_ignore: list[str] = []
if importlib.util.find_spec("triton") is None or importlib.util.find_spec("torch") is None:
    collect_ignore.append("qtcore_kernels/attention.py")
else:
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
