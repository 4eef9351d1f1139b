"""DCGAN (Radford, Metz and Chintala, "Unsupervised representation learning with deep convolutional generative
adversarial networks", ICLR 2016) sized for 28x28 grey images, and the Fréchet distance between two feature
clouds.

The GAN game (Goodfellow et al. 2014): a generator G_θ maps noise z ~ N(0, I) to an image, a discriminator D_φ
gives the logit that an image is real. D minimises the binary cross-entropy of telling real from generated,

    L_D = -E_x log σ(D(x)) - E_z log(1 - σ(D(G(z)))),

and G, instead of maximising L_D (which saturates while D wins easily), minimises the non-saturating loss

    L_G = -E_z log σ(D(G(z))),

both written with BCE-with-logits, alternating one step each. The paper's architecture rules: no pooling
(strided convolutions in D, transposed convolutions in G), batch norm in both (not on G's output nor on D's
input), ReLU in G with a tanh output, LeakyReLU(0.2) in D, weights from N(0, 0.02), Adam(2e-4, betas (0.5,
0.999)).

Sizes for 28x28 (``ngf``, ``ndf`` the base widths)::

    G: z (N, nz, 1, 1) -ConvT 7x7-> (N, 2ngf, 7, 7) BN ReLU -ConvT 4x4 s2-> (N, ngf, 14, 14) BN ReLU
       -ConvT 4x4 s2-> (N, 1, 28, 28) tanh
    D: x (N, 1, 28, 28) -Conv 4x4 s2-> (N, ndf, 14, 14) LReLU -Conv 4x4 s2-> (N, 2ndf, 7, 7) BN LReLU
       -Conv 7x7-> (N, 1, 1, 1) -> (N,) logits

The Fréchet distance (Heusel et al. 2017, "FID" when the features are Inception's) between Gaussians fitted to
two feature sets:

    d² = ||μ_1 - μ_2||² + Tr(Σ_1 + Σ_2 - 2 (Σ_1 Σ_2)^{1/2}).

:func:`frechet_distance` computes the trace term from the eigenvalues of the symmetric matrix
Σ_1^{1/2} Σ_2 Σ_1^{1/2}, whose square roots sum to Tr((Σ_1 Σ_2)^{1/2}) (the two products are similar).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn
from ..creation import ones_like, zeros_like

__all__ = ["DCGANConfig", "DCGAN", "Generator", "Discriminator", "dcgan_init_", "dcgan_step", "frechet_distance",
           "gaussian_stats"]


@dataclass
class DCGANConfig:
    """The DCGAN's sizes: noise length ``nz``, the generator's and the discriminator's base widths."""

    nz: int = 64
    ngf: int = 32
    ndf: int = 32


class Generator(nn.Module):
    """DCGAN's generator for 28x28: noise (N, nz) or (N, nz, 1, 1) -> images (N, 1, 28, 28) in (-1, 1).

    Args:
        nz (int): noise length. Default: 64.
        ngf (int): base width (2 ngf maps at 7x7, ngf at 14x14). Default: 32.
        channels (int): image channels. Default: 1.

    ``main`` is an ``nn.Sequential`` as in PyTorch's DCGAN example, so the ``state_dict`` keys (``main.0.weight``,
    ...) match a torch Sequential built the same way.

    Example::

        >>> Generator(nz=8, ngf=4)(nnzoo.randn(2, 8)).shape
        nnzoo.Size([2, 1, 28, 28])
    """

    def __init__(self, nz: int = 64, ngf: int = 32, channels: int = 1) -> None:
        super().__init__()
        self.nz = nz
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, 2 * ngf, 7, 1, 0, bias=False),         # (N, 2ngf, 7, 7)
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),        # (N, ngf, 14, 14)
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False),       # (N, channels, 28, 28)
            nn.Tanh(),
        )

    def forward(self, z):
        if z.dim() == 2:
            z = z.reshape(z.shape[0], self.nz, 1, 1)                      # (N, nz, 1, 1)
        return self.main(z)


class Discriminator(nn.Module):
    """DCGAN's discriminator for 28x28: images (N, 1, 28, 28) -> logits (N,) of "real".

    Args:
        ndf (int): base width (ndf maps at 14x14, 2 ndf at 7x7). Default: 32.
        channels (int): image channels. Default: 1.

    No batch norm on the first layer (the paper's rule); the last convolution reads the whole 7x7 map.

    Example::

        >>> Discriminator(ndf=4)(nnzoo.zeros(2, 1, 28, 28)).shape
        nnzoo.Size([2])
    """

    def __init__(self, ndf: int = 32, channels: int = 1) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, 2, 1, bias=False),                # (N, ndf, 14, 14)
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False),                 # (N, 2ndf, 7, 7)
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 7, 1, 0, bias=False),                   # (N, 1, 1, 1)
        )

    def forward(self, x):
        return self.main(x).reshape(-1)                                   # (N,)


class DCGAN(nn.Module):
    """The two players in one module (one ``state_dict``: ``generator.*``, ``discriminator.*``), initialised by
    :func:`dcgan_init_`.

    Args:
        nz, ngf, ndf (int): as :class:`DCGANConfig`. channels (int): image channels. Default: 1.

    Example::

        >>> gan = DCGAN(nz=8, ngf=4, ndf=4)
        >>> gan.discriminator(gan.generator(nnzoo.randn(3, 8))).shape
        nnzoo.Size([3])
    """

    def __init__(self, nz: int = 64, ngf: int = 32, ndf: int = 32, channels: int = 1) -> None:
        super().__init__()
        self.nz = nz
        self.generator = Generator(nz, ngf, channels)
        self.discriminator = Discriminator(ndf, channels)
        dcgan_init_(self)

    def forward(self, z):
        """G(z): (N, nz) -> (N, C, 28, 28)."""
        return self.generator(z)


def dcgan_init_(module: nn.Module) -> nn.Module:
    """The paper's initialisation, applied to every submodule: convolution weights from N(0, 0.02), batch norm
    weights from N(1, 0.02) and biases 0 (PyTorch's DCGAN example's ``weights_init``).

    Returns:
        ``module``.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def dcgan_step(G: nn.Module, D: nn.Module, opt_g, opt_d, real, z) -> dict:
    """One step of each player, as PyTorch's DCGAN example does it: D on a real batch (label 1) and on G(z)
    detached (label 0), then G on the same G(z) with label 1 (the non-saturating loss). Both in train mode.

    Args:
        G, D: the players. opt_g, opt_d: their optimizers.
        real: (N, C, 28, 28) images in [-1, 1]. z: (N, nz) noise.

    Returns:
        dict of floats: ``loss_d`` (L_D, the real and the fake term summed), ``loss_g`` (L_G), ``d_real`` (the
        mean σ(D(x))), ``d_fake`` (the mean σ(D(G(z))) before D's update).
    """
    F = nn.functional
    # D: maximise log σ(D(x)) + log(1 - σ(D(G(z))))
    opt_d.zero_grad()
    out_real = D(real)                                          # (N,)
    loss_real = F.binary_cross_entropy_with_logits(out_real, ones_like(out_real))
    loss_real.backward()
    fake = G(z)                                                 # (N, C, 28, 28)
    out_fake = D(fake.detach())                                 # (N,)
    loss_fake = F.binary_cross_entropy_with_logits(out_fake, zeros_like(out_fake))
    loss_fake.backward()
    opt_d.step()
    # G: minimise -log σ(D(G(z))) through the updated D
    opt_g.zero_grad()
    out = D(fake)
    loss_g = F.binary_cross_entropy_with_logits(out, ones_like(out))
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_real.item() + loss_fake.item(), "loss_g": loss_g.item(),
            "d_real": out_real.detach().sigmoid().mean().item(), "d_fake": out_fake.detach().sigmoid().mean().item()}


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean (d,) and the unbiased covariance (d, d) of (n, d) features, in float64."""
    f = np.asarray(features, dtype=np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(a):
    """The symmetric square root of a symmetric positive semi-definite matrix (negative round-off clipped)."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """The Fréchet distance between N(μ_1, Σ_1) and N(μ_2, Σ_2): ||μ_1 - μ_2||² + Tr Σ_1 + Tr Σ_2
    - 2 Tr((Σ_1 Σ_2)^{1/2}), in float64.

    NOTE: the trace of (Σ_1 Σ_2)^{1/2} is the sum of the square roots of the eigenvalues of the symmetric
    M = Σ_1^{1/2} Σ_2 Σ_1^{1/2} (Σ_1 Σ_2 = Σ_1^{1/2} M Σ_1^{-1/2} is similar to M): two symmetric
    eigendecompositions, no complex round-off, the same value as scipy.linalg.sqrtm's (tested).

    Returns:
        d² (a float >= 0 up to round-off; the "FID" when the features are Inception's).
    """
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    s1, s2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != mu1.shape * 2:
        raise ValueError(f"frechet_distance: means {mu1.shape}, {mu2.shape} and covariances {s1.shape}, {s2.shape} "
                         "must be (d,) and (d, d) for one d")
    r1 = _sqrt_psd(s1)
    m = r1 @ s2 @ r1
    w = np.linalg.eigvalsh((m + m.T) / 2)
    trace_sqrt = np.sqrt(np.clip(w, 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt)
