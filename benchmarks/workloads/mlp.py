"""One training step of a 784-256-256-10 MLP at batch 128, written with raw tensors (no nn module).

Forward (two ReLU hidden layers), cross entropy as ``-log_softmax(logits)[i, y_i]`` averaged over the batch,
``loss.backward()``, then plain SGD under ``no_grad``. ``mlp_step_numpy`` is the same step written by hand in
NumPy (manual backward), timed in the nnzoo process: the gap between it and nnzoo is the engine's overhead.
"""
import itertools

import numpy as np

from ..registry import register, workload

BATCH, SIZES, CLASSES = 128, (784, 256, 256, 10), 10
LR = 0.01
SEED = 0


def mlp_data(seed=SEED):
    """Fixed inputs: x (128, 784) float32 standard normal, y (128,) int64 class indices in [0, 10)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, CLASSES, size=BATCH).astype(np.int64)
    return x, y


def mlp_init(seed=SEED + 1):
    """[w1, b1, w2, b2, w3, b3] as float32 arrays, ``w`` of shape (in, out) so a layer is ``x @ w + b``.

    Both drawn uniform in [-1/sqrt(in), 1/sqrt(in)]: the bounds of PyTorch's default ``nn.Linear`` init
    (kaiming_uniform with a=sqrt(5) for the weight). Drawn with NumPy so both libraries start identical.
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(SIZES):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    return params


@workload("mlp_step", "784-256-256-10 MLP, batch 128: forward, cross entropy, backward, SGD update")
def mlp_step(torch):
    x_np, y_np = mlp_data()
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    params = [torch.tensor(p, requires_grad=True) for p in mlp_init()]
    w1, b1, w2, b2, w3, b3 = params

    def step():
        h = (x @ w1 + b1).relu()                                 # (B, 256)
        h = (h @ w2 + b2).relu()                                 # (B, 256)
        logits = h @ w3 + b3                                     # (B, 10)
        loss = -logits.log_softmax(1).gather(1, y[:, None]).mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        return loss
    return step


def mlp_step_numpy():
    """The same step in pure NumPy: forward, hand-written backward, in-place SGD update."""
    x, y = mlp_data()
    params = mlp_init()
    w1, b1, w2, b2, w3, b3 = params
    rows = np.arange(BATCH)

    def step():
        z1 = x @ w1 + b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ w2 + b2
        a2 = np.maximum(z2, 0)
        logits = a2 @ w3 + b3
        shifted = logits - logits.max(1, keepdims=True)          # NOTE: log-sum-exp, stable
        logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        loss = -logp[rows, y].mean()
        # backward: d loss / d logits = (softmax - onehot) / B
        g = np.exp(logp)
        g[rows, y] -= 1
        g /= BATCH
        gw3, gb3 = a2.T @ g, g.sum(0)
        g = (g @ w3.T) * (z2 > 0)
        gw2, gb2 = a1.T @ g, g.sum(0)
        g = (g @ w2.T) * (z1 > 0)
        gw1, gb1 = x.T @ g, g.sum(0)
        for p, gp in zip(params, (gw1, gb1, gw2, gb2, gw3, gb3)):
            p -= LR * gp
        return loss
    return step


register("mlp_step_numpy", "mlp_step hand-written in pure NumPy (manual backward), in the nnzoo process",
         reference_for="mlp_step", numpy=mlp_step_numpy)
