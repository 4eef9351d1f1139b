"""Shape moves: reshape/view, transpose/permute, squeeze/unsqueeze, expand/broadcast_to, ...

Where NumPy returns a view, the op is a view too (``is_view``): the output shares memory and the
version counter with its input, as in PyTorch.
"""
from ..autograd.function import Op
from ..backend import xp
from ..tensor import Tensor, _wrap_dim

_make = Tensor._make

__all__ = ["reshape", "permute", "transpose", "swapaxes", "swapdims", "t", "unsqueeze", "squeeze", "broadcast_to"]


def _shape_arg(shape):
    """Accept reshape(2, 3), reshape((2, 3)) and reshape([2, 3])."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        return tuple(shape[0])
    return tuple(shape)


def _infer(shape, numel, op, src):
    """Resolve one -1 in ``shape`` and check the element count, with an error naming both shapes."""
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {shape}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {shape} is invalid for input of shape {tuple(src)} "
                               f"({numel} elements)")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape {shape} is invalid for input of shape {tuple(src)} "
                           f"({numel} elements)")
    return shape


class Reshape(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


def reshape(input, *shape):
    """``input`` with a new shape of the same number of elements (one dim may be -1)."""
    shape = _infer(_shape_arg(shape), input._data.size, "reshape", input.shape)
    if shape == input._data.shape:
        return input
    return Reshape.apply(input, shape)


def view(input, *shape):
    """Like reshape, but an error when the memory layout would need a copy (as in PyTorch)."""
    shape = _infer(_shape_arg(shape), input._data.size, "view", input.shape)
    probe = input._data.view()
    try:
        probe.shape = shape
    except AttributeError:
        raise RuntimeError(f"view: shape {shape} is not compatible with the input's size and stride "
                           f"(input of shape {tuple(input.shape)}, strides {input.stride()}): at least "
                           "one dimension spans two contiguous subspaces. Use .reshape(...) instead.") \
            from None
    return Reshape.apply(input, shape)


class Permute(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return grad.permute(*inv), None


def permute(input, *dims):
    """Reorder the dims: ``out.shape[i] == input.shape[dims[i]]``."""
    dims = _shape_arg(dims)
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute: number of dims {len(dims)} doesn't match the input's {nd} dims "
                           f"(input shape {tuple(input.shape)})")
    dims = tuple(_wrap_dim(d, nd, "permute") for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError(f"permute: repeated dim in {dims}")
    return Permute.apply(input, dims)


def transpose(input, dim0, dim1):
    """Swap two dims."""
    nd = input.ndim
    if nd == 0:
        return input
    d0, d1 = _wrap_dim(dim0, nd, "transpose"), _wrap_dim(dim1, nd, "transpose")
    if d0 == d1:
        return input
    dims = list(range(nd))
    dims[d0], dims[d1] = d1, d0
    return Permute.apply(input, tuple(dims))


swapaxes = swapdims = transpose


def t(input):
    """Transpose of a tensor of at most 2 dims."""
    if input.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but got shape {tuple(input.shape)}")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def unsqueeze(input, dim):
    """Insert a size-1 dim at ``dim`` (in [-ndim-1, ndim])."""
    nd = input.ndim + 1
    d = _wrap_dim(dim, nd, "unsqueeze")
    shape = input.shape[:d] + (1,) + input.shape[d:]
    return Reshape.apply(input, shape)


def squeeze(input, dim=None):
    """Remove size-1 dims (all of them, or those in ``dim`` that have size 1)."""
    shape = input.shape
    if dim is None:
        dims = set(range(len(shape)))
    elif isinstance(dim, int):
        dims = {_wrap_dim(dim, len(shape), "squeeze")} if shape else set()
    else:
        dims = {_wrap_dim(d, len(shape), "squeeze") for d in dim}
    new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return input if new == shape else Reshape.apply(input, new)


class Expand(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        from .reduce import sum_to
        return sum_to(grad, ctx.shape), None


def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying; -1 keeps a dim's size."""
    sizes = _shape_arg(sizes)
    shape = input.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                           f"to the number of dimensions in the tensor ({len(shape)}); input shape "
                           f"{tuple(shape)}, sizes {tuple(sizes)}")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, new dimension ({tuple(sizes)})")
            s = shape[i - lead]
        elif i >= lead and shape[i - lead] != 1 and shape[i - lead] != s:
            raise RuntimeError(f"expand: the expanded size of the tensor ({s}) must match the existing "
                               f"size ({shape[i - lead]}) at non-singleton dimension {i}; input shape "
                               f"{tuple(shape)}, target {tuple(sizes)}")
        target.append(int(s))
    target = tuple(target)
    return input if target == shape else Expand.apply(input, target)


def broadcast_to(input, shape):
    return expand(input, *tuple(shape))
