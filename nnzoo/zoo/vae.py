"""The variational autoencoder (Kingma & Welling 2014) and its importance-weighted likelihood bound (Burda et al.
2016).

A Gaussian encoder q(z|x) = N(μ(x), diag σ²(x)) and a Bernoulli decoder p(x|z) = Π_i Bern(x_i; y_i(z)) with the
prior p(z) = N(0, I). Training maximises the evidence lower bound

    ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) ≤ log p(x),

with z = μ + σ ⊙ ε, ε ~ N(0, I) (the reparameterisation: a gradient through the sample), one sample per image;
the loss is −ELBO summed over the batch: the summed binary cross-entropy plus the closed-form KL

    KL = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²).

The layer sizes and names are those of PyTorch's official example (pytorch/examples ``vae/main.py``:
784-400-20-400-784, ReLU, ``fc1 fc21 fc22 fc3 fc4``), so a ``state_dict`` moves between the two unchanged.

Trained by the recipe ``vae`` (:mod:`nnzoo.recipes.vae`) on Fashion-MNIST.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import nnzoo

from .. import nn
from ..nn import functional as F

__all__ = ["VAEConfig", "VAE", "kl_divergence", "vae_loss", "bernoulli_log_likelihood", "gaussian_log_density",
           "iw_log_likelihood"]

LOG_2PI = math.log(2 * math.pi)


@dataclass
class VAEConfig:
    """Sizes of the VAE: ``in_features`` -> ``hidden`` -> ``latent`` -> ``hidden`` -> ``in_features``."""

    in_features: int = 784
    hidden: int = 400
    latent: int = 20


class VAE(nn.Module):
    """The official example's VAE: encoder x -> ReLU(fc1) -> (μ = fc21, log σ² = fc22), decoder
    z -> ReLU(fc3) -> sigmoid(fc4).

    Args:
        config: the sizes (:class:`VAEConfig`; default 784-400-20).

    Shape: input (N, *) with ``in_features`` values in [0, 1] per sample; ``forward`` returns the decoder's
    probabilities (N, in_features), μ and log σ² (N, latent).

    Example::

        >>> recon, mu, logvar = VAE()(nnzoo.rand(3, 1, 28, 28))
        >>> recon.shape, mu.shape
        (nnzoo.Size([3, 784]), nnzoo.Size([3, 20]))
    """

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or VAEConfig()
        self.fc1 = nn.Linear(c.in_features, c.hidden)
        self.fc21 = nn.Linear(c.hidden, c.latent)
        self.fc22 = nn.Linear(c.hidden, c.latent)
        self.fc3 = nn.Linear(c.latent, c.hidden)
        self.fc4 = nn.Linear(c.hidden, c.in_features)

    def encode(self, x):                                     # (N, in_features)
        h1 = F.relu(self.fc1(x))                             # (N, hidden)
        return self.fc21(h1), self.fc22(h1)                  # μ, log σ²: (N, latent) each

    def reparameterize(self, mu, logvar, eps=None):
        """z = μ + exp(½ log σ²) ⊙ ε with ε ~ N(0, I) drawn from the default generator unless given."""
        std = nnzoo.exp(0.5 * logvar)
        if eps is None:
            eps = nnzoo.randn_like(std)
        return mu + eps * std                                # (N, latent)

    def decode_logits(self, z):                              # (..., latent)
        return self.fc4(F.relu(self.fc3(z)))                 # (..., in_features)

    def decode(self, z):
        """The Bernoulli means y(z) = sigmoid(fc4(ReLU(fc3(z))))."""
        return F.sigmoid(self.decode_logits(z))

    def forward(self, x, eps=None):                          # (N, *)
        mu, logvar = self.encode(x.reshape(x.shape[0], -1))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar                    # (N, in_features), (N, latent), (N, latent)


def kl_divergence(mu, logvar):
    """KL(N(μ, diag σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²), summed over all elements (a 0-d tensor)."""
    return -0.5 * nnzoo.sum(1 + logvar - mu * mu - nnzoo.exp(logvar))


def vae_loss(recon, x, mu, logvar):
    """−ELBO summed over the batch, as the official example computes it: ``binary_cross_entropy(recon, x,
    reduction='sum')`` + :func:`kl_divergence`.

    NOTE: binary cross-entropy clamps log y at −100 as PyTorch does, so a saturated sigmoid (y = 0 or 1 in
    float32) costs at most 100 nats per pixel instead of inf.
    """
    bce = F.binary_cross_entropy(recon, x.reshape(recon.shape), reduction="sum")
    return bce + kl_divergence(mu, logvar)


def bernoulli_log_likelihood(logits, x):
    """log p(x|z) = Σ_i x_i log y_i + (1 − x_i) log(1 − y_i) with y = sigmoid(logits), summed over the last
    dimension; computed from the logits as x·l − softplus(l), exact where the sigmoid saturates.
    (For grey levels x in [0, 1] this is the summed negative binary cross-entropy, the example's
    likelihood, not a normalised density.)"""
    return nnzoo.sum(x * logits - F.softplus(logits), dim=-1)


def gaussian_log_density(z, mu, logvar):
    """log N(z; μ, diag exp(logvar)) summed over the last dimension."""
    return -0.5 * nnzoo.sum(LOG_2PI + logvar + (z - mu) ** 2 * nnzoo.exp(-logvar), dim=-1)


def iw_log_likelihood(model: VAE, x, k: int = 5000, chunk_rows: int = 32768, generator=None):
    """The importance-weighted estimate of log p(x) (Burda et al. 2016) per image, with k samples of q(z|x):

        log p(x) ≈ log (1/k) Σ_s p(x|z_s) p(z_s) / q(z_s|x),   z_s ~ q(z|x),

    a lower bound in expectation that tightens as k grows (k = 1 is the ELBO), computed with log-sum-exp.

    Args:
        model: a :class:`VAE`.
        x: images (N, *) with values in [0, 1].
        k: samples per image.
        chunk_rows: at most this many (sample, image) rows go through the decoder at once: the memory bound
            (32,768 rows x 784 float32 = 100 MB per activation), so k = 5000 fits for any N.
        generator: the ``nnzoo.Generator`` of the samples (default: the global one).

    Returns:
        log p(x) per image, a float64 tensor (N,).
    """
    x = x.reshape(x.shape[0], -1)
    n = x.shape[0]
    out = []
    with nnzoo.no_grad():
        mu, logvar = model.encode(x)                                       # (N, latent)
        std = nnzoo.exp(0.5 * logvar)
        images = max(1, min(n, chunk_rows // k))                          # images per chunk
        samples = max(1, min(k, chunk_rows // images))                    # samples per decoder pass
        for i in range(0, n, images):
            xi, mi, li, si = x[i:i + images], mu[i:i + images], logvar[i:i + images], std[i:i + images]
            parts = []
            for s in range(0, k, samples):
                m = min(samples, k - s)
                eps = nnzoo.randn(m, *mi.shape, generator=generator, dtype=mi.dtype)   # (m, B, latent)
                z = mi + eps * si                                          # (m, B, latent)
                log_px_z = bernoulli_log_likelihood(model.decode_logits(z), xi)          # (m, B)
                log_pz = -0.5 * nnzoo.sum(LOG_2PI + z * z, dim=-1)
                log_qz = -0.5 * nnzoo.sum(LOG_2PI + li + eps * eps, dim=-1)  # (z − μ)²/σ² = ε²
                parts.append((log_px_z + log_pz - log_qz).double())
            w = nnzoo.cat(parts, dim=0)                                    # (k, B) log weights
            out.append(nnzoo.logsumexp(w, dim=0) - math.log(k))
    return nnzoo.cat(out)
