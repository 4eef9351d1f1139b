"""The 2-D GAN family: maxout and the two GAN losses against torch (forward and gradients), packing, the
training rule of one alternating step, and the mode metrics on constructed samples whose answers follow from
the definitions. The recipes training them: tests/recipes/test_gan.py."""
import math

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.zoo import gan as Z


def _pair(arr):
    """The same float64 array as an nnzoo and a torch leaf."""
    return (nnzoo.tensor(arr, dtype=nnzoo.float64, requires_grad=True),
            torch.tensor(arr, dtype=torch.float64, requires_grad=True))


def _close(a, b, tol=1e-10):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_maxout_matches_torch_linear_view_max():
    rng = np.random.default_rng(0)
    n, i, o, k = 6, 7, 4, 5
    layer = Z.Maxout(i, o, k).double()
    w, b = rng.standard_normal((o * k, i)), rng.standard_normal(o * k)
    layer.load_state_dict({"linear.weight": nnzoo.tensor(w), "linear.bias": nnzoo.tensor(b)})
    x_nz, x_th = _pair(rng.standard_normal((n, i)))
    lin = torch.nn.Linear(i, o * k).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w))
        lin.bias.copy_(torch.tensor(b))
    y_nz = layer(x_nz)
    y_th = lin(x_th).view(n, o, k).max(dim=-1).values       # the composition Maxout is defined by
    _close(y_nz, y_th)
    g = rng.standard_normal((n, o))
    y_nz.backward(nnzoo.tensor(g))
    y_th.backward(torch.tensor(g))
    _close(x_nz.grad, x_th.grad)
    _close(layer.linear.weight.grad, lin.weight.grad)
    _close(layer.linear.bias.grad, lin.bias.grad)
    assert list(layer.state_dict()) == ["linear.weight", "linear.bias"]


LOGITS = np.array([-60.0, -8.0, -1.5, 0.0, 0.3, 2.0, 9.0, 60.0])   # with |a| = 60, where log σ(a) underflows


def test_discriminator_loss_is_the_notes_minimax_loss():
    r_nz, r_th = _pair(LOGITS)
    f_nz, f_th = _pair(LOGITS[::-1].copy())
    loss = Z.discriminator_loss(r_nz, f_nz)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    want = bce(r_th, torch.ones_like(r_th)) + bce(f_th, torch.zeros_like(f_th))
    _close(loss, want)
    loss.backward()
    want.backward()
    _close(r_nz.grad, r_th.grad)
    _close(f_nz.grad, f_th.grad)
    # the notes' form -[E log D(x) + E log(1 - D(G(z)))] where it is finite (moderate logits)
    r, f = torch.tensor(LOGITS[1:-1]), torch.tensor(LOGITS[-2:0:-1].copy())
    notes = -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())
    got = Z.discriminator_loss(nnzoo.tensor(LOGITS[1:-1]), nnzoo.tensor(LOGITS[-2:0:-1].copy()))
    assert got.item() == pytest.approx(notes.item(), rel=1e-12)
    assert math.isfinite(loss.item())   # stable where the direct form gives log 0


@pytest.mark.parametrize("kind", ["nonsaturating", "minimax"])
def test_generator_losses_match_torch(kind):
    f_nz, f_th = _pair(LOGITS)
    loss = Z.generator_loss(f_nz, kind)
    if kind == "nonsaturating":            # -E log D(G(z))
        want = -torch.nn.functional.logsigmoid(f_th).mean()
    else:                                  # E log(1 - D(G(z))) = E log σ(-a)
        want = torch.nn.functional.logsigmoid(-f_th).mean()
    _close(loss, want)
    loss.backward()
    want.backward()
    _close(f_nz.grad, f_th.grad)


def test_minimax_generator_loss_saturates_where_d_rejects():
    # Goodfellow et al. §3: d/da log(1 - σ(a)) = -σ(a) -> 0 as a -> -inf, while d/da -log σ(a) = σ(a) - 1 -> -1.
    a = nnzoo.tensor([-20.0], dtype=nnzoo.float64, requires_grad=True)
    Z.generator_loss(a, "minimax").backward()
    assert abs(a.grad.item()) == pytest.approx(1 / (1 + math.exp(20)), rel=1e-9)
    a.grad = None
    Z.generator_loss(a, "nonsaturating").backward()
    assert a.grad.item() == pytest.approx(1 / (1 + math.exp(20)) - 1, rel=1e-9)
    with pytest.raises(ValueError, match="kind"):
        Z.generator_loss(a, "wasserstein")


def test_pack_samples_joins_consecutive_samples():
    x = np.arange(24.0).reshape(6, 4)
    got = Z.pack_samples(nnzoo.tensor(x), 3).numpy()
    np.testing.assert_array_equal(got, np.stack([x[0:3].ravel(), x[3:6].ravel()]))   # pack i: rows 3i..3i+2
    img = np.arange(2 * 4 * 2 * 2.0).reshape(4, 2, 2, 2)        # 4 images of 2 channels, packed by 2
    got = Z.pack_samples(nnzoo.tensor(img), 2).numpy()
    np.testing.assert_array_equal(got, np.concatenate([img[0::2], img[1::2]], axis=1))
    assert Z.pack_samples(nnzoo.tensor(x), 1).shape == (6, 4)
    with pytest.raises(ValueError, match="packs of 4"):
        Z.pack_samples(nnzoo.tensor(x), 4)


def test_models_shapes_and_packed_input():
    c = Z.GANConfig(g_hidden=16, d_hidden=8, pack=3)
    gan = Z.GAN(c)
    assert gan.generator(nnzoo.randn(5, 2)).shape == (5, 2)
    assert gan.discriminator(nnzoo.zeros(4, 6)).shape == (4, 1)
    assert gan.discriminator.net[0].linear.weight.shape == (8 * c.pieces, 2 * 3)
    hidden = [m for m in gan.generator.modules() if isinstance(m, nnzoo.nn.Linear)][:-1]
    assert all(m.bias is None for m in hidden) and len(hidden) == c.g_layers
    assert gan.sample(7).shape == (7, 2) and gan.generator.training
    bn = gan.generator.net[1]
    before = bn.running_mean.clone()
    x = gan.sample(50, generator=nnzoo.Generator().manual_seed(3))       # batch statistics of the 50 samples
    np.testing.assert_array_equal(bn.running_mean.numpy(), before.numpy())   # the running averages untouched
    z = nnzoo.randn(50, 2, generator=nnzoo.Generator().manual_seed(3))
    with nnzoo.no_grad():
        np.testing.assert_allclose(x.numpy(), gan.generator(z).numpy(), rtol=1e-6)   # = a training-mode pass
    gan.generator.eval()
    assert not gan.sample(5, batch_stats=False).requires_grad and not gan.generator.training


def test_one_step_is_the_alternating_rule():
    """train_gan with SGD: D moves along -∇_φ L(real, G(z) fixed); then G along -∇_θ of the generator loss
    through the updated D, on the same z."""
    nnzoo.manual_seed(0)
    c = Z.GANConfig(g_hidden=8, g_layers=2, batch_norm=False, d_hidden=6, d_layers=2, pieces=3, pack=2)
    gan = Z.GAN(c).double()
    rng = np.random.default_rng(1)
    real = nnzoo.tensor(rng.standard_normal((8, 2)))
    z = nnzoo.tensor(rng.standard_normal((8, 2)))
    lr = 0.1
    ref = Z.GAN(c).double()
    ref.load_state_dict(gan.state_dict())
    d_params, g_params = list(ref.discriminator.parameters()), list(ref.generator.parameters())
    fake = ref.generator(z)
    d_loss = Z.discriminator_loss(ref.discriminator(Z.pack_samples(real, 2)),
                                  ref.discriminator(Z.pack_samples(fake.detach(), 2)))
    grads = nnzoo.autograd.grad(d_loss, d_params)
    with nnzoo.no_grad():
        for p, g in zip(d_params, grads):
            p -= lr * g
    g_loss = Z.generator_loss(ref.discriminator(Z.pack_samples(fake, 2)))
    grads = nnzoo.autograd.grad(g_loss, g_params)
    with nnzoo.no_grad():
        for p, g in zip(g_params, grads):
            p -= lr * g
    history = Z.train_gan(gan.generator, gan.discriminator, lambda n: real, lambda n: z, steps=1, batch_size=4,
                          pack=2, opt_g=nnzoo.optim.SGD(gan.generator.parameters(), lr=lr),
                          opt_d=nnzoo.optim.SGD(gan.discriminator.parameters(), lr=lr), log_every=1)
    for (name, got), want in zip(gan.state_dict().items(), ref.state_dict().values()):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
    assert history["step"] == [1] and history["d_loss"][0] == pytest.approx(d_loss.item(), rel=1e-12)


# ---- the metrics ------------------------------------------------------------------------------------------

def test_mixture_modes_and_samples():
    ring = Z.ring_modes(8, 1.0)
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0)
    np.testing.assert_allclose(ring[2], [0.0, 1.0], atol=1e-15)
    grid = Z.grid_modes()
    assert grid.shape == (25, 2) and set(grid[:, 0]) == {-4, -2, 0, 2, 4}
    x = Z.sample_mixture(grid, 0.05, 5000, np.random.default_rng(0))
    m = Z.mode_metrics(x, grid, 0.05)
    # a 2-D Gaussian lies within 3σ with probability 1 - exp(-9/2); the mixture itself scores that, all modes
    assert m["modes"] == 25 and m["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    assert m["reverse_kl"] < 0.01


def test_metrics_all_modes_evenly():
    modes = Z.ring_modes(8)
    x = np.repeat(modes, 10, axis=0)                      # 10 samples on each centre
    m = Z.mode_metrics(x, modes, 0.01)
    assert m == {"modes": 8, "high_quality": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-15), "counts": [10] * 8}


def test_metrics_one_mode():
    modes = Z.ring_modes(8)
    x = modes[3] + 0.01 * np.array([[1.0, 0.0], [0.0, -2.0], [2.9, 0.0]])   # all within 3σ of mode 3
    m = Z.mode_metrics(x, modes, 0.01)
    assert m["modes"] == 1 and m["high_quality"] == 1.0 and m["counts"][3] == 3
    assert m["reverse_kl"] == pytest.approx(math.log(8))                    # KL(δ ‖ uniform) = log K


def test_metrics_off_mode_samples_and_threshold():
    modes = Z.ring_modes(8)
    mid = (modes[0] + modes[1]) / 2                       # between two modes: far from both
    m = Z.mode_metrics(np.array([mid, mid]), modes, 0.01)
    assert m["modes"] == 0 and m["high_quality"] == 0.0 and m["reverse_kl"] == math.inf
    just_out = modes[0] + [0.0301, 0.0]                   # 3.01σ away
    x = np.array([modes[0], modes[1], modes[1], just_out])
    m = Z.mode_metrics(x, modes, 0.01)
    assert m["high_quality"] == 0.75 and m["counts"][:2] == [1, 2] and m["modes"] == 2
    p = np.array([1 / 3, 2 / 3])
    assert m["reverse_kl"] == pytest.approx(float((p * np.log(p * 8)).sum()))
    assert Z.mode_metrics(x, modes, 0.01, min_count=2)["modes"] == 1      # a mode needs min_count samples
