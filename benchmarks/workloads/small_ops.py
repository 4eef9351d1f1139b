"""Per-op overhead on small tensors: the Python/dispatch cost of one op (and of a short backward).

On tensors this small the arithmetic is nothing; the time is the framework's bookkeeping: argument checks,
dtype promotion, making the output tensor and, with grad, recording the graph node.
"""
import numpy as np

from ..registry import workload

SEED = 0


def _arrays(*shapes, seed=SEED):
    """Fixed float32 standard-normal inputs, identical for both libraries."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@workload("add_small", "c = a + b, two 8x8 float32 tensors with requires_grad (forward only)")
def add_small(torch):
    a_np, b_np = _arrays((8, 8), (8, 8))
    a = torch.tensor(a_np, requires_grad=True)
    b = torch.tensor(b_np, requires_grad=True)

    def step():
        return a + b
    return step


@workload("add_small_nograd", "c = a + b, two 8x8 float32 tensors without requires_grad")
def add_small_nograd(torch):
    a_np, b_np = _arrays((8, 8), (8, 8))
    a = torch.tensor(a_np)
    b = torch.tensor(b_np)

    def step():
        return a + b
    return step


@workload("matmul_64", "c = a @ b, two 64x64 float32 tensors with requires_grad (forward only)")
def matmul_64(torch):
    a_np, b_np = _arrays((64, 64), (64, 64))
    a = torch.tensor(a_np, requires_grad=True)
    b = torch.tensor(b_np, requires_grad=True)

    def step():
        return a @ b
    return step


@workload("chain3_backward",
          "x (16,16) f32 requires_grad; y = ((x * 2 + 1).tanh()).sum(); y.backward() (forward + backward)")
def chain3_backward(torch):
    (x_np,) = _arrays((16, 16))
    x = torch.tensor(x_np, requires_grad=True)

    def step():
        x.grad = None  # a fresh gradient each step, so no accumulation add is timed
        y = ((x * 2 + 1).tanh()).sum()
        y.backward()
        return y, x.grad
    return step
