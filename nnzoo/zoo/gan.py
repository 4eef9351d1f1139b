"""Generative adversarial networks (Goodfellow et al. 2014) on 2-D mixtures, and PacGAN's packed discriminator
(Lin et al. 2018), with the mode-collapse metrics of VEEGAN (Srivastava et al. 2017) and PacGAN.

The notes' game: L(θ, φ) = −[E_x log D_φ(x) + E_z log(1 − D_φ(G_θ(z)))], the discriminator minimising L over φ,
the generator maximising it over θ (``generator_loss(..., "minimax")``), or, as everyone trains it, minimising
−E_z log D_φ(G_θ(z)) instead (the non-saturating loss, ``"nonsaturating"``), the two updates alternating
(:func:`train_gan`). D outputs a logit a and D = σ(a), so every log is a softplus: −log σ(a) = softplus(−a),
−log(1 − σ(a)) = softplus(a), written as BCE-with-logits (stable for any |a|).

PacGAN: the discriminator judges ``pack`` samples at once, all real or all generated, concatenated along the
feature axis (:func:`pack_samples`); nothing else changes. A collapsed generator's packs hold repeated modes,
which a packed discriminator can see.

The models (PacGAN's synthetic setting, its released code): generator z (2-d, N(0, I)) → 4 × [Linear(400, no
bias) → BatchNorm → ReLU] → Linear → x (2-d); discriminator 3 × Maxout(200 units, 5 pieces) → Linear → logit,
weights N(0, 0.02²), biases 0. Data: a ring of 8 Gaussians (radius 1, σ 0.01) or a grid of 25 (σ 0.05).

Trained by the recipes ``gan-ring``, ``gan-grid``, ``pacgan-ring``, ``pacgan-grid`` (:mod:`nnzoo.recipes.gan`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..nn import functional as F

__all__ = ["GANConfig", "Maxout", "MLPGenerator", "MaxoutDiscriminator", "GAN", "discriminator_loss", "generator_loss",
           "pack_samples", "train_gan", "ring_modes", "grid_modes", "sample_mixture", "mode_metrics"]


@dataclass
class GANConfig:
    """The 2-D GAN's sizes (defaults: PacGAN's synthetic experiments)."""
    z_dim: int = 2              # noise dimension (N(0, I))
    x_dim: int = 2              # data dimension
    g_hidden: int = 400         # generator width
    g_layers: int = 4           # generator hidden layers
    batch_norm: bool = True     # BatchNorm before each generator ReLU (PacGAN's code)
    d_hidden: int = 200         # discriminator maxout units per layer
    d_layers: int = 3           # discriminator maxout layers
    pieces: int = 5             # maxout pieces
    pack: int = 1               # PacGAN's packing degree m (1: the plain GAN)
    init_std: float = 0.02      # weights N(0, init_std²), biases 0 (PacGAN's IsotropicGaussian(0.02))


# ---- layers and losses ----------------------------------------------------------------------------------

class Maxout(nn.Module):
    """Maxout (Goodfellow et al. 2013): h_j = max_{i < k} (W x + b)_{j·k + i}, one Linear to ``out·k`` units
    then the maximum over each unit's ``k`` consecutive pieces (the layout of Blocks' LinearMaxout).

    The gradient reaches only the winning piece of each unit (``max`` over a dimension: one index per unit,
    as ``torch.max(dim)``).

    Args:
        in_features: input size.
        out_features: number of maxout units.
        pieces: pieces per unit k.

    Shape: input (N, in_features); output (N, out_features). ``state_dict``: ``linear.weight``
    (out·k, in), ``linear.bias`` (out·k).

    Example::

        >>> Maxout(3, 4, 5)(nnzoo.zeros(2, 3)).shape
        nnzoo.Size([2, 4])
    """

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be >= 1, got {pieces}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x):                                               # (N, in)
        y = self.linear(x)                                              # (N, out·k)
        return y.view(x.shape[0], self.out_features, self.pieces).max(dim=-1)[0]   # (N, out)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}"


def discriminator_loss(real_logits, fake_logits):
    """The notes' L = −[E_x log D(x) + E_z log(1 − D(G(z)))] with D = σ(logit): BCE-with-logits of the real
    logits against 1 plus that of the generated ones against 0 (each a mean over its batch).

    Args:
        real_logits: D's logits on real samples (or packs), any shape.
        fake_logits: D's logits on generated samples (or packs).

    Returns:
        the scalar loss the discriminator minimises (2 log 2 when D answers 1/2 everywhere).
    """
    real = F.binary_cross_entropy_with_logits(real_logits, real_logits.new_ones(real_logits.shape))
    fake = F.binary_cross_entropy_with_logits(fake_logits, fake_logits.new_zeros(fake_logits.shape))
    return real + fake


def generator_loss(fake_logits, kind: str = "nonsaturating"):
    """The generator's loss on D's logits for its samples.

    ``"minimax"``: the notes' game, E_z log(1 − D(G(z))) minimised (= −BCE(logits, 0)); its gradient vanishes
    where D confidently rejects the samples, early in training. ``"nonsaturating"`` (Goodfellow et al. 2014,
    §3): −E_z log D(G(z)) (= BCE(logits, 1)), the same fixed point with strong gradients where D rejects.

    Args:
        fake_logits: D's logits on generated samples.
        kind: ``"nonsaturating"`` or ``"minimax"``.
    """
    if kind == "nonsaturating":
        return F.binary_cross_entropy_with_logits(fake_logits, fake_logits.new_ones(fake_logits.shape))
    if kind == "minimax":
        return -F.binary_cross_entropy_with_logits(fake_logits, fake_logits.new_zeros(fake_logits.shape))
    raise ValueError(f"generator_loss: kind must be 'nonsaturating' or 'minimax', got {kind!r}")


def pack_samples(x, pack: int):
    """PacGAN's packing: ``pack`` consecutive samples joined along the feature (or channel) axis.

    Args:
        x: (pack·B, d) vectors or (pack·B, C, H, W) images.
        pack: the packing degree m.

    Returns:
        (B, m·d) or (B, m·C, H, W); pack 1 returns ``x``.
    """
    if pack == 1:
        return x
    n = x.shape[0]
    if n % pack:
        raise ValueError(f"pack_samples: {n} samples do not split into packs of {pack}")
    rest = tuple(x.shape[1:])
    return x.reshape(n // pack, pack * rest[0], *rest[1:])


# ---- the 2-D models -------------------------------------------------------------------------------------

def _init_normal(module: nn.Module, std: float) -> None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class MLPGenerator(nn.Module):
    """G(z): ``g_layers`` × [Linear → BatchNorm1d (momentum 0.05, PacGAN's population update) → ReLU], then a
    linear output layer; the hidden Linears have no bias when followed by BatchNorm.

    Shape: z (N, z_dim) → x (N, x_dim).

    Example::

        >>> MLPGenerator(GANConfig(g_hidden=8))(nnzoo.randn(4, 2)).shape
        nnzoo.Size([4, 2])
    """

    def __init__(self, config: GANConfig | None = None) -> None:
        super().__init__()
        c = self.config = config or GANConfig()
        layers, width = [], c.z_dim
        for _ in range(c.g_layers):
            layers.append(nn.Linear(width, c.g_hidden, bias=not c.batch_norm))
            if c.batch_norm:
                layers.append(nn.BatchNorm1d(c.g_hidden, momentum=0.05))
            layers.append(nn.ReLU())
            width = c.g_hidden
        layers.append(nn.Linear(width, c.x_dim))
        self.net = nn.Sequential(*layers)
        _init_normal(self, c.init_std)

    def forward(self, z):           # (N, z_dim)
        return self.net(z)          # (N, x_dim)


class MaxoutDiscriminator(nn.Module):
    """D(x_1, ..., x_m): the m samples of a pack concatenated, ``d_layers`` maxout layers, a linear logit.

    Shape: packs (B, m·x_dim) → logits (B, 1).

    Example::

        >>> MaxoutDiscriminator(GANConfig(d_hidden=8, pack=2))(nnzoo.zeros(3, 4)).shape
        nnzoo.Size([3, 1])
    """

    def __init__(self, config: GANConfig | None = None) -> None:
        super().__init__()
        c = self.config = config or GANConfig()
        layers, width = [], c.x_dim * c.pack
        for _ in range(c.d_layers):
            layers.append(Maxout(width, c.d_hidden, c.pieces))
            width = c.d_hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        _init_normal(self, c.init_std)

    def forward(self, packs):       # (B, m·x_dim)
        return self.net(packs)      # (B, 1)


class GAN(nn.Module):
    """The pair: ``generator`` (:class:`MLPGenerator`) and ``discriminator`` (:class:`MaxoutDiscriminator`,
    packed when ``config.pack`` > 1); ``sample`` draws from G.

    Example::

        >>> GAN(GANConfig(g_hidden=8, d_hidden=8)).sample(5).shape
        nnzoo.Size([5, 2])
    """

    def __init__(self, config: GANConfig | None = None) -> None:
        super().__init__()
        self.config = config or GANConfig()
        self.generator = MLPGenerator(self.config)
        self.discriminator = MaxoutDiscriminator(self.config)

    def forward(self, z):                           # (N, z_dim)
        return self.generator(z)                    # (N, x_dim)

    def sample(self, n: int, generator=None, batch_stats: bool = True):
        """n samples of G(z), z ~ N(0, I) drawn with ``generator`` (an ``nnzoo.Generator``).

        ``batch_stats``: BatchNorm normalises with the statistics of these n samples, as in training (the
        running statistics are left as they were); False: eval mode, the running statistics.

        NOTE: measured on the ring after 1,200 steps at lr 3e-4: eval mode (running averages, momentum 0.05,
        lagging the moving weights) 17% high-quality samples, batch statistics of 2,500 samples 54%.
        """
        from .. import no_grad, randn
        was = self.generator.training
        kept = {k: v.clone() for k, v in self.generator.state_dict().items() if "running" in k or "batches" in k}
        self.generator.train(batch_stats)
        with no_grad():
            x = self.generator(randn(n, self.config.z_dim, generator=generator))
        self.generator.load_state_dict({**self.generator.state_dict(), **kept})
        self.generator.train(was)
        return x


# ---- training -------------------------------------------------------------------------------------------

def train_gan(generator: nn.Module, discriminator: nn.Module, sample_real: Callable, sample_noise: Callable, *,
              steps: int, batch_size: int, opt_g, opt_d, pack: int = 1, g_loss: str = "nonsaturating",
              d_steps: int = 1, callback: Callable | None = None, log_every: int = 50) -> dict:
    """Alternating GAN training, packed or not: per step, ``d_steps`` discriminator updates on
    ``discriminator_loss`` (real packs vs generated packs, G's output detached), then one generator update on
    ``generator_loss`` through the updated D.

    Each step draws ``pack · batch_size`` real samples and as many noise vectors; the discriminator sees
    ``batch_size`` packs of each kind (PacGAN: "everything else equal", the batch is counted in packs).
    Works for any shapes: images are packed along channels (:func:`pack_samples`).

    Args:
        generator, discriminator: the two modules (D returns logits).
        sample_real: ``n -> Tensor`` of n real samples (fresh each call).
        sample_noise: ``n -> Tensor`` of n noise vectors.
        steps: generator updates.
        batch_size: packs per batch (samples when pack = 1).
        opt_g, opt_d: optimizers over G's and D's parameters.
        pack: packing degree m.
        g_loss: ``"nonsaturating"`` or ``"minimax"`` (:func:`generator_loss`).
        d_steps: discriminator updates per generator update.
        callback: ``callback(step, history)`` after each step (step counts from 1); snapshots, progress.
        log_every: steps between the history's entries (means over the steps since the last entry).

    Returns:
        history: ``{"step", "d_loss", "g_loss", "d_real", "d_fake"}`` lists (``d_real``/``d_fake``: D's mean
        probability on real and generated packs).
    """
    from .. import no_grad
    history = {"step": [], "d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
    acc = np.zeros(4)
    seen = 0
    n = pack * batch_size
    generator.train()
    discriminator.train()
    for step in range(1, steps + 1):
        for _ in range(d_steps):
            real = pack_samples(sample_real(n), pack)
            fake = generator(sample_noise(n))
            real_logits = discriminator(real)
            fake_logits = discriminator(pack_samples(fake.detach(), pack))
            d_loss = discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
        fake_logits = discriminator(pack_samples(fake, pack))
        gl = generator_loss(fake_logits, g_loss)
        opt_g.zero_grad()
        gl.backward()
        opt_g.step()
        with no_grad():
            acc += (d_loss.item(), gl.item(), real_logits.sigmoid().mean().item(),
                    fake_logits.sigmoid().mean().item())
        seen += 1
        if step % log_every == 0 or step == steps:
            history["step"].append(step)
            for key, value in zip(("d_loss", "g_loss", "d_real", "d_fake"), acc / seen):
                history[key].append(float(value))
            acc[:] = 0
            seen = 0
        if callback is not None:
            callback(step, history)
    return history


# ---- the 2-D mixtures and their metrics -----------------------------------------------------------------

def ring_modes(k: int = 8, radius: float = 1.0) -> np.ndarray:
    """The centres of ``k`` Gaussians evenly on a circle: radius · (cos 2πi/k, sin 2πi/k); (k, 2)."""
    angle = 2 * math.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angle), np.sin(angle)], 1)


def grid_modes(values: tuple = (-4, -2, 0, 2, 4)) -> np.ndarray:
    """The centres of the grid mixture, every pair of ``values`` ({−4, −2, 0, 2, 4}²: 25); (len², 2)."""
    v = np.asarray(values, dtype=np.float64)
    return np.stack(np.meshgrid(v, v, indexing="ij"), -1).reshape(-1, 2)


def sample_mixture(modes: np.ndarray, sigma: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of the equal-weight mixture of N(μ_i, σ² I) over the rows μ_i of ``modes``; float32 (n, d)."""
    which = rng.integers(0, len(modes), n)
    return (modes[which] + sigma * rng.standard_normal((n, modes.shape[1]))).astype(np.float32)


def mode_metrics(samples, modes: np.ndarray, sigma: float, min_count: int = 1) -> dict:
    """VEEGAN's and PacGAN's mode-collapse metrics of generated samples.

    A sample is *high quality* when it lies within 3σ of its nearest mode (Euclidean distance ≤ 3σ). The mode
    histogram counts the high-quality samples of each mode. A mode is *captured* when its count is at least
    ``min_count``; reverse KL is KL(p ‖ u) = Σ_i p_i log(p_i K) between the normalised histogram p and the
    uniform u over the K modes (0 for an even spread, log K for one mode).

    NOTE: PacGAN's released metric code (``MetricLogger``) counts a mode captured with one high-quality sample
    of 2,500 (``min_count=1``); that is the default.

    Args:
        samples: (n, d) array (or Tensor) of generated points.
        modes: (K, d) centres.
        sigma: the modes' standard deviation.
        min_count: high-quality samples a mode needs to count as captured.

    Returns:
        ``{"modes": int, "high_quality": share in [0, 1], "reverse_kl": float (inf when no sample is of high
        quality), "counts": [K ints]}``.
    """
    x = np.asarray(samples.numpy() if hasattr(samples, "numpy") else samples, dtype=np.float64)
    d = np.sqrt(((x[:, None, :] - modes[None, :, :]) ** 2).sum(-1))       # (n, K)
    nearest = d.argmin(1)
    good = d[np.arange(len(x)), nearest] <= 3 * sigma
    counts = np.bincount(nearest[good], minlength=len(modes))
    total = counts.sum()
    if total:
        p = counts[counts > 0] / total
        reverse_kl = float((p * np.log(p * len(modes))).sum())
    else:
        reverse_kl = math.inf
    return {"modes": int((counts >= min_count).sum()), "high_quality": float(good.mean()) if len(x) else 0.0,
            "reverse_kl": reverse_kl, "counts": counts.tolist()}
