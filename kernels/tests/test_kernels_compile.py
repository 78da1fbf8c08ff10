"""The kernels compile for an H100 (sm_90) on a machine without a GPU.

The CPU interpreter runs the kernels' Python, not Triton's compiler: it accepts code that
compilation rejects (a plain global inside a kernel, a Python int carried through a loop,
an unsupported dtype in ``tl.dot``). Triton's wheel ships ``ptxas``, so each kernel is
compiled down to a cubin for ``GPUTarget("cuda", 90, 32)``, at small tiles to keep it
quick, in float32 and bfloat16, causal. The compilation runs in a subprocess without
``TRITON_INTERPRET`` (this process has the interpreter's kernels). Skipped where a GPU runs
the real tests anyway, or where Triton cannot compile for CUDA (no ptxas).
"""

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

if torch.cuda.is_available():
    pytest.skip("a GPU runs the kernels themselves", allow_module_level=True)

COMPILE = r"""
import json, sys
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from qtcore_kernels import attention

dtype = sys.argv[1]
t, f = f"*{dtype}", "*fp32"
forward = {"Q": t, "K": t, "V": t, "U": f, "Out": t, "Mx": f, "Zs": f, "Idx": "*i32"}
topk = {**forward, "Wt": f, "Live": "*i32"}
sparse = {"Q": t, "K": t, "V": t, "GO": t, "Idx": "*i32", "Wt": f, "DQ": f, "DK": f, "DV": f}
dq = {"Q": t, "K": t, "Mx": f, "Zs": f, "Delta": f, "DQ": f}
dk = {"Q": t, "K": t, "Mx": f, "Zs": f, "Delta": f, "DK": f}
tiles = {"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_D": 16, "BLOCK_DV": 16}
flags = {"CAUSAL": True, "IEEE": dtype == "fp32"}
cases = [
    (attention._forward_kernel, forward, {"S": 8, **tiles, **flags}),
    (attention._topk_forward_kernel, topk, {"S": 8, "S_POW2": 8, **tiles, **flags}),
    (attention._backward_sparse_kernel, sparse,
     {"S": 8, "BLOCK_M": 16, "BLOCK_D": 16, "BLOCK_DV": 16}),
    (attention._backward_dq_kernel, dq, {"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_D": 16, **flags}),
    (attention._backward_dk_kernel, dk, {"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_D": 16, **flags}),
]
done = {}
for kernel, pointers, constexprs in cases:
    scalar = lambda name: "fp32" if name == "scale" else "i32"
    signature = {
        name: "constexpr" if name in constexprs else pointers.get(name, scalar(name))
        for name in kernel.arg_names
    }
    source = ASTSource(kernel, signature, constexprs)
    try:
        compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32))
    except FileNotFoundError as exc:
        print(json.dumps({"skip": str(exc)}))
        sys.exit(0)
    done[kernel.__name__] = len(compiled.asm["cubin"])
print(json.dumps(done))
"""


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_every_kernel_compiles_for_sm90(dtype):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    run = subprocess.run(
        [sys.executable, "-c", COMPILE, dtype], capture_output=True, text=True, env=env, timeout=900
    )
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(f"Triton cannot compile for CUDA here: {result['skip']}")
    assert sorted(result) == [
        "_backward_dk_kernel",
        "_backward_dq_kernel",
        "_backward_sparse_kernel",
        "_forward_kernel",
        "_topk_forward_kernel",
    ]
    assert all(size > 0 for size in result.values()), result
