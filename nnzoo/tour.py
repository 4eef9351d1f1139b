"""A guided tour of nnzoo's autograd, built on the lecture notes' worked examples (``nnzoo tour``)."""
import time

import numpy as np

import nnzoo
from nnzoo.viz import graph_text


def _section(title):
    print("\n" + title)
    print("-" * len(title))


def run(steps=2000, seed=0):
    print(f"nnzoo {nnzoo.__version__} — a tour of tensors and reverse-mode autograd")

    _section("1. A computation graph: f = (x + y) z at x = -2, y = 5, z = -4")
    x, y, z = (nnzoo.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    print(graph_text(f, {x: "x", y: "y", z: "z"}))
    f.backward()
    print(f"f = {f.item():g};  df/dx = {x.grad.item():g}, df/dy = {y.grad.item():g}, "
          f"df/dz = {z.grad.item():g}   (local gradient x upstream gradient)")

    _section("2. The sigmoid neuron f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)), w = (2, -3, -3), x = (-1, -2)")
    w = nnzoo.tensor([2.0, -3.0, -3.0], requires_grad=True)
    xs = nnzoo.tensor([-1.0, -2.0], requires_grad=True)
    out = (w[0] * xs[0] + w[1] * xs[1] + w[2]).sigmoid()
    out.backward()
    print(f"f = {out.item():.3f}; dL/dw = {np.round(w.grad.numpy(), 2).tolist()}, "
          f"dL/dx = {np.round(xs.grad.numpy(), 2).tolist()}")
    print("the sigmoid gate's local gradient (1 - s) s = 0.2 flows back to every input, as in the notes")

    _section("3. Chain rule through reuse: z = (x^2)^2 gives dz/dx = 4x^3")
    t = nnzoo.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ((t ** 2) ** 2).sum().backward()
    print(f"x = {t.detach().tolist()}  ->  dz/dx = {t.grad.tolist()}  (4x^3 = {[4 * v ** 3 for v in (1, 2, 3)]})")

    _section("4. Trust, but verify: finite differences agree with backprop")
    a = nnzoo.randn(3, 4, dtype=nnzoo.float64, requires_grad=True)
    b = nnzoo.randn(4, 2, dtype=nnzoo.float64, requires_grad=True)
    ok = nnzoo.autograd.gradcheck(lambda p, q: (p @ q).tanh(), (a, b))
    print(f"gradcheck of tanh(A @ B), full Jacobian vs central differences: {'passed' if ok else 'FAILED'}")
    s = nnzoo.tensor(1.5, requires_grad=True)
    g1, = nnzoo.autograd.grad(s ** 3, s, create_graph=True)
    g2, = nnzoo.autograd.grad(g1, s)
    print(f"higher order: d/dx x^3 = {g1.item():g}, d2/dx2 x^3 = {g2.item():g} at x = 1.5 (3x^2, 6x)")

    _section(f"5. Learning: a 2-16-16-1 sigmoid network on two interleaved spirals, {steps} steps of SGD")
    rng = np.random.default_rng(seed)
    n = 200
    theta = np.sqrt(rng.random(n)) * 3 * np.pi
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    pts = np.stack([sign * theta * np.cos(theta), sign * theta * np.sin(theta)], 1) / (3 * np.pi)
    pts += rng.normal(0, 0.02, pts.shape)
    X = nnzoo.tensor(pts.astype(np.float32))
    Y = nnzoo.tensor((sign > 0).astype(np.float32)[:, None])
    nnzoo.manual_seed(seed)
    sizes = [2, 16, 16, 1]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(((nnzoo.rand(fan_in, fan_out) * 2 - 1) * bound).requires_grad_())
        params.append(((nnzoo.rand(fan_out) * 2 - 1) * bound).requires_grad_())
    start = time.perf_counter()
    for step in range(steps + 1):
        h = X
        for i in range(0, len(params) - 2, 2):
            h = (h @ params[i] + params[i + 1]).tanh()
        p = (h @ params[-2] + params[-1]).sigmoid()
        loss = -(Y * (p + 1e-7).log() + (1 - Y) * (1 - p + 1e-7).log()).mean()  # binary cross-entropy
        loss.backward()
        with nnzoo.no_grad():
            for q in params:
                q -= 0.5 * q.grad
                q.grad = None
        acc = ((p > 0.5).float() == Y).float().mean().item()
        if step % max(1, steps // 6) == 0 or step == steps:
            print(f"  step {step:4d}   loss {loss.item():.4f}   training accuracy {acc:.1%}")
    print(f"trained in {time.perf_counter() - start:.2f} s on the CPU with nnzoo's own autograd")
    return {"loss": loss.item(), "accuracy": acc, "gradcheck": ok}
