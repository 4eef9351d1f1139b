"""DCGAN's players against PyTorch twins built from the same layers with the same weights (forward and backward
in train mode, one whole training step), the paper's initialisation, and the Fréchet distance against the
scipy.linalg.sqrtm formula. The dcgan recipe: tests/recipes/test_dcgan.py."""
import numpy as np
import pytest
import scipy.linalg
import torch

import nnzoo
from nnzoo.zoo.dcgan import DCGAN, Discriminator, Generator, dcgan_init_, dcgan_step, frechet_distance, gaussian_stats

NZ, NGF, NDF, N = 8, 4, 4, 6


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    nnzoo.manual_seed(0)


def torch_generator(nz, ngf):
    """PyTorch's DCGAN example's generator, sized for 28x28 as nnzoo's (the same Sequential indices)."""
    g = torch.nn.Module()
    g.main = torch.nn.Sequential(
        torch.nn.ConvTranspose2d(nz, 2 * ngf, 7, 1, 0, bias=False), torch.nn.BatchNorm2d(2 * ngf), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False), torch.nn.BatchNorm2d(ngf), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False), torch.nn.Tanh())
    g.forward = lambda z: g.main(z.reshape(z.shape[0], nz, 1, 1))
    return g


def torch_discriminator(ndf):
    d = torch.nn.Module()
    d.main = torch.nn.Sequential(
        torch.nn.Conv2d(1, ndf, 4, 2, 1, bias=False), torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False), torch.nn.BatchNorm2d(2 * ndf), torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(2 * ndf, 1, 7, 1, 0, bias=False))
    d.forward = lambda x: d.main(x).reshape(-1)
    return d


def copied(nnzoo_module, torch_module):
    """``torch_module`` with ``nnzoo_module``'s state_dict (the same keys), in float64 both."""
    nnzoo_module.double()
    torch_module.double()
    torch_module.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in nnzoo_module.state_dict().items()})
    return torch_module


def _close(a, b, tol=1e-9):
    np.testing.assert_allclose(np.asarray(a.detach().numpy() if hasattr(a, "detach") else a),
                               b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("which", ["generator", "discriminator"])
def test_players_forward_and_backward_match_torch_with_the_same_weights(which):
    """Train mode (batch statistics): outputs, the input's gradient and every parameter's gradient."""
    if which == "generator":
        ours, theirs = Generator(NZ, NGF), torch_generator(NZ, NGF)
        x = np.random.default_rng(0).standard_normal((N, NZ))
    else:
        ours, theirs = Discriminator(NDF), torch_discriminator(NDF)
        x = np.random.default_rng(0).uniform(-1, 1, (N, 1, 28, 28))
    dcgan_init_(ours)
    theirs = copied(ours, theirs)
    a = nnzoo.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    out_a, out_b = ours(a), theirs(b)
    assert tuple(out_a.shape) == tuple(out_b.shape) == ((N, 1, 28, 28) if which == "generator" else (N,))
    _close(out_a, out_b)
    w = np.random.default_rng(1).standard_normal(tuple(out_b.shape))
    (out_a * nnzoo.tensor(w)).sum().backward()
    (out_b * torch.tensor(w)).sum().backward()
    _close(a.grad, b.grad)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, theirs_params[name].grad)


def test_one_training_step_matches_torch():
    """dcgan_step against the same step written in PyTorch (its DCGAN example's order: D on real, D on G(z)
    detached, Adam; G on the same G(z) through the updated D, Adam): the losses and all updated weights."""
    gan = DCGAN(NZ, NGF, NDF)
    tg, td = copied(gan.generator, torch_generator(NZ, NGF)), copied(gan.discriminator, torch_discriminator(NDF))
    rng = np.random.default_rng(2)
    real, z = rng.uniform(-1, 1, (N, 1, 28, 28)), rng.standard_normal((N, NZ))
    opts = [nnzoo.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)) for m in (gan.generator, gan.discriminator)]
    logs = dcgan_step(gan.generator, gan.discriminator, *opts, nnzoo.tensor(real), nnzoo.tensor(z))

    bce = torch.nn.functional.binary_cross_entropy_with_logits
    tog, tod = [torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)) for m in (tg, td)]
    tod.zero_grad()
    out_real = td(torch.tensor(real))
    loss_real = bce(out_real, torch.ones_like(out_real))
    loss_real.backward()
    fake = tg(torch.tensor(z))
    out_fake = td(fake.detach())
    loss_fake = bce(out_fake, torch.zeros_like(out_fake))
    loss_fake.backward()
    tod.step()
    tog.zero_grad()
    out = td(fake)
    loss_g = bce(out, torch.ones_like(out))
    loss_g.backward()
    tog.step()

    assert logs["loss_d"] == pytest.approx((loss_real + loss_fake).item(), rel=1e-9)
    assert logs["loss_g"] == pytest.approx(loss_g.item(), rel=1e-9)
    assert logs["d_fake"] == pytest.approx(torch.sigmoid(out_fake).mean().item(), rel=1e-9)
    for ours, theirs in ((gan.generator, tg), (gan.discriminator, td)):
        reference = theirs.state_dict()        # weights and batch norm's running statistics
        for name, v in ours.state_dict().items():
            _close(v, reference[name], tol=1e-8)


def test_initialisation_is_the_papers():
    """Conv weights ~ N(0, 0.02), batch norm weights ~ N(1, 0.02) and biases 0 (sample moments of a wide layer)."""
    gan = DCGAN(nz=64, ngf=32, ndf=32)
    w = gan.generator.main[3].weight.detach().numpy()            # 64 x 32 x 4 x 4 = 32,768 draws
    assert abs(w.mean()) < 4 * 0.02 / np.sqrt(w.size)
    assert w.std() == pytest.approx(0.02, rel=0.03)
    bn = gan.discriminator.main[3]
    gamma = bn.weight.detach().numpy()
    assert np.all(bn.bias.detach().numpy() == 0) and abs(gamma.mean() - 1) < 4 * 0.02 / np.sqrt(gamma.size)


def _random_cov(rng, d, n):
    a = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    return a.mean(axis=0), np.cov(a, rowvar=False)


def test_frechet_distance_matches_the_sqrtm_formula():
    """d² = ||μ1 - μ2||² + Tr(Σ1 + Σ2 - 2 sqrtm(Σ1 Σ2)), the reference computed with scipy.linalg.sqrtm as in
    the FID papers' code; also a rank-deficient covariance (fewer samples than dimensions)."""
    rng = np.random.default_rng(0)
    for d, n in ((16, 200), (32, 20)):
        mu1, s1 = _random_cov(rng, d, n)
        mu2, s2 = _random_cov(rng, d, n)
        covmean = scipy.linalg.sqrtm(s1 @ s2).real
        reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-6, abs=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-6 * np.trace(s1))


def test_frechet_distance_of_univariate_gaussians_is_the_closed_form():
    """In one dimension, d² = (μ1 - μ2)² + (σ1 - σ2)² (the W2 distance between two normals)."""
    got = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-0.5]), np.array([[0.25]]))
    assert got == pytest.approx(1.5 ** 2 + (2.0 - 0.5) ** 2)
    with pytest.raises(ValueError, match="frechet_distance"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_gaussian_stats_is_numpy_mean_and_unbiased_cov():
    f = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    mu, sigma = gaussian_stats(f)
    np.testing.assert_allclose(mu, f.astype(np.float64).mean(0))
    np.testing.assert_allclose(sigma, np.cov(f.astype(np.float64).T))
