"""The worked backprop examples of the lecture notes (SYLLABUS section 1), checked three ways: the
notes' closed-form gradients computed with NumPy, PyTorch, and the numbers the notes print."""
import numpy as np
import torch

import nnzoo


def test_add_mul_graph_f_equals_x_plus_y_times_z():
    # f = (x + y) z at x = -2, y = 5, z = -4: q = x + y, df/dx = df/dy = z, df/dz = q
    x0, y0, z0 = -2.0, 5.0, -4.0
    x, y, z = (nnzoo.tensor(v, requires_grad=True) for v in (x0, y0, z0))
    f = (x + y) * z
    f.backward()
    assert f.item() == (x0 + y0) * z0
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (z0, z0, x0 + y0)
    xt, yt, zt = (torch.tensor(v, requires_grad=True) for v in (x0, y0, z0))
    ((xt + yt) * zt).backward()
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (xt.grad.item(), yt.grad.item(), zt.grad.item())


def test_sigmoid_neuron_local_gradients():
    # f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) at w = (2, -3, -3), x = (-1, -2)
    wv, xv = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    w = nnzoo.tensor(wv, requires_grad=True)
    x = nnzoo.tensor(xv, requires_grad=True)
    f = 1 / (1 + (-(w[0] * x[0] + w[1] * x[1] + w[2])).exp())
    f.backward()
    # the notes: sigma'(s) = (1 - sigma(s)) sigma(s); s = 1 here
    s = wv[0] * xv[0] + wv[1] * xv[1] + wv[2]
    sig = 1 / (1 + np.exp(-s))
    local = (1 - sig) * sig
    np.testing.assert_allclose(w.grad.numpy(), [xv[0] * local, xv[1] * local, local], rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [wv[0] * local, wv[1] * local], rtol=1e-6)
    # the notes round the sigmoid gate's local gradient to 0.2, dx0 to 0.4 and dw0 to -0.2
    assert round(w.grad[2].item(), 1) == 0.2
    assert round(x.grad[0].item(), 1) == 0.4
    assert round(w.grad[0].item(), 1) == -0.2
    # the same neuron through the sigmoid op gives the same gradient
    w2 = nnzoo.tensor(wv, requires_grad=True)
    (w2[0] * x[0].detach() + w2[1] * x[1].detach() + w2[2]).sigmoid().backward()
    np.testing.assert_allclose(w2.grad.numpy(), w.grad.numpy(), rtol=1e-6)


def test_square_of_square_gives_four_x_cubed():
    xv = np.array([-1.5, 0.5, 2.0, 3.0])
    x = nnzoo.tensor(xv, requires_grad=True)
    y = x ** 2
    z = y ** 2
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * xv ** 3, rtol=1e-12)


def test_two_layer_sigmoid_network_matches_closed_form():
    # L = || sigma(W2 sigma(W1 x)) - y ||^2, v = sigma(W1 x), yhat = sigma(W2 v), R = yhat - y
    # dL/dW2 = 2 R . yhat . (1 - yhat) v^T ; dL/dW1 = (W2^T (2 R . yhat . (1 - yhat))) . v . (1 - v) x^T
    rng = np.random.default_rng(7)
    W1v, W2v = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    xv, yv = rng.standard_normal((3, 1)), rng.random((2, 1))
    W1 = nnzoo.tensor(W1v, requires_grad=True)
    W2 = nnzoo.tensor(W2v, requires_grad=True)
    x, y = nnzoo.tensor(xv), nnzoo.tensor(yv)
    loss = ((nnzoo.sigmoid(W2 @ nnzoo.sigmoid(W1 @ x)) - y) ** 2).sum()
    loss.backward()

    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    v = sig(W1v @ xv)
    yhat = sig(W2v @ v)
    R = yhat - yv
    delta2 = 2 * R * yhat * (1 - yhat)
    gW2 = delta2 @ v.T
    gW1 = ((W2v.T @ delta2) * v * (1 - v)) @ xv.T
    np.testing.assert_allclose(loss.item(), float(np.sum(R ** 2)), rtol=1e-12)
    np.testing.assert_allclose(W2.grad.numpy(), gW2, rtol=1e-10)
    np.testing.assert_allclose(W1.grad.numpy(), gW1, rtol=1e-10)
