"""Random numbers: a ``Generator`` per stream, a default one seeded by ``manual_seed``.

Built on NumPy's PCG64 bit generator; the streams are reproducible within nnzoo (not equal to
PyTorch's draws).
"""
import numpy as np


class Generator:
    """A random stream; pass it as ``generator=`` to any random op for a reproducible draw."""

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed % (2 ** 64)))
        return self

    def seed(self):
        self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from .creation import tensor
        import json
        raw = json.dumps(self._rng.bit_generator.state).encode()
        return tensor(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, state):
        import json
        self._rng.bit_generator.state = json.loads(bytes(state.numpy()).decode())
        return self


default_generator = Generator().manual_seed(0)


def _gen(generator):
    return (generator or default_generator)._rng


def manual_seed(seed):
    """Seed the default generator (all random ops without ``generator=`` draw from it)."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


# ---- random factories ------------------------------------------------------------------------
def _size(size):
    from .creation import _size as size_of
    return size_of(size)


def _out(arr, dtype, requires_grad):
    from . import dtypes
    from .creation import _finish
    npdt = dtypes.to_numpy(dtype) if dtype is not None else dtypes.get_default_dtype().np
    return _finish(arr.astype(npdt, copy=False), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples from [0, 1)."""
    return _out(_gen(generator).random(_size(size)), dtype, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    return _out(_gen(generator).standard_normal(_size(size)), dtype, requires_grad)


def rand_like(input, dtype=None, generator=None, requires_grad=False):
    return rand(*input.shape, generator=generator, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input, dtype=None, generator=None, requires_grad=False):
    return randn(*input.shape, generator=generator, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    from . import dtypes
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size argument")
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    arr = _gen(generator).integers(low, high, _size((size,)), dtype=np.int64)
    return _out(arr, dtype or dtypes.int64, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1 (int64)."""
    from . import dtypes
    return _out(_gen(generator).permutation(int(n)), dtype or dtypes.int64, requires_grad)


def normal(mean, std, size=None, *, generator=None, dtype=None):
    """Normal samples with the given mean and std (numbers with ``size``, or tensors)."""
    from .tensor import Tensor
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    shape = _size((size,)) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    if dtype is None:
        for v in (mean, std):
            if isinstance(v, Tensor):
                dtype = v.dtype
    return _out(_gen(generator).normal(m, s, shape), dtype, False)


def bernoulli(input, p=None, *, generator=None):
    """Draw 0/1 with probability ``input`` (or ``p``) per element; same shape and dtype as input."""
    probs = input._data if p is None else np.full(input.shape, p)
    if np.any((probs < 0) | (probs > 1)):
        raise RuntimeError("bernoulli: all probabilities must be in [0, 1]")
    return _out(_gen(generator).random(input.shape) < probs, input.dtype, False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the rows of ``input`` (non-negative weights, need not sum to 1); int64.

    Shape: (C,) -> (num_samples,); (N, C) -> (N, num_samples).
    """
    from . import dtypes
    w = np.asarray(input._data, dtype=np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: input must be 1 or 2 dim, got shape {tuple(w.shape)}")
    rows = w.reshape(-1, w.shape[-1])
    if np.any(rows < 0) or not np.all(np.isfinite(rows)):
        raise RuntimeError("multinomial: probabilities must be finite and non-negative")
    if np.any(rows.sum(1) <= 0):
        raise RuntimeError("multinomial: each row of probabilities must have a positive sum")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(f"multinomial: cannot sample {num_samples} > {rows.shape[1]} categories "
                           "without replacement")
    if not replacement and num_samples > int((rows > 0).sum(1).min()):
        raise RuntimeError("multinomial: not enough categories with non-zero probability to sample "
                           f"{num_samples} without replacement")
    rng = _gen(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((rows.shape[0], num_samples))
        out = np.stack([np.searchsorted(c, uu, side="right") for c, uu in zip(cdf, u)])
        out = np.minimum(out, rows.shape[1] - 1)
    else:
        # Gumbel top-k: sampling without replacement in proportion to the weights
        with np.errstate(divide="ignore"):
            keys = np.log(rows) - np.log(-np.log(rng.random(rows.shape)))
        out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    out = out.reshape(w.shape[:-1] + (num_samples,))
    return _out(out, dtypes.int64, False)
