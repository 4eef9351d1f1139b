"""The deep convolutional inverse graphics network (DC-IGN, Kulkarni, Whitney, Kohli & Tenenbaum 2015): a
convolutional VAE whose latent units are tied to the generative factors of the images by its training scheme.

The model is a VAE (see :mod:`nnzoo.zoo.vae`): a convolutional encoder gives q(z|x) = N(μ(x), diag σ²(x)), a
transposed-convolution decoder gives Bernoulli pixel probabilities, and the loss is −ELBO = summed BCE + KL.
What ties unit groups to factors is the data and two changes to the gradient (the paper's section 3.1):

1. every mini-batch varies one factor f only (the others fixed at one value for the whole batch);
2. the latent units not tied to f are *clamped*: the decoder sees, for each such unit j, the batch mean z̄_j
   instead of z_j, and the gradient reaching z_j is replaced by its difference from the mean, z_j − z̄_j
   (so descent pulls each clamped unit toward the batch mean: it learns to stay constant when f alone varies).
   Only the units tied to f receive the reconstruction gradient, so they must carry all of f's variation.

Here (2) is written without a custom backward: the decoder gets ``a ⊙ z + (1 − a) ⊙ z̄.detach()`` with ``a`` the
0/1 mask of f's units, and the loss gains ``½ Σ (1 − a) ⊙ (z − z̄.detach())²``, whose gradient in z is exactly
(1 − a) ⊙ (z − z̄). The KL term stays on every unit.

Trained by the recipe ``dcign`` (:mod:`nnzoo.recipes.vae`) on :mod:`nnzoo.data.datasets.shapes`.
"""
from __future__ import annotations

from dataclasses import dataclass

import nnzoo

from .. import nn
from ..nn import functional as F
from .vae import kl_divergence

__all__ = ["DCIGNConfig", "DCIGN", "clamp_latents", "dcign_loss"]


@dataclass
class DCIGNConfig:
    """Sizes of the DC-IGN.

    Args:
        size: image side (a multiple of 8: three stride-2 convolutions).
        channels: output channels of the three encoder convolutions (the decoder mirrors them).
        hidden: width of the fully connected layer on each side of the latent code.
        factor_units: latent units tied to each factor, in the order of the factors (shape, scale, rotation,
            x, y for the shapes data): the latent size is their sum.
    """

    size: int = 32
    channels: tuple = (32, 32, 64)
    hidden: int = 256
    factor_units: tuple = (2, 1, 1, 1, 1)

    @property
    def latent(self) -> int:
        return sum(self.factor_units)


class DCIGN(nn.Module):
    """Convolutional VAE: three Conv(4, stride 2, pad 1) + ReLU, Linear + ReLU, then μ and log σ²; the decoder
    Linear + ReLU, Linear + ReLU, three ConvTranspose(4, stride 2, pad 1) (ReLU between) to pixel logits.

    Args:
        config: :class:`DCIGNConfig`.

    Shape: input (N, 1, size, size) in [0, 1]; ``forward`` returns the pixel logits (N, 1, size, size), μ and
    log σ² (N, latent).

    Example::

        >>> logits, mu, logvar = DCIGN()(nnzoo.rand(2, 1, 32, 32))
        >>> logits.shape, mu.shape
        (nnzoo.Size([2, 1, 32, 32]), nnzoo.Size([2, 6]))
    """

    def __init__(self, config: DCIGNConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or DCIGNConfig()
        if c.size % 8:
            raise ValueError(f"DCIGN: size must be a multiple of 8, got {c.size}")
        c1, c2, c3 = c.channels
        self.feat = c.size // 8
        flat = c3 * self.feat * self.feat
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 4, 2, 1), nn.ReLU(),                     # (N, c1, S/2, S/2)
            nn.Conv2d(c1, c2, 4, 2, 1), nn.ReLU(),                    # (N, c2, S/4, S/4)
            nn.Conv2d(c2, c3, 4, 2, 1), nn.ReLU(),                    # (N, c3, S/8, S/8)
            nn.Flatten(), nn.Linear(flat, c.hidden), nn.ReLU())       # (N, hidden)
        self.fc_mu = nn.Linear(c.hidden, c.latent)
        self.fc_logvar = nn.Linear(c.hidden, c.latent)
        self.decoder_fc = nn.Sequential(nn.Linear(c.latent, c.hidden), nn.ReLU(), nn.Linear(c.hidden, flat), nn.ReLU())
        self.decoder_conv = nn.Sequential(
            nn.ConvTranspose2d(c3, c2, 4, 2, 1), nn.ReLU(),           # (N, c2, S/4, S/4)
            nn.ConvTranspose2d(c2, c1, 4, 2, 1), nn.ReLU(),           # (N, c1, S/2, S/2)
            nn.ConvTranspose2d(c1, 1, 4, 2, 1))                       # (N, 1, S, S) logits

    def factor_units(self, factor: int) -> list[int]:
        """The latent units tied to factor number ``factor``."""
        start = sum(self.config.factor_units[:factor])
        return list(range(start, start + self.config.factor_units[factor]))

    def encode(self, x):                                              # (N, 1, S, S)
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)                       # (N, latent) each

    def reparameterize(self, mu, logvar, eps=None):
        """z = μ + exp(½ log σ²) ⊙ ε, ε ~ N(0, I) unless given."""
        std = nnzoo.exp(0.5 * logvar)
        return mu + (nnzoo.randn_like(std) if eps is None else eps) * std

    def decode_logits(self, z):                                       # (N, latent)
        h = self.decoder_fc(z).reshape(z.shape[0], -1, self.feat, self.feat)
        return self.decoder_conv(h)                                   # (N, 1, S, S)

    def decode(self, z):
        return F.sigmoid(self.decode_logits(z))

    def forward(self, x, eps=None):
        mu, logvar = self.encode(x)
        return self.decode_logits(self.reparameterize(mu, logvar, eps)), mu, logvar


def clamp_latents(z, active):
    """The DC-IGN clamp: units outside ``active`` replaced by their batch mean for the decoder, with the
    gradient pulling them toward it.

    Args:
        z: latent samples (N, latent).
        active: 0/1 float tensor (latent,): the units tied to the factor this batch varies.

    Returns:
        (z for the decoder: a ⊙ z + (1 − a) ⊙ z̄ with z̄ the batch mean, detached; the penalty
        ½ Σ (1 − a) ⊙ (z − z̄)², whose gradient in z is (1 − a) ⊙ (z − z̄), the paper's replaced gradient).
    """
    zbar = z.mean(dim=0, keepdim=True).detach()                       # (1, latent)
    clamped = 1 - active
    penalty = 0.5 * nnzoo.sum(((z - zbar) * clamped) ** 2)
    return z * active + zbar * clamped, penalty


def dcign_loss(logits, x, mu, logvar):
    """−ELBO summed over the batch: BCE with logits (summed) + KL."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + kl_divergence(mu, logvar)
