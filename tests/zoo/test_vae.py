"""The VAE: the loss (summed BCE + KL) and the whole model against PyTorch (forward and gradients), the
reparameterisation gradient against finite differences, the importance-weighted estimate against a NumPy
log-mean-exp reference."""
import math

import numpy as np
import pytest

import nnzoo
from nnzoo.zoo.vae import VAE, VAEConfig, iw_log_likelihood, kl_divergence, vae_loss

torch = pytest.importorskip("torch")


def _torch_vae_loss(recon, x, mu, logvar):
    """The official example's loss_function (pytorch/examples vae/main.py)."""
    bce = torch.nn.functional.binary_cross_entropy(recon, x, reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def test_loss_matches_torch_forward_and_gradient():
    rng = np.random.default_rng(0)
    arrays = {"recon": rng.uniform(0.02, 0.98, (6, 12)), "x": rng.uniform(0, 1, (6, 12)),
              "mu": rng.normal(size=(6, 3)), "logvar": rng.normal(scale=0.5, size=(6, 3))}
    ours = {k: nnzoo.tensor(v, requires_grad=k != "x") for k, v in arrays.items()}
    ref = {k: torch.tensor(v, requires_grad=k != "x") for k, v in arrays.items()}
    loss = vae_loss(ours["recon"], ours["x"], ours["mu"], ours["logvar"])
    expected = _torch_vae_loss(ref["recon"], ref["x"], ref["mu"], ref["logvar"])
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    loss.backward()
    expected.backward()
    for k in ("recon", "mu", "logvar"):
        np.testing.assert_allclose(ours[k].grad.numpy(), ref[k].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
    # the KL term alone, against torch.distributions' closed form
    q = torch.distributions.Normal(torch.tensor(arrays["mu"]), torch.tensor(np.exp(0.5 * arrays["logvar"])))
    p = torch.distributions.Normal(torch.zeros(6, 3), torch.ones(6, 3))
    np.testing.assert_allclose(kl_divergence(ours["mu"], ours["logvar"]).item(),
                               torch.distributions.kl_divergence(q, p).sum().item(), rtol=1e-10)


class _TorchVAE(torch.nn.Module):
    """pytorch/examples vae/main.py's VAE, with ε passed in."""

    def __init__(self, c):
        super().__init__()
        self.fc1 = torch.nn.Linear(c.in_features, c.hidden)
        self.fc21 = torch.nn.Linear(c.hidden, c.latent)
        self.fc22 = torch.nn.Linear(c.hidden, c.latent)
        self.fc3 = torch.nn.Linear(c.latent, c.hidden)
        self.fc4 = torch.nn.Linear(c.hidden, c.in_features)

    def forward(self, x, eps):
        h1 = torch.relu(self.fc1(x))
        mu, logvar = self.fc21(h1), self.fc22(h1)
        z = mu + eps * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(torch.relu(self.fc3(z)))), mu, logvar


def test_model_matches_the_official_example_with_the_same_weights_and_noise():
    c = VAEConfig(in_features=30, hidden=16, latent=4)
    nnzoo.manual_seed(0)
    ours = VAE(c).double()
    ref = _TorchVAE(c).double()
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(1)
    x, eps = rng.uniform(0, 1, (5, 30)), rng.normal(size=(5, 4))
    out = ours(nnzoo.tensor(x), eps=nnzoo.tensor(eps))
    expected = ref(torch.tensor(x), torch.tensor(eps))
    for a, b in zip(out, expected):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    vae_loss(*out[:1], nnzoo.tensor(x), *out[1:]).backward()
    _torch_vae_loss(expected[0], torch.tensor(x), *expected[1:]).backward()
    grads = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=name)


def test_reparameterisation_gradient_matches_finite_differences():
    """d loss / d(μ, log σ²) through z = μ + exp(½ log σ²) ε with ε fixed: float64 central differences."""
    c = VAEConfig(in_features=10, hidden=8, latent=3)
    nnzoo.manual_seed(2)
    model = VAE(c).double()
    rng = np.random.default_rng(3)
    x = nnzoo.tensor(rng.uniform(0, 1, (4, 10)))
    eps = nnzoo.tensor(rng.normal(size=(4, 3)))
    mu = nnzoo.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    logvar = nnzoo.tensor(rng.normal(scale=0.5, size=(4, 3)), requires_grad=True)

    def loss(mu, logvar):
        return vae_loss(model.decode(model.reparameterize(mu, logvar, eps)), x, mu, logvar)
    assert nnzoo.autograd.gradcheck(loss, (mu, logvar), eps=1e-6, atol=1e-6, rtol=1e-5)


def _numpy_log_weights(model, x, eps):
    """log p(x|z) + log p(z) − log q(z|x) for z = μ + σ ε, in float64 NumPy from the model's weights."""
    w = {k: v.numpy().astype(np.float64) for k, v in model.state_dict().items()}
    h = np.maximum(x @ w["fc1.weight"].T + w["fc1.bias"], 0)
    mu, logvar = h @ w["fc21.weight"].T + w["fc21.bias"], h @ w["fc22.weight"].T + w["fc22.bias"]
    z = mu + eps * np.exp(0.5 * logvar)                                   # (k, N, latent)
    logits = np.maximum(z @ w["fc3.weight"].T + w["fc3.bias"], 0) @ w["fc4.weight"].T + w["fc4.bias"]
    log_px = np.sum(x * logits - np.logaddexp(0, logits), axis=-1)       # Bernoulli, from the logits
    log_pz = -0.5 * np.sum(np.log(2 * np.pi) + z ** 2, axis=-1)
    log_qz = -0.5 * np.sum(np.log(2 * np.pi) + logvar + (z - mu) ** 2 / np.exp(logvar), axis=-1)
    return log_px + log_pz - log_qz


def _log_mean_exp(w, axis=0):
    m = w.max(axis=axis)
    return m + np.log(np.mean(np.exp(w - m), axis=axis))


def test_importance_weighted_estimate_matches_a_numpy_log_mean_exp():
    c = VAEConfig(in_features=12, hidden=10, latent=3)
    nnzoo.manual_seed(4)
    model = VAE(c).double()
    x = np.random.default_rng(5).uniform(0, 1, (5, 12))
    k = 10
    # one pass: all k samples of all images drawn at once as randn(k, N, latent)
    got = iw_log_likelihood(model, nnzoo.tensor(x), k=k, generator=nnzoo.Generator().manual_seed(6)).numpy()
    eps = nnzoo.randn(k, 5, 3, generator=nnzoo.Generator().manual_seed(6), dtype=nnzoo.float64).numpy()
    np.testing.assert_allclose(got, _log_mean_exp(_numpy_log_weights(model, x, eps)), rtol=1e-10)
    # batched: one image at a time, its k samples in passes of 4, 4 and 2 rows; log-mean-exp across the passes
    got = iw_log_likelihood(model, nnzoo.tensor(x), k=k, chunk_rows=4,
                            generator=nnzoo.Generator().manual_seed(7)).numpy()
    gen, expected = nnzoo.Generator().manual_seed(7), []
    for i in range(5):
        eps = np.concatenate([nnzoo.randn(m, 1, 3, generator=gen, dtype=nnzoo.float64).numpy() for m in (4, 4, 2)])
        expected.append(_log_mean_exp(_numpy_log_weights(model, x[i:i + 1], eps))[0])
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # Burda et al.: the k-sample bound tightens with k (in expectation); k = 1 averages to the ELBO
    x32 = nnzoo.tensor(x)
    many = [iw_log_likelihood(model, x32, k=1, generator=nnzoo.Generator().manual_seed(s)).numpy() for s in range(400)]
    tight = iw_log_likelihood(model, x32, k=400, generator=nnzoo.Generator().manual_seed(8)).numpy()
    assert np.all(tight >= np.mean(many, axis=0) - 3 * np.std(many, axis=0) / math.sqrt(400))
