"""The autoencoders of nnzoo.zoo.autoencoder against PyTorch twins built with the same weights (forward and the
gradient of the loss, float64), the KL sparsity term against torch ops and finite differences, the corruption
noise against its definition. The recipes: tests/recipes/test_autoencoder.py."""
import itertools

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.autograd import gradcheck
from nnzoo.nn import functional as F
from nnzoo.zoo.autoencoder import (
    Autoencoder,
    AutoencoderConfig,
    ConvAutoencoder,
    Corruption,
    DenoisingAutoencoder,
    LinearAutoencoder,
    SparseAutoencoder,
    corrupt,
    kl_sparsity,
    sparsity_penalty,
)


def _torch_twin(model, torch_model):
    """``torch_model`` (same layer names) loaded with ``model``'s weights, both in float64."""
    model.double()
    torch_model.double().load_state_dict({k: torch.from_numpy(v.detach().numpy().copy()) for k, v in
                                          model.state_dict().items()})
    return torch_model


def _torch_mlp(widths, act, last, bias=True):
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(torch.nn.Linear(a, b, bias=bias))
        name = act if i < len(widths) - 2 else last
        if name != "identity":
            layers.append({"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[name]())
    return torch.nn.Sequential(*layers)


class TorchAE(torch.nn.Module):
    def __init__(self, widths, act="relu", out="sigmoid", bias=True):
        super().__init__()
        self.encoder = _torch_mlp(widths, act, act, bias)
        self.decoder = _torch_mlp(widths[::-1], act, out, bias)

    def forward(self, x):
        return self.decoder(self.encoder(x.reshape(len(x), -1))).reshape(x.shape)


def _same_loss_and_grads(model, twin, x, loss=None, twin_loss=None):
    """Forward outputs and the gradient of the loss w.r.t. every parameter equal to rounding."""
    loss = loss or (lambda m, t: F.mse_loss(m(t), t))
    twin_loss = twin_loss or (lambda m, t: torch.nn.functional.mse_loss(m(t), t))
    xt = torch.from_numpy(x)
    np.testing.assert_allclose(model(nnzoo.tensor(x)).detach().numpy(), twin(xt).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    lo, lt = loss(model, nnzoo.tensor(x)), twin_loss(twin, xt)
    lo.backward()
    lt.backward()
    np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-10)
    grads = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=name)


def test_autoencoder_matches_torch_forward_and_loss_gradient():
    nnzoo.manual_seed(0)
    m = Autoencoder(AutoencoderConfig(in_features=64, hidden=(32, 16), latent=8))
    twin = _torch_twin(m, TorchAE([64, 32, 16, 8]))
    x = np.random.default_rng(0).random((5, 1, 8, 8))
    _same_loss_and_grads(m, twin, x)
    assert m(nnzoo.tensor(x)).shape == (5, 1, 8, 8)


def test_linear_autoencoder_is_two_bias_free_linear_maps():
    nnzoo.manual_seed(1)
    m = LinearAutoencoder(64, 10)
    assert [tuple(p.shape) for p in m.parameters()] == [(10, 64), (64, 10)]
    twin = _torch_twin(m, TorchAE([64, 10], act="identity", out="identity", bias=False))
    x = np.random.default_rng(1).standard_normal((7, 64))
    _same_loss_and_grads(m, twin, x)
    w_e, w_d = m.encoder[0].weight.detach().numpy(), m.decoder_weight.detach().numpy()
    np.testing.assert_allclose(m(nnzoo.tensor(x)).detach().numpy(), x @ w_e.T @ w_d.T, rtol=1e-12)


class TorchConvAE(torch.nn.Module):
    def __init__(self, side, c1, c2, latent):
        super().__init__()
        nn, k = torch.nn, side // 4
        self.encoder = nn.Sequential(nn.Conv2d(1, c1, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(c2, latent, k))
        self.decoder = nn.Sequential(nn.ConvTranspose2d(latent, c2, k), nn.ReLU(),
                                     nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                                     nn.ConvTranspose2d(c1, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


@pytest.mark.parametrize("side", [8, 28])
def test_conv_autoencoder_matches_torch_forward_and_loss_gradient(side):
    nnzoo.manual_seed(2)
    m = ConvAutoencoder(side, (4, 6), 5)
    twin = _torch_twin(m, TorchConvAE(side, 4, 6, 5))
    x = np.random.default_rng(2).random((3, 1, side, side))
    _same_loss_and_grads(m, twin, x)
    assert m.encode(nnzoo.tensor(x)).shape == (3, 5, 1, 1)


def _torch_kl(rho, rho_hat):
    """Σ_j KL(ρ || ρ̂_j) composed from torch ops: the reference."""
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def test_kl_sparsity_matches_torch_forward_and_backward():
    rho_hat = np.random.default_rng(3).uniform(0.01, 0.99, 20)
    a = nnzoo.tensor(rho_hat, requires_grad=True)
    b = torch.tensor(rho_hat, requires_grad=True)
    ka, kb = kl_sparsity(0.05, a), _torch_kl(0.05, b)
    ka.backward()
    kb.backward()
    np.testing.assert_allclose(ka.item(), kb.item(), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    # the analytic derivative -ρ/ρ̂ + (1-ρ)/(1-ρ̂), zero at ρ̂ = ρ
    np.testing.assert_allclose(a.grad.numpy(), -0.05 / rho_hat + 0.95 / (1 - rho_hat), rtol=1e-12)
    assert kl_sparsity(0.05, nnzoo.full((4,), 0.05)).item() == pytest.approx(0.0, abs=1e-15)


def test_kl_penalty_passes_finite_differences_through_a_sigmoid_code():
    x = nnzoo.tensor(np.random.default_rng(4).standard_normal((6, 9)), requires_grad=True)
    assert gradcheck(lambda t: sparsity_penalty(t.sigmoid(), "kl", rho=0.1, weight=3.0), (x,))
    assert gradcheck(lambda t: sparsity_penalty(t.relu(), "l1", weight=0.5), (x,))


def test_sparse_autoencoder_loss_matches_torch():
    nnzoo.manual_seed(5)
    for sparsity, act in (("kl", "sigmoid"), ("l1", "relu")):
        m = SparseAutoencoder(64, 12, sparsity, rho=0.05, weight=3.0)
        twin = _torch_twin(m, TorchAE([64, 12], act=act, out="sigmoid"))

        def twin_loss(t, xt, sparsity=sparsity):
            z = t.encoder(xt.reshape(len(xt), -1))
            y = t.decoder(z).reshape(xt.shape)
            penalty = 3.0 * (_torch_kl(0.05, z.mean(0)) if sparsity == "kl" else z.abs().sum(1).mean())
            return torch.nn.functional.mse_loss(y, xt) + penalty

        def loss(mm, xx):
            y, z = mm.forward_with_code(xx)
            return F.mse_loss(y, xx) + mm.penalty(z)

        x = np.random.default_rng(5).random((8, 64))
        _same_loss_and_grads(m, twin, x, loss, twin_loss)


def test_masking_and_gaussian_corruption_follow_their_definitions():
    x = nnzoo.ones(200, 500)
    g = nnzoo.Generator().manual_seed(0)
    masked = corrupt(x, "masking", 0.3, generator=g).numpy()
    assert set(np.unique(masked)) <= {0.0, 1.0}
    n = masked.size   # the masked fraction is Binomial(n, 0.3) / n: within 5 standard deviations
    assert abs((masked == 0).mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / n)
    noise = corrupt(x, "gaussian", 0.5, generator=g).numpy() - 1.0
    assert abs(noise.mean()) < 5 * 0.5 / np.sqrt(n)
    assert abs(noise.std() - 0.5) < 5 * 0.5 / np.sqrt(2 * n)
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(x, "salt", 0.1)


def test_denoising_autoencoder_corrupts_only_in_training():
    nnzoo.manual_seed(6)
    m = DenoisingAutoencoder(AutoencoderConfig(in_features=16, hidden=(8,), latent=4), "masking", 0.5)
    x = nnzoo.rand(4, 16)
    m.eval()
    clean = Autoencoder.forward(m, x).detach().numpy()
    np.testing.assert_array_equal(m(x).detach().numpy(), clean)
    m.train()
    assert not np.array_equal(m(x).detach().numpy(), clean)
    for bad in (("masking", 1.0), ("gaussian", -1.0), ("salt", 0.1)):
        with pytest.raises(ValueError):
            Corruption(*bad)
