"""Small argument helpers shared by the ops and the layers (internal; imports nothing from nnzoo).

PyTorch's ``_single``/``_pair``/``_triple`` and the shape strings of error messages, written once.
"""
import numbers

__all__ = ["ntuple", "shape_of", "shapes_str"]


def ntuple(v, n, op, name):
    """``v`` (an int, or a sequence of 1 or ``n`` ints) as a tuple of ``n`` Python ints, as PyTorch's
    ``_pair``. A value that is not an int or a sequence of ints raises TypeError; a sequence of the wrong
    length raises RuntimeError (PyTorch's two errors), both naming ``op`` and the argument ``name``.

    Example::

        >>> ntuple(3, 2, "conv2d", "stride"), ntuple([2], 2, "conv2d", "stride"), ntuple((1, 2), 2, "x", "y")
        ((3, 3), (2, 2), (1, 2))
    """
    what = f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}"
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return (int(v),) * n
    if not isinstance(v, (tuple, list)) or not all(
            isinstance(e, numbers.Integral) and not isinstance(e, bool) for e in v):
        raise TypeError(what)
    if len(v) == 1:
        return (int(v[0]),) * n
    if len(v) != n:
        raise RuntimeError(what)
    return tuple(int(e) for e in v)


def shape_of(t):
    """``t.shape`` as a plain tuple (``None`` for ``None``): what error messages print."""
    return None if t is None else tuple(t.shape)


def shapes_str(*ts, sep=" and "):
    """The shapes of ``ts`` for a message: ``'(2, 3) and (3, 4)'``."""
    return sep.join(str(shape_of(t)) for t in ts)
