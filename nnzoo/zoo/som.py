"""Kohonen's self-organising map (KN, Kohonen 1982): a grid of units, each with a weight vector in input space,
trained by competitive learning so that neighbouring units come to respond to neighbouring inputs.

The rule, one sample x at a time (step t of T):

1. the best-matching unit (BMU) c = argmin_u ||x - w_u||;
2. every unit u moves towards x by its neighbourhood weight around c on the grid::

       w_u <- w_u + lr(t) h(u, c; sigma(t)) (x - w_u)

   with h Gaussian, exp(-(dx^2 + dy^2) / (2 sigma^2)), or triangular, max(0, sigma - |dx|) max(0, sigma - |dy|)
   (dx, dy the grid offsets of u from c), or a bubble (1 within sigma, else 0);
3. sigma and lr decay: ``asymptotic`` p(t) = p0 / (1 + 2t / T) (to a third of p0, MiniSom's default) or
   ``linear`` p(t) = p0 (1 - t / T).

Quality: the quantisation error (mean distance from each sample to its BMU's weights) and the topographic error
(the fraction of samples whose best and second-best units are not grid neighbours, diagonals included); the
U-matrix (each unit's summed distance to its 8 grid neighbours, scaled to a maximum of 1) shows the cluster
borders.

The neighbourhood functions, decays, PCA initialisation, sampling order (arange(T) % N shuffled) and error
definitions follow MiniSom's (``minisom.py``), so the two train alike on the same settings.

Example::

    >>> import nnzoo
    >>> from nnzoo.zoo.som import SOM
    >>> data = nnzoo.randn(200, 3, generator=nnzoo.Generator().manual_seed(0))
    >>> som = SOM(6, 6, 3, sigma=1.5, learning_rate=0.5, seed=0).pca_init(data)
    >>> before = som.quantization_error(data)
    >>> som.train(data, 500) < before
    True
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..creation import arange, tensor, zeros
from ..dtypes import float32
from ..tensor import Tensor

__all__ = ["SOM", "NEIGHBORHOODS", "DECAYS", "decay"]

NEIGHBORHOODS = ("gaussian", "triangle", "bubble")
DECAYS = ("asymptotic", "linear")


def decay(p0: float, t: int, T: int, kind: str = "asymptotic") -> float:
    """The value at step t of T of a parameter starting at p0: ``asymptotic`` p0 / (1 + t / (T / 2)), ``linear``
    p0 (1 - t / T)."""
    if kind == "asymptotic":
        return p0 / (1 + t / (T / 2))
    if kind == "linear":
        return p0 * (1 - t / T)
    raise ValueError(f"SOM: decay must be one of {DECAYS}, got {kind!r}")


class SOM:
    """A ``x`` by ``y`` self-organising map of ``input_len``-dimensional weights (a rectangular grid).

    Args:
        x, y: the grid's size.
        input_len: the dimension of the inputs.
        sigma: the neighbourhood's initial width (grid units).
        learning_rate: the initial learning rate.
        neighborhood: ``'gaussian'``, ``'triangle'`` or ``'bubble'``.
        decay: ``'asymptotic'`` or ``'linear'``, for sigma and the learning rate alike.
        seed: the seed of the random initial weights and of the sampling order.
        dtype: of the weights (float32).

    NOTE: the triangle neighbourhood is MiniSom's, not normalised: its peak is sigma^2 (16 at sigma = 4), so the
    first steps overshoot; MiniSom's documented digits figure (quantisation error 3.046) comes from it, so it is
    kept as is. The triangle and bubble have compact support: only the units within sigma of the BMU move, and
    only they are updated (a window of at most (2 sigma - 1)^2 units instead of the whole map).
    """

    def __init__(self, x: int, y: int, input_len: int, sigma: float = 1.0, learning_rate: float = 0.5,
                 neighborhood: str = "gaussian", decay: str = "asymptotic", seed: int = 0, dtype=float32):
        if neighborhood not in NEIGHBORHOODS:
            raise ValueError(f"SOM: neighborhood must be one of {NEIGHBORHOODS}, got {neighborhood!r}")
        if decay not in DECAYS:
            raise ValueError(f"SOM: decay must be one of {DECAYS}, got {decay!r}")
        if x < 1 or y < 1 or input_len < 1 or sigma <= 0 or learning_rate <= 0:
            raise ValueError(f"SOM: x, y, input_len must be >= 1 and sigma, learning_rate > 0, got x={x}, y={y}, "
                             f"input_len={input_len}, sigma={sigma}, learning_rate={learning_rate}")
        self.x, self.y, self.input_len = x, y, input_len
        self.sigma, self.learning_rate, self.neighborhood, self.decay = sigma, learning_rate, neighborhood, decay
        self.seed, self.dtype = seed, dtype
        self._rng = np.random.RandomState(seed)  # host: MiniSom's generator, for the same kind of sampling order
        w = self._rng.rand(x, y, input_len) * 2 - 1  # uniform in [-1, 1), each unit normalised (MiniSom)
        self.weights = tensor(w / np.linalg.norm(w, axis=-1, keepdims=True), dtype=dtype)  # (X, Y, D)
        self._gx = arange(x, dtype=dtype)  # (X,) grid coordinates
        self._gy = arange(y, dtype=dtype)  # (Y,)
        self.steps = 0

    # ---- initialisation ------------------------------------------------------------------------------------------
    def pca_init(self, data) -> SOM:
        """Spread the weights over the plane of the data's first two principal components: w_ij = mean +
        a_i pc1 + b_j pc2 with a, b evenly spaced in [-1, 1] (MiniSom's ``pca_weights_init``). Returns self."""
        X = _as_tensor(data, self.dtype)
        mean = X.mean(0)  # (D,)
        Xc = X - mean
        cov = (Xc.T @ Xc) / (X.shape[0] - 1)  # (D, D)
        vals, vecs = np.linalg.eigh(cov.numpy().astype(np.float64))  # host: eigh (no nnzoo.linalg yet)
        order = np.argsort(vals)[::-1]
        pc1, pc2 = tensor(vecs[:, order[0]], dtype=self.dtype), tensor(vecs[:, order[1]], dtype=self.dtype)
        a = tensor(np.linspace(-1, 1, self.x), dtype=self.dtype).reshape(-1, 1, 1)  # (X, 1, 1)
        b = tensor(np.linspace(-1, 1, self.y), dtype=self.dtype).reshape(1, -1, 1)  # (1, Y, 1)
        self.weights = mean + a * pc1 + b * pc2  # (X, Y, D)
        return self

    def random_init(self, data, generator=None) -> SOM:
        """Set each unit's weights to a sample drawn at random from ``data``. Returns self."""
        from ..random import randint
        X = _as_tensor(data, self.dtype)
        idx = randint(0, X.shape[0], (self.x * self.y,), generator=generator)
        self.weights = X[idx].reshape(self.x, self.y, self.input_len).clone()
        return self

    # ---- the rule ------------------------------------------------------------------------------------------------
    def neighborhood_at(self, c: tuple[int, int], sigma: float) -> Tensor:
        """h(u, c; sigma) for every unit u of the grid: an (X, Y) tensor."""
        with no_grad():
            dx, dy = self._gx - c[0], self._gy - c[1]  # (X,), (Y,)
            if self.neighborhood == "gaussian":
                d = 2 * sigma * sigma
                return (-(dx * dx) / d).exp().reshape(-1, 1) * (-(dy * dy) / d).exp().reshape(1, -1)
            if self.neighborhood == "triangle":
                return (sigma - dx.abs()).clamp(min=0).reshape(-1, 1) * (sigma - dy.abs()).clamp(min=0).reshape(1, -1)
            return (dx.abs() < sigma).to(self.dtype).reshape(-1, 1) * (dy.abs() < sigma).to(self.dtype).reshape(1, -1)

    def winner(self, x) -> tuple[int, int]:
        """The grid position of the best-matching unit of one sample ``x`` (D,)."""
        with no_grad():
            x = _as_tensor(x, self.dtype)
            d = ((self.weights - x) ** 2).sum(-1)  # (X, Y)
            return divmod(int(d.argmin()), self.y)

    def _window(self, c: tuple[int, int], sigma: float) -> tuple[slice, slice]:
        """The grid rows and columns where h may be non-zero (the whole map for the Gaussian)."""
        if self.neighborhood == "gaussian":
            return slice(0, self.x), slice(0, self.y)
        r = math.ceil(sigma) - 1  # |d| < sigma
        return (slice(max(0, c[0] - r), min(self.x, c[0] + r + 1)), slice(max(0, c[1] - r), min(self.y, c[1] + r + 1)))

    def train(self, data, num_iteration: int, random_order: bool = True, callback=None) -> float:
        """``num_iteration`` single-sample updates, sample ``arange(num_iteration) % N`` in an order shuffled by the
        map's generator (MiniSom's ``train_random``) or in turn; sigma and the learning rate decay with the step
        index. ``callback(t, som)`` runs after each step when given. Returns the final quantisation error.

        NOTE: the BMU search uses ||w||^2 - 2 w.x (one matrix-vector product) with ||w||^2 kept up to date for the
        units that moved: 3x faster than the distances themselves at 30 x 30 x 64, same argmin up to float ties.
        """
        X = _as_tensor(data, self.dtype)
        N = X.shape[0]
        order = np.arange(num_iteration) % N
        if random_order:
            self._rng.shuffle(order)
        W = self.weights.clone()  # (X, Y, D)
        with no_grad():
            wsq = (W * W).sum(-1)  # (X, Y)
            for t, i in enumerate(order.tolist()):
                x = X[i]  # (D,)
                score = wsq - 2 * (W.reshape(-1, self.input_len) @ x).reshape(self.x, self.y)  # (X, Y)
                c = divmod(int(score.argmin()), self.y)
                eta = decay(self.learning_rate, t, num_iteration, self.decay)
                sig = decay(self.sigma, t, num_iteration, self.decay)
                rows, cols = self._window(c, sig)
                h = self.neighborhood_at(c, sig)[rows, cols] * eta  # (wx, wy)
                patch = W[rows, cols]  # (wx, wy, D)
                patch = patch + h.unsqueeze(-1) * (x - patch)
                W[rows, cols] = patch
                wsq[rows, cols] = (patch * patch).sum(-1)
                if callback is not None:
                    self.weights = W
                    callback(t, self)
        self.weights = W
        self.steps += num_iteration
        return self.quantization_error(X)

    # ---- quality -------------------------------------------------------------------------------------------------
    def distances(self, data) -> Tensor:
        """||x_n - w_u|| for every sample and unit: an (N, X * Y) tensor (the squares clamped at 0 before the root,
        as MiniSom does)."""
        X = _as_tensor(data, self.dtype)
        with no_grad():
            W = self.weights.reshape(-1, self.input_len)  # (U, D)
            sq = (X * X).sum(1, keepdim=True) - 2 * (X @ W.T) + (W * W).sum(1).reshape(1, -1)  # (N, U)
            return sq.clamp(min=0).sqrt()

    def quantization_error(self, data) -> float:
        """The mean distance from each sample to its best-matching unit's weights."""
        X = _as_tensor(data, self.dtype)
        with no_grad():
            bmu = self.distances(X).argmin(1)  # (N,)
            return float(((X - self.weights.reshape(-1, self.input_len)[bmu]) ** 2).sum(1).sqrt().mean())

    def topographic_error(self, data) -> float:
        """The fraction of samples whose best and second-best units are not neighbours on the grid (8-neighbourhood:
        grid distance > 1.42, MiniSom's threshold)."""
        with no_grad():
            two = self.distances(data).argsort(1)[:, :2].numpy()  # (N, 2)
        bx, by = np.divmod(two, self.y)
        return float((np.hypot(bx[:, 0] - bx[:, 1], by[:, 0] - by[:, 1]) > 1.42).mean())

    def winners(self, data) -> Tensor:
        """The flat index (row * Y + column) of each sample's best-matching unit: (N,) int64."""
        return self.distances(data).argmin(1)

    def u_matrix(self) -> Tensor:
        """Each unit's summed distance to its 8 grid neighbours, scaled to a maximum of 1: (X, Y) (MiniSom's
        ``distance_map``)."""
        W = self.weights
        total = zeros(self.x, self.y, dtype=self.dtype)
        with no_grad():
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if di == dj == 0:
                        continue
                    a = (slice(max(0, -di), self.x - max(0, di)), slice(max(0, -dj), self.y - max(0, dj)))
                    b = (slice(max(0, di), self.x + min(0, di)), slice(max(0, dj), self.y + min(0, dj)))
                    total[a] = total[a] + ((W[a] - W[b]) ** 2).sum(-1).sqrt()
            return total / total.max()

    def __repr__(self) -> str:
        return (f"SOM({self.x}x{self.y}, input_len={self.input_len}, sigma={self.sigma}, "
                f"learning_rate={self.learning_rate}, neighborhood={self.neighborhood!r}, decay={self.decay!r})")


def _as_tensor(data, dtype) -> Tensor:
    if isinstance(data, Tensor):
        return data.to(dtype) if data.dtype != dtype else data
    return tensor(np.asarray(data), dtype=dtype)
