"""Capsule network: Sabour, Frosst and Hinton, "Dynamic routing between capsules", NeurIPS 2017.

A capsule is a group of neurons whose activity vector stands for one entity: its length is the probability
that the entity is present, its orientation the entity's instantiation parameters (pose, width, stroke...).
The network, top-down:

1. ``conv1``: a 9x9 convolution with ReLU (28x28 -> 20x20).
2. ``primary``: the primary capsules, a 9x9 stride-2 convolution (20x20 -> 6x6) whose ``types x dim``
   output channels are read as ``types`` maps of ``dim``-D vectors, 6 x 6 x types capsules u_i, squashed.
3. ``digit``: one ``out_dim``-D capsule per class. Each pair (i, j) has its own matrix W_ij that turns u_i
   into a prediction u_hat_{j|i} = W_ij u_i; the routing by agreement (:func:`dynamic_routing`) weighs the
   predictions: c_ij = softmax_j(b_ij), s_j = sum_i c_ij u_hat_{j|i}, v_j = squash(s_j),
   b_ij += u_hat_{j|i} . v_j, three times.
4. the class scores are the lengths ||v_j||; the margin loss (:func:`margin_loss`) trains them.
5. ``decoder``: three fully connected layers (512, 1024, 784 sigmoid) reconstruct the image from the
   digit capsules with all but one masked out: the true class's in training, the longest at test time; its
   sum of squared errors, scaled by 0.0005, is added to the loss (:meth:`CapsNet.loss`).

Perturbing one dimension of the winning capsule and decoding (:func:`perturb_dimensions`) shows what that
dimension encodes (the paper's Figure 4).
"""
from __future__ import annotations

from dataclasses import dataclass

import nnzoo

from .. import nn
from ..tensor import Tensor

__all__ = ["CapsNet", "CapsNetConfig", "squash", "dynamic_routing", "margin_loss", "perturb_dimensions"]

F = nn.functional


def squash(s: Tensor, dim: int = -1, eps: float = 1e-8) -> Tensor:
    """The capsule nonlinearity v = (|s|^2 / (1 + |s|^2)) s / |s|: short vectors shrink to ~0, long ones to
    just under unit length; the orientation is kept.

    NOTE: |s| is computed as sqrt(|s|^2 + eps) so that the gradient at s = 0 is finite.

    Args:
        s: the capsules' total inputs. dim: the capsule vectors' axis. eps: see the note.

    Returns:
        v, the same shape as ``s``, every vector of length < 1.
    """
    sq = (s * s).sum(dim=dim, keepdim=True)
    return s * (sq / (1.0 + sq) / (sq + eps).sqrt())


def dynamic_routing(u_hat: Tensor, iterations: int = 3) -> tuple[Tensor, Tensor]:
    """Routing by agreement (Sabour et al. 2017, Procedure 1).

    b_ij = 0; repeated ``iterations`` times::

        c_ij = softmax_j(b_ij)                    # each input capsule shares itself among the outputs
        s_j  = sum_i c_ij u_hat_{j|i}
        v_j  = squash(s_j)
        b_ij = b_ij + u_hat_{j|i} . v_j           # (all but the last time) agreement raises the coupling

    Gradients flow through every iteration (through the coupling coefficients too), as in the paper's
    TensorFlow code.

    NOTE: the sums over i and over the capsule dimension are batched matmuls on u_hat laid out
    (B, N_out, N_in, D), not broadcast products such as (c[..., None] * u_hat).sum(1): measured on a CapsNet
    with 576 primary capsules (64-channel conv1, 16 types), batch 64, one thread, a training step took 0.34 s
    instead of 0.45 s (the broadcast products and their backward were 40% of the step).

    Args:
        u_hat: (B, N_in, N_out, D) the predictions u_hat_{j|i} = W_ij u_i.
        iterations: r, the routing iterations (>= 1; the paper uses 3).

    Returns:
        (v, c): the output capsules (B, N_out, D) and the last coupling coefficients (B, N_in, N_out).

    Example::

        >>> v, c = dynamic_routing(nnzoo.randn(2, 6, 3, 4), 3)
        >>> tuple(v.shape), tuple(c.shape)
        ((2, 3, 4), (2, 6, 3))
    """
    if iterations < 1:
        raise ValueError(f"dynamic_routing: iterations must be >= 1, got {iterations}")
    if u_hat.dim() != 4:
        raise ValueError(f"dynamic_routing: u_hat must be (B, N_in, N_out, D), got shape {tuple(u_hat.shape)}")
    B, N, K, _ = u_hat.shape
    u = u_hat.permute(0, 2, 1, 3).contiguous()                          # (B, K, N_in, D)
    b = nnzoo.zeros(B, K, 1, N, dtype=u_hat.dtype)                      # (B, K, 1, N_in) the logits b_ij
    for r in range(iterations):
        c = F.softmax(b, dim=1)                                         # over the output capsules
        s = c.matmul(u)                                                 # (B, K, 1, D) = sum_i c_ij u_hat_j|i
        v = squash(s)
        if r < iterations - 1:
            b = b + v.matmul(u.transpose(2, 3))                         # (B, K, 1, N_in) += u_hat_j|i . v_j
    v, c = v.squeeze(2), c.squeeze(2).transpose(1, 2)                   # (B, K, D), (B, N_in, K)
    return v, c


def margin_loss(lengths: Tensor, target: Tensor, m_plus: float = 0.9, m_minus: float = 0.1,
                lam: float = 0.5) -> Tensor:
    """The margin loss L = sum_k T_k max(0, m+ - |v_k|)^2 + lambda (1 - T_k) max(0, |v_k| - m-)^2, averaged
    over the batch (T_k = 1 for the true class).

    Args:
        lengths: (B, K) the output capsules' lengths. target: (B,) int class indices.
        m_plus, m_minus, lam: the paper's 0.9, 0.1 and 0.5 (lambda down-weights the absent classes).

    Returns:
        a scalar.
    """
    t = F.one_hot(target, lengths.shape[1]).to(lengths.dtype)          # (B, K)
    present = F.relu(m_plus - lengths) ** 2
    absent = F.relu(lengths - m_minus) ** 2
    return (t * present + lam * (1.0 - t) * absent).sum(dim=1).mean()


@dataclass
class CapsNetConfig:
    """Sizes of :class:`CapsNet` (the paper's in the comments)."""

    in_channels: int = 1
    image_size: int = 28
    conv_channels: int = 256        # conv1's maps (paper 256)
    kernel_size: int = 9            # conv1's and the primary capsules' kernel (paper 9)
    primary_types: int = 32         # primary capsule maps (paper 32)
    primary_dim: int = 8            # primary capsule length (paper 8)
    num_classes: int = 10
    out_dim: int = 16               # digit capsule length (paper 16)
    routing_iterations: int = 3     # paper 3
    decoder_hidden: tuple = (512, 1024)
    recon_weight: float = 0.0005    # the reconstruction loss's scale (paper 0.0005, sum of squared errors)
    m_plus: float = 0.9
    m_minus: float = 0.1
    lam: float = 0.5


class CapsNet(nn.Module):
    """The three-layer CapsNet with its reconstruction decoder (see the module docstring for the layers).

    Args:
        config (CapsNetConfig, optional): the sizes; keyword arguments override its fields.

    ``forward(x, target=None)`` returns ``(lengths, v, reconstruction)``: (B, K) class scores, (B, K, out_dim)
    digit capsules and (B, C*H*W) the decoder's image of the capsule of ``target`` (or, without a target,
    of the longest capsule).

    Shape: input (B, in_channels, image_size, image_size) in [0, 1].

    Example::

        >>> net = CapsNet(conv_channels=16, primary_types=4)
        >>> lengths, v, recon = net(nnzoo.rand(2, 1, 28, 28))
        >>> tuple(lengths.shape), tuple(v.shape), tuple(recon.shape)
        ((2, 10), (2, 10, 16), (2, 784))
    """

    def __init__(self, config: CapsNetConfig | None = None, **kwargs) -> None:
        super().__init__()
        c = config or CapsNetConfig()
        if kwargs:
            c = CapsNetConfig(**{**c.__dict__, **kwargs})
        self.config = c
        k = c.kernel_size
        size1 = c.image_size - k + 1                                    # conv1, stride 1
        self.grid = (size1 - k) // 2 + 1                                # primary, stride 2
        if self.grid < 1:
            raise ValueError(f"CapsNet: a {c.image_size}x{c.image_size} input is too small for two {k}x{k} "
                             "convolutions (the second with stride 2)")
        self.num_primary = c.primary_types * self.grid * self.grid
        self.conv1 = nn.Conv2d(c.in_channels, c.conv_channels, k)
        self.primary = nn.Conv2d(c.conv_channels, c.primary_types * c.primary_dim, k, stride=2)
        # W_ij: one (out_dim x primary_dim) matrix per (primary capsule, class) pair, stored as
        # (N_in, primary_dim, K * out_dim) for one batched matmul
        self.W = nn.Parameter(nnzoo.empty(self.num_primary, c.primary_dim, c.num_classes * c.out_dim))
        h1, h2 = c.decoder_hidden
        pixels = c.in_channels * c.image_size * c.image_size
        self.decoder = nn.Sequential(nn.Linear(c.num_classes * c.out_dim, h1), nn.ReLU(),
                                     nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, pixels), nn.Sigmoid())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """W ~ N(0, 0.01^2) (the paper's TensorFlow code); the layers keep PyTorch's initialisation."""
        nn.init.normal_(self.W, std=0.01)

    def capsules(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The digit capsules of images ``x``: (v (B, K, out_dim), coupling coefficients (B, N_in, K))."""
        c = self.config
        B = x.shape[0]
        h = F.relu(self.conv1(x))                                       # (B, C1, 20, 20)
        p = self.primary(h)                                             # (B, T*D, 6, 6)
        p = p.reshape(B, c.primary_types, c.primary_dim, self.grid, self.grid)
        u = p.permute(0, 1, 3, 4, 2).reshape(B, self.num_primary, c.primary_dim)   # (B, N_in, D)
        u = squash(u)
        # u_hat_{j|i} = W_ij u_i for every pair: batched over i, (N_in, B, D) @ (N_in, D, K*out)
        u_hat = u.transpose(0, 1).matmul(self.W)                        # (N_in, B, K*out)
        u_hat = u_hat.transpose(0, 1).reshape(B, self.num_primary, c.num_classes, c.out_dim)
        return dynamic_routing(u_hat, c.routing_iterations)             # (B, K, out), (B, N_in, K)

    def decode(self, v: Tensor, labels: Tensor) -> Tensor:
        """The decoder's image (B, C*H*W) of the capsules ``v`` (B, K, out_dim) with all but ``labels``'s masked."""
        mask = F.one_hot(labels, self.config.num_classes).to(v.dtype).unsqueeze(-1)  # (B, K, 1)
        return self.decoder((v * mask).flatten(1))

    def forward(self, x: Tensor, target: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        v, _ = self.capsules(x)                                         # (B, K, out)
        lengths = (v * v).sum(dim=-1).sqrt()                            # (B, K); |v| < 1, > 0 after squash
        labels = target if target is not None else lengths.detach().argmax(dim=1)
        return lengths, v, self.decode(v, labels)

    def loss(self, x: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Margin loss + recon_weight x (sum of squared errors of the reconstruction, mean over the batch),
        the decoder masked by the true class.

        Returns:
            (total loss, margin loss, the class scores (B, K) detached).
        """
        c = self.config
        lengths, _, recon = self(x, target)
        margin = margin_loss(lengths, target, c.m_plus, c.m_minus, c.lam)
        sse = ((recon - x.flatten(1)) ** 2).sum(dim=1).mean()
        return margin + c.recon_weight * sse, margin, lengths.detach()


def perturb_dimensions(model: CapsNet, x: Tensor, steps: tuple = (-0.25, -0.2, -0.15, -0.1, -0.05, 0.0, 0.05,
                                                                    0.1, 0.15, 0.2, 0.25)) -> Tensor:
    """The paper's Figure 4: each dimension of the winning capsule of one image nudged by each of ``steps``
    (the others kept), decoded.

    Args:
        model: a trained :class:`CapsNet`. x: one image (1, C, H, W).
        steps: the offsets added to the dimension (default: -0.25 to 0.25 by 0.05).

    Returns:
        (out_dim, len(steps), C*H*W) the reconstructions, row d for dimension d.
    """
    with nnzoo.no_grad():
        v, _ = model.capsules(x)                                        # (1, K, out)
        label = (v * v).sum(dim=-1).argmax(dim=1)                       # (1,)
        D, S = v.shape[2], len(steps)
        delta = nnzoo.zeros(D, S, D)
        for d in range(D):
            for s, step in enumerate(steps):
                delta[d, s, d] = step
        batch = v.expand(D * S, *v.shape[1:]).clone()                  # (D*S, K, out)
        batch[:, label.item()] = batch[:, label.item()] + delta.reshape(D * S, D)
        out = model.decode(batch, label.expand(D * S))
    return out.reshape(D, S, -1)
