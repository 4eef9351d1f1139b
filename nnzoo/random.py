"""Random numbers: a ``Generator`` per stream, a default one seeded by ``manual_seed``.

Built on NumPy's PCG64 bit generator. The same seed gives the same draws (within nnzoo; the streams
are not PyTorch's), and separate generators are independent streams: drawing from one never moves
another.
"""
from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import numpy as np

from ._device import _CPU
from ._device import check as _check_device
from .creation import _sizes  # the size parsing of zeros/ones/empty (imported before this module)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from . import dtypes
    from ._device import device as _Device
    from .tensor import Tensor

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial",
           "rand_like", "randn_like", "randint_like"]

_DEFAULT_SEED = 67280421310721  # the seed of a fresh torch.Generator()
_U64 = 2 ** 64


class Generator:
    """A random stream; pass it as ``generator=`` to any random op for a reproducible draw.

    Example::

        >>> g = nnzoo.Generator().manual_seed(42)
        >>> a = nnzoo.rand(3, generator=g)
        >>> bool((a == nnzoo.rand(3, generator=nnzoo.Generator().manual_seed(42))).all())
        True
    """

    def __init__(self, device: str | _Device = "cpu") -> None:
        from ._device import _parse
        if _parse(device).type != "cpu":  # PyTorch's CPU build has no generator elsewhere
            raise RuntimeError(f"Generator: nnzoo has no generator for device '{device}': it runs on the CPU "
                               "(as a PyTorch build without CUDA: 'Cannot get CUDA generator')")
        self.manual_seed(_DEFAULT_SEED)

    @property
    def device(self) -> _Device:
        return _CPU

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (an int in [-2**63, 2**64); negatives wrap as in PyTorch)."""
        seed = operator.index(seed)
        if not -(2 ** 63) <= seed < _U64:
            raise RuntimeError(f"manual_seed: seed must be within [-2**63, 2**64 - 1], got {seed}")
        self._seed = seed % _U64
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % _U64))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The stream's state as a uint8 tensor (restore it with ``set_state``)."""
        import json

        from .creation import tensor
        raw = json.dumps(self._rng.bit_generator.state).encode()
        return tensor(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, state: Tensor) -> Generator:
        import json
        self._rng.bit_generator.state = json.loads(bytes(state.numpy()).decode())
        return self


# NOTE: nnzoo seeds its default stream with 0 at import (PyTorch picks a random seed per process), so an
# unseeded script is reproducible; manual_seed / seed() change it.
default_generator = Generator().manual_seed(0)


def _gen(generator):
    return (generator if generator is not None else default_generator)._rng


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (all random ops without ``generator=`` draw from it)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(state: Tensor) -> None:
    default_generator.set_state(state)


# ---- random factories ------------------------------------------------------------------------
def _float_dtype(dtype, op):
    """The NumPy dtype for a sampler that only makes floats (``dtype`` None -> the default dtype)."""
    from . import dtypes
    npdt = dtypes.to_numpy(dtype) if dtype is not None else dtypes.get_default_dtype().np
    if npdt.kind != "f":
        raise RuntimeError(f"{op}: expected a floating point dtype, got {dtypes.from_numpy(npdt)}")
    return npdt


def _out(arr, npdt, requires_grad=False):
    from .creation import _finish
    return _finish(arr.astype(npdt, copy=False), requires_grad)


def _uniform(rng, shape, npdt):
    """Uniform samples in [0, 1) made in ``npdt`` itself (a float64 draw rounded to float32 can be 1.0)."""
    if npdt == np.float16:  # multiples of 2**-11: exact in float16, all below 1
        return (rng.integers(0, 2 ** 11, shape) * 2.0 ** -11).astype(np.float16)
    return rng.random(shape, dtype=npdt)


def _standard_normal(rng, shape, npdt):
    if npdt == np.float16:
        return rng.standard_normal(shape, dtype=np.float32).astype(np.float16)
    return rng.standard_normal(shape, dtype=npdt)


def rand(*sizes: int, size: int | Sequence[int] | None = None, generator: Generator | None = None,
         dtype: dtypes.dtype | None = None, device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1): ``rand(2, 3)``, ``rand((2, 3))`` or ``rand(size=(2, 3))``."""
    _check_device(device)
    npdt = _float_dtype(dtype, "rand")
    return _out(_uniform(_gen(generator), _sizes(sizes, size, "rand"), npdt), npdt, requires_grad)


def randn(*sizes: int, size: int | Sequence[int] | None = None, generator: Generator | None = None,
          dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples (mean 0, variance 1)."""
    _check_device(device)
    npdt = _float_dtype(dtype, "randn")
    return _out(_standard_normal(_gen(generator), _sizes(sizes, size, "randn"), npdt), npdt, requires_grad)


def rand_like(input: Tensor, *, dtype: dtypes.dtype | None = None, generator: Generator | None = None,
              device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """``rand`` with the shape (and, unless given, the dtype) of ``input``."""
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype: dtypes.dtype | None = None, generator: Generator | None = None,
               device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """``randn`` with the shape (and, unless given, the dtype) of ``input``."""
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype, device=device,
                 requires_grad=requires_grad)


def _int_range(low, high, op):
    low, high = operator.index(low), operator.index(high)
    if low >= high:
        raise RuntimeError(f"{op}: expected low < high, got low={low}, high={high}")
    return low, high


def randint(low: int = 0, high: int | None = None, size: Sequence[int] | None = None, *,
            generator: Generator | None = None, dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``; int64
    unless ``dtype`` says otherwise."""
    from . import dtypes
    _check_device(device)
    if size is None:  # randint(high, size): the two positional arguments shift
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    if size is None or high is None:
        raise TypeError("randint(): expected randint(high, size) or randint(low, high, size)")
    low, high = _int_range(low, high, "randint")
    arr = _gen(generator).integers(low, high, _sizes((size,), None, "randint"), dtype=np.int64)
    return _out(arr, dtypes.to_numpy(dtype) if dtype is not None else np.dtype(np.int64), requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, generator: Generator | None = None,
                 dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
                 requires_grad: bool = False) -> Tensor:
    """``randint`` with the shape and (unless given) the dtype of ``input``: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype, device=device,
                   requires_grad=requires_grad)


def randperm(n: int, *, generator: Generator | None = None, dtype: dtypes.dtype | None = None,
             device: str | _Device | None = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless ``dtype`` says otherwise)."""
    from . import dtypes
    _check_device(device)
    n = operator.index(n)
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    npdt = dtypes.to_numpy(dtype) if dtype is not None else np.dtype(np.int64)
    return _out(_gen(generator).permutation(n), npdt, requires_grad)


def normal(mean: float | Tensor, std: float | Tensor = 1.0, size: Sequence[int] | None = None, *,
           generator: Generator | None = None, dtype: dtypes.dtype | None = None, device: str | _Device | None = None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples ``mean + std * z``: from tensors ``mean`` and/or ``std`` (broadcast together; the
    dtype is theirs), or from two numbers and a ``size``."""
    from . import dtypes
    from .tensor import Tensor
    _check_device(device)
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if tensors:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s)) if size is None else \
            _sizes((size,), None, "normal")
        npdt = dtypes.result_type(*tensors).np if dtype is None else _float_dtype(dtype, "normal")
    else:
        if size is None:
            raise TypeError("normal(): with a number for both mean and std, give a size: normal(0.0, 1.0, (2, 3))")
        shape = _sizes((size,), None, "normal")
        npdt = _float_dtype(dtype, "normal")
    if npdt.kind != "f":
        raise RuntimeError(f"normal: expected floating point mean/std, got {dtypes.from_numpy(npdt)}")
    if np.any(np.asarray(s) < 0) or np.any(np.isnan(s)):
        raise RuntimeError(f"normal: expects std >= 0.0, got {s if np.ndim(s) == 0 else 'a negative entry'}")
    z = _standard_normal(_gen(generator), shape, npdt)
    return _out(z * np.asarray(s, dtype=npdt) + np.asarray(m, dtype=npdt), npdt, requires_grad)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """Draw 1 with probability ``input`` (or the number ``p``) per element, else 0; shape and dtype of input."""
    probs = input._data if p is None else p
    if not np.all((np.asarray(probs) >= 0) & (np.asarray(probs) <= 1)):
        raise RuntimeError("bernoulli: all probabilities must be in [0, 1]")
    u = _uniform(_gen(generator), input.shape, np.dtype(np.float64))
    return _out(u < probs, input._data.dtype)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Indices of categories drawn from the rows of ``input`` (non-negative weights, not necessarily
    summing to 1), int64.

    With ``replacement`` every draw is independent; without it, a category is never drawn twice in a
    row (the draws follow the weights among the categories not yet drawn). As in PyTorch, asking for
    more samples than there are positive weights then also returns zero-weight categories.

    Shape: (C,) -> (num_samples,); (N, C) -> (N, num_samples).
    """
    w = np.asarray(input._data, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: input must be 1 or 2 dim, got shape {tuple(w.shape)}")
    num_samples = operator.index(num_samples)
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample num_samples={num_samples} <= 0 samples")
    rows = w.reshape(-1, w.shape[-1])
    n, c = rows.shape
    if n == 1 and c > 0 and (replacement or num_samples == 1):
        # NOTE: the sampling step of a language model (one row, one draw) takes this path: one cumulative
        # sum, one binary search and two cheap checks (a nan or inf anywhere makes the total non-finite),
        # 3x faster than the general path (25 -> 8 us at 88 categories)
        row = rows[0]
        cdf = np.cumsum(row)
        total = cdf[-1]
        if 0 < total < np.inf and row.min() >= 0:
            u = _gen(generator).random(num_samples) * total
            out = np.searchsorted(cdf, u, side="right")
            np.minimum(out, c - 1 - np.argmax(row[::-1] > 0), out=out)  # u rounding up to the total
            return _out(out.reshape(w.shape[:-1] + (num_samples,)), np.dtype(np.int64))
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError("multinomial: probability tensor contains inf, nan or an element < 0")
    if c == 0 or np.any(rows.sum(1) <= 0):
        raise RuntimeError("multinomial: invalid distribution: the weights of a row sum to <= 0")
    if not replacement and num_samples > c:
        raise RuntimeError(f"multinomial: cannot sample {num_samples} > {c} categories without replacement")
    rng = _gen(generator)
    if replacement:
        # inverse CDF for all rows at once: row r's CDF is shifted to [r, r + 1], one searchsorted
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        offset = np.arange(n, dtype=np.float64)[:, None]
        u = rng.random((n, num_samples)) + offset
        out = np.searchsorted((cdf + offset).ravel(), u.ravel(), side="right").reshape(n, num_samples)
        out -= np.arange(n)[:, None] * c
        # u rounding up to the row's end would land past its last category with positive weight
        last = c - 1 - np.argmax(rows[:, ::-1] > 0, axis=1)
        out = np.minimum(out, last[:, None])
    else:
        # Gumbel top-k: the k largest log(w) + Gumbel noise are a draw of k without replacement, in order
        with np.errstate(divide="ignore"):
            keys = np.log(rows) - np.log(-np.log(rng.random(rows.shape)))
        if num_samples < c:
            top = np.argpartition(-keys, num_samples - 1, axis=1)[:, :num_samples]
        else:
            top = np.broadcast_to(np.arange(c), (n, c))
        order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1, kind="stable")
        out = np.take_along_axis(top, order, axis=1)
    return _out(out.reshape(w.shape[:-1] + (num_samples,)), np.dtype(np.int64))
