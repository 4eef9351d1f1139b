"""Autoencoders: the plain, linear, denoising, sparse and convolutional (deconvolutional) ones.

The notes' autoencoder learns f = g ∘ h, an encoder h: x -> z into a narrow code and a decoder g: z -> x̂,
by minimising the squared reconstruction error

    L = ||f(x) - x||²

over the data. Variants:

- **linear** (identity activations, no biases on centred data): the minimiser spans the top-k principal
  subspace ("if σ = I the network performs the SVD"): the decoder's columns span what PCA finds.
- **denoising** (Vincent et al. 2008): the input is corrupted (Gaussian noise or masking), the target
  stays clean: L = ||f(x̃) - x||², x̃ ~ q(x̃ | x).
- **sparse** (Ng's lecture notes): a penalty keeps the code units mostly silent, either the KL form
  β Σ_j KL(ρ || ρ̂_j) with ρ̂_j the mean activation of unit j over the batch, or the L1 form λ Σ_j |z_j|.
- **convolutional** (the zoo chart's deconvolutional network): strided convolutions encode, transposed
  convolutions decode.

Trained by the recipes ``ae``, ``linear-ae``, ``dae``, ``sae`` and ``conv-ae`` (:mod:`nnzoo.recipes.autoencoder`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from .. import nn
from ..random import Generator, rand_like, randn_like
from ..tensor import Tensor

__all__ = ["AutoencoderConfig", "Autoencoder", "LinearAutoencoder", "Corruption", "DenoisingAutoencoder",
           "SparseAutoencoder", "ConvAutoencoder", "corrupt", "kl_sparsity", "sparsity_penalty"]

_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "identity": nn.Identity}


@dataclass
class AutoencoderConfig:
    """Shape of an MLP autoencoder: ``in_features`` -> ``hidden`` ... -> ``latent`` -> ... reversed -> out.

    Args:
        in_features: pixels per image (784 for 28x28, 64 for 8x8).
        hidden: widths of the encoder's hidden layers (the decoder mirrors them).
        latent: width of the code.
        activation: of the hidden layers and the code: ``relu``, ``sigmoid``, ``tanh`` or ``identity``.
        output: of the reconstruction: ``sigmoid`` (pixels in [0, 1]) or ``identity``.
        bias: whether the Linear layers have biases.
    """

    in_features: int = 784
    hidden: tuple = (256,)
    latent: int = 32
    activation: str = "relu"
    output: str = "sigmoid"
    bias: bool = True


def _mlp(widths, activation, last, bias):
    """Linear layers through ``widths``, ``activation`` after each but the last, ``last`` after the last."""
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b, bias=bias))
        act = activation if i < len(widths) - 2 else last
        if act != "identity":
            layers.append(_ACTIVATIONS[act]())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """An MLP autoencoder: f(x) = g(h(x)), trained on the squared error ||f(x) - x||².

    The encoder is Linear -> act per hidden width, then Linear -> act to the code; the decoder mirrors it
    and ends with ``output`` (sigmoid for pixels in [0, 1]). Images are flattened on the way in and given
    back in their input shape.

    Args:
        config: an :class:`AutoencoderConfig` (or its fields as keywords).

    Shape: input (N, *) with ``in_features`` elements per sample; output the same shape.

    Example::

        >>> Autoencoder(in_features=64, hidden=(32,), latent=8)(nnzoo.rand(5, 1, 8, 8)).shape
        nnzoo.Size([5, 1, 8, 8])
    """

    def __init__(self, config: AutoencoderConfig | None = None, **kwargs) -> None:
        super().__init__()
        c = config or AutoencoderConfig(**kwargs)
        for name in (c.activation, c.output):
            if name not in _ACTIVATIONS:
                raise ValueError(f"Autoencoder: unknown activation {name!r} ({', '.join(_ACTIVATIONS)})")
        self.config = c
        widths = [c.in_features, *c.hidden, c.latent]
        self.encoder = _mlp(widths, c.activation, c.activation, c.bias)
        self.decoder = _mlp(widths[::-1], c.activation, c.output, c.bias)

    def encode(self, x: Tensor) -> Tensor:
        """The code h(x). Shape: (N, *) -> (N, latent)."""
        return self.encoder(x.reshape(x.shape[0], -1))

    def decode(self, z: Tensor) -> Tensor:
        """The reconstruction g(z), flat. Shape: (N, latent) -> (N, in_features)."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:     # (N, *)
        return self.decode(self.encode(x)).reshape(x.shape)  # (N, *)


class LinearAutoencoder(Autoencoder):
    """The linear autoencoder f(x) = W_d W_e x: identity activations, no biases (the data are centred).

    Minimising Σ_i ||W_d W_e x_i - x_i||² over centred data is PCA: at the minimum W_d's columns span the
    top-k principal subspace (Baldi & Hornik 1989), though they need not be orthonormal or ordered.

    Args:
        in_features: pixels per image.
        latent: k, the dimension of the code.

    Example::

        >>> LinearAutoencoder(64, 10).decoder[0].weight.shape
        nnzoo.Size([64, 10])
    """

    def __init__(self, in_features: int = 784, latent: int = 10) -> None:
        super().__init__(AutoencoderConfig(in_features=in_features, hidden=(), latent=latent,
                                           activation="identity", output="identity", bias=False))

    @property
    def decoder_weight(self) -> Tensor:
        """W_d, (in_features, latent): its columns span the learned subspace."""
        return self.decoder[0].weight


def corrupt(x: Tensor, kind: str, level: float, generator: Generator | None = None) -> Tensor:
    """A corrupted copy x̃ of ``x``: ``gaussian``: x + ε with ε ~ N(0, level²) (not clipped); ``masking``:
    each pixel set to 0 with probability ``level`` (the masking noise of Vincent et al. 2008).

    Example::

        >>> corrupt(nnzoo.ones(2, 3), "masking", 0.0).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    if kind == "gaussian":
        return x + level * randn_like(x, generator=generator)
    if kind == "masking":
        keep = (rand_like(x, generator=generator) >= level).to(x.dtype)
        return x * keep
    raise ValueError(f"corrupt: unknown corruption {kind!r} (gaussian, masking)")


class Corruption(nn.Module):
    """:func:`corrupt` as a layer: corrupts in training mode, passes the input through in eval mode.

    Args:
        kind: ``gaussian`` or ``masking``.
        level: the noise's standard deviation (gaussian) or the masked fraction (masking).
    """

    def __init__(self, kind: str = "gaussian", level: float = 0.5) -> None:
        super().__init__()
        if kind not in ("gaussian", "masking"):
            raise ValueError(f"Corruption: unknown kind {kind!r} (gaussian, masking)")
        if kind == "masking" and not 0 <= level < 1:
            raise ValueError(f"Corruption: masking level must be in [0, 1), got {level}")
        if kind == "gaussian" and level < 0:
            raise ValueError(f"Corruption: gaussian level must be >= 0, got {level}")
        self.kind, self.level = kind, level

    def forward(self, x: Tensor) -> Tensor:
        return corrupt(x, self.kind, self.level) if self.training else x

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, level={self.level}"


class DenoisingAutoencoder(Autoencoder):
    """An autoencoder that reconstructs clean x from a corrupted x̃: L = ||f(x̃) - x||².

    In training mode ``forward`` corrupts its input first (a :class:`Corruption` layer); in eval mode it
    reconstructs what it is given (corrupt test inputs yourself with :func:`corrupt` to measure denoising).

    Args:
        config: an :class:`AutoencoderConfig`.
        corruption: ``gaussian`` or ``masking``.
        level: noise standard deviation, or masked fraction.

    Example::

        >>> m = DenoisingAutoencoder(AutoencoderConfig(in_features=64, hidden=(32,), latent=8), "masking", 0.3)
        >>> m(nnzoo.rand(5, 64)).shape
        nnzoo.Size([5, 64])
    """

    def __init__(self, config: AutoencoderConfig | None = None, corruption: str = "gaussian",
                 level: float = 0.5) -> None:
        super().__init__(config)
        self.corruption = Corruption(corruption, level)

    def forward(self, x: Tensor) -> Tensor:            # (N, *) clean
        return super().forward(self.corruption(x))      # (N, *)


def kl_sparsity(rho: float, rho_hat: Tensor, eps: float = 1e-7) -> Tensor:
    """Σ_j KL(ρ || ρ̂_j) = Σ_j [ρ log(ρ / ρ̂_j) + (1 - ρ) log((1 - ρ) / (1 - ρ̂_j))], the KL divergence between
    Bernoulli(ρ) and Bernoulli(ρ̂_j) summed over the units j.

    d/dρ̂_j = -ρ/ρ̂_j + (1 - ρ)/(1 - ρ̂_j): zero at ρ̂_j = ρ.

    NOTE: ρ̂ is clamped to [eps, 1 - eps] so that a saturated sigmoid unit gives a large finite penalty and
    gradient, not inf/NaN; inside the clamp the value and gradient are exact.

    Args:
        rho: the target mean activation ρ in (0, 1).
        rho_hat: the units' mean activations, in (0, 1). Shape (H,).

    Returns:
        a scalar tensor.
    """
    r = rho_hat.clamp(eps, 1 - eps)
    return (rho * (rho / r).log() + (1 - rho) * ((1 - rho) / (1 - r)).log()).sum()


def sparsity_penalty(code: Tensor, kind: str, rho: float = 0.05, weight: float = 3.0) -> Tensor:
    """The sparse autoencoder's penalty on a batch of codes (N, H).

    ``kl``: weight · Σ_j KL(ρ || ρ̂_j) with ρ̂_j = mean_n code[n, j] (codes in (0, 1), a sigmoid layer);
    ``l1``: weight · mean_n Σ_j |code[n, j]|.
    """
    if kind == "kl":
        return weight * kl_sparsity(rho, code.mean(0))
    if kind == "l1":
        return weight * code.abs().sum(1).mean()
    raise ValueError(f"sparsity_penalty: unknown kind {kind!r} (kl, l1)")


class SparseAutoencoder(Autoencoder):
    """A one-hidden-layer autoencoder with a sparsity penalty on its code:
    L = ||f(x) - x||² + penalty(h(x)) (see :func:`sparsity_penalty`).

    The code layer is a sigmoid for the KL form (ρ̂_j must be a probability) and a ReLU for the L1 form;
    the decoder is Linear -> sigmoid. ``forward_with_code`` gives both the reconstruction and the code,
    ``penalty`` the sparsity term of a code batch.

    Args:
        in_features: pixels per image.
        hidden: code units (the learned features: ``encoder[0].weight`` rows are the filters).
        sparsity: ``kl`` or ``l1``.
        rho: target mean activation (KL form).
        weight: β (KL form) or λ (L1 form).

    Example::

        >>> m = SparseAutoencoder(64, 16, "kl", rho=0.05, weight=3.0)
        >>> x = nnzoo.rand(5, 64); y, z = m.forward_with_code(x); (y.shape, z.shape)
        (nnzoo.Size([5, 64]), nnzoo.Size([5, 16]))
    """

    def __init__(self, in_features: int = 784, hidden: int = 196, sparsity: str = "kl", rho: float = 0.05,
                 weight: float = 3.0) -> None:
        if sparsity not in ("kl", "l1"):
            raise ValueError(f"SparseAutoencoder: unknown sparsity {sparsity!r} (kl, l1)")
        super().__init__(AutoencoderConfig(in_features=in_features, hidden=(), latent=hidden,
                                           activation="sigmoid" if sparsity == "kl" else "relu", output="sigmoid"))
        self.sparsity, self.rho, self.weight = sparsity, rho, weight

    def forward_with_code(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(reconstruction in x's shape, code (N, hidden))."""
        z = self.encode(x)
        return self.decode(z).reshape(x.shape), z

    def penalty(self, code: Tensor) -> Tensor:
        """The sparsity term of a batch of codes (N, hidden)."""
        return sparsity_penalty(code, self.sparsity, self.rho, self.weight)

    def extra_repr(self) -> str:
        return f"sparsity={self.sparsity!r}, rho={self.rho}, weight={self.weight}"


class ConvAutoencoder(nn.Module):
    """The deconvolutional network: a convolutional encoder and a transposed-convolution decoder.

    Encoder: Conv2d(1, c1, 3, stride 2, padding 1) -> ReLU -> Conv2d(c1, c2, 3, stride 2, padding 1) -> ReLU
    -> Conv2d(c2, latent, side/4) (a (latent, 1, 1) code); the decoder mirrors it with ConvTranspose2d
    (output_padding 1 undoes the strided convolutions' rounding) and ends with a sigmoid.

    Args:
        side: image side, a multiple of 4 (28, 8).
        channels: (c1, c2).
        latent: code channels.

    Shape: input (N, 1, side, side); output the same.

    Example::

        >>> ConvAutoencoder(8, (4, 8), 6)(nnzoo.rand(2, 1, 8, 8)).shape
        nnzoo.Size([2, 1, 8, 8])
    """

    def __init__(self, side: int = 28, channels: tuple = (16, 32), latent: int = 64) -> None:
        super().__init__()
        if side % 4:
            raise ValueError(f"ConvAutoencoder: side must be a multiple of 4, got {side}")
        c1, c2 = channels
        k = side // 4
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, stride=2, padding=1), nn.ReLU(),        # (N, c1, side/2, side/2)
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),       # (N, c2, side/4, side/4)
            nn.Conv2d(c2, latent, k))                                   # (N, latent, 1, 1)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(latent, c2, k), nn.ReLU(),                                  # (N, c2, side/4, side/4)
            nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # (N, c1, side/2, ..)
            nn.ConvTranspose2d(c1, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())  # (N, 1, side, side)

    def encode(self, x: Tensor) -> Tensor:
        """The code, (N, 1, side, side) -> (N, latent, 1, 1)."""
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """The reconstruction, (N, latent, 1, 1) -> (N, 1, side, side)."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:    # (N, 1, side, side)
        return self.decode(self.encode(x))     # (N, 1, side, side)
