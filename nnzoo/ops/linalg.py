"""Matrix products: matmul (batched, broadcasting), mm, bmm, mv, dot, outer, einsum."""
from __future__ import annotations

import string

from .._args import shapes_str
from ..autograd.function import Op
from ..autograd.grad_mode import state
from ..backend import xp
from ..kernels.linalg import matmul as _matmul
from ..tensor import Tensor
from .reduce import sum_to

_make = Tensor._make

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "outer", "ger", "einsum", "addmm", "addmv", "addbmm", "baddbmm"]


def _check_tensors(op, *ts):
    for t in ts:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, got " + ", ".join(type(x).__name__ for x in ts))


def _check_same_dtype(op, a, b):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{op}: expected both operands to have the same dtype, got {a.dtype} and {b.dtype} "
                           f"(shapes {shapes_str(a, b)})")


# ---- matmul and its fixed-rank forms --------------------------------------------------------------
class MatMul(Op):
    """a @ b for operands of at least 2 dims (1-D operands are lifted by ``matmul``).

    d(a @ b)/da = grad @ b^T and d/db = a^T @ grad, each summed over the batch dims it was broadcast along.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = gb = None
        # shapes are known to agree here: apply the ops directly, without matmul()'s checks
        if ctx.needs_input_grad[0]:
            ga = sum_to(MatMul.apply2(grad, _mT(b)), a._data.shape)
        if ctx.needs_input_grad[1]:
            gb = sum_to(MatMul.apply2(_mT(a), grad), b._data.shape)
        return ga, gb


def _mT(t):
    """The last two dims swapped (a view); a recorded op only when a graph is being built."""
    if not state.enabled:
        return _make(t._data.swapaxes(-1, -2))
    nd = t._data.ndim
    return _shape.Permute.apply(t, tuple(range(nd - 2)) + (nd - 1, nd - 2))


class Dot(Op):
    """a . b = sum_i a_i b_i of two vectors; d/da = grad * b, d/db = grad * a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return xp.asarray(xp.dot(a, b))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad * b if ctx.needs_input_grad[0] else None
        gb = grad * a if ctx.needs_input_grad[1] else None
        return ga, gb


def _check_matmul(a, b, op):
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got shapes {tuple(a.shape)} "
                           f"and {tuple(b.shape)}")
    ka = sa[-1]
    kb = sb[-2] if len(sb) > 1 else sb[0]
    if ka != kb:
        raise RuntimeError(f"{op}: {tuple(a.shape)} @ {tuple(b.shape)}: inner dimensions {ka} and {kb} differ")
    if len(sa) <= 2 and len(sb) <= 2:
        return
    ba, bb = sa[:-2], sb[:-2]
    if any(x != y and x != 1 and y != 1 for x, y in zip(reversed(ba), reversed(bb))):
        raise RuntimeError(f"{op}: {tuple(a.shape)} @ {tuple(b.shape)}: batch dimensions {ba} and {bb} do not "
                           "broadcast")


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """input @ other (into ``out`` when given); see ``_matmul_nd``."""
    result = _matmul_nd(input, other)
    return result if out is None else _arith.write_out("matmul", result, out)


def _matmul_nd(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: 1-D operands are vectors, leading dims broadcast.

    Shape: (..., n, k) @ (..., k, m) -> (..., n, m); a 1-D left operand (k,) acts as (1, k) and a
    1-D right operand (k,) as (k, 1), the added dim being removed from the result; (k,) @ (k,) -> ().

    Example::

        >>> nnzoo.matmul(nnzoo.ones(2, 3), nnzoo.ones(3)).shape
        nnzoo.Size([2])
    """
    if isinstance(input, Tensor) and isinstance(other, Tensor):  # fast path: two matrices
        sa, sb = input._data.shape, other._data.shape
        if len(sa) == 2 and len(sb) == 2 and sa[1] == sb[0] and input._data.dtype == other._data.dtype:
            return MatMul.apply2(input, other)
    _check_tensors("matmul", input, other)
    _check_matmul(input, other, "matmul")
    _check_same_dtype("matmul", input, other)
    if input._data.ndim >= 2 and other._data.ndim >= 2:
        return MatMul.apply(input, other)
    if input.ndim == 1 and other.ndim == 1:
        return Dot.apply(input, other)
    if input.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
        out = MatMul.apply(input.reshape(1, -1), other)
        return out.reshape(out.shape[:-2] + out.shape[-1:])
    out = MatMul.apply(input, other.reshape(-1, 1))  # (..., n, k) @ (k,) -> (..., n)
    return out.reshape(out.shape[:-1])


def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Product of two matrices (no broadcasting): (n, k) @ (k, m) -> (n, m), into ``out`` when given."""
    result = _mm(input, mat2)
    return result if out is None else _arith.write_out("mm", result, out)


def _mm(input: Tensor, mat2: Tensor) -> Tensor:
    _check_tensors("mm", input, mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected two 2-D matrices, got shapes {shapes_str(input, mat2)}")
    _check_matmul(input, mat2, "mm")
    _check_same_dtype("mm", input, mat2)
    return MatMul.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Batched matrix product of 3-D tensors with equal batch size: (B, n, k) @ (B, k, m) -> (B, n, m), into
    ``out`` when given."""
    result = _bmm(input, mat2)
    return result if out is None else _arith.write_out("bmm", result, out)


def _bmm(input: Tensor, mat2: Tensor) -> Tensor:
    _check_tensors("bmm", input, mat2)
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected two 3-D tensors, got shapes {shapes_str(input, mat2)}")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: {tuple(input.shape)} @ {tuple(mat2.shape)}: batch sizes {input.shape[0]} "
                           f"and {mat2.shape[0]} differ (bmm does not broadcast; see matmul)")
    _check_matmul(input, mat2, "bmm")
    _check_same_dtype("bmm", input, mat2)
    return MatMul.apply(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product: (n, k) @ (k,) -> (n,)."""
    _check_tensors("mv", input, vec)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a 2-D matrix and a 1-D vector, got shapes {shapes_str(input, vec)}")
    _check_matmul(input, vec, "mv")
    _check_same_dtype("mv", input, vec)
    return matmul(input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length: sum_i input_i * tensor_i (a 0-dim tensor)."""
    _check_tensors("dot", input, tensor)
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"dot: expected two 1-D tensors, got shapes {shapes_str(input, tensor)}")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"dot: shapes {shapes_str(input, tensor)}: lengths {input.shape[0]} and "
                           f"{tensor.shape[0]} differ")
    _check_same_dtype("dot", input, tensor)
    return Dot.apply(input, tensor)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors: out[i, j] = input[i] * vec2[j]; (n,), (m,) -> (n, m).

    The dtypes promote as for ``mul``.
    """
    _check_tensors("outer", input, vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected two 1-D tensors, got shapes {shapes_str(input, vec2)}")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


# ---- the scaled sums beta * input + alpha * product --------------------------------------------------
class AddScaled(Op):
    """out = prod + beta * input (input broadcast to prod's shape; beta = 0 ignores input's values, nan and
    inf included, as PyTorch does);  d/dprod = 1, d/dinput = beta (summed back to input's shape)."""

    @staticmethod
    def forward(ctx, prod, input, beta):
        ctx.shape, ctx.beta = input.shape, beta
        if beta == 0:
            return xp.broadcast_to(prod, xp.broadcast_shapes(prod.shape, input.shape)).copy()
        return prod + (input if beta == 1 else input * xp.asarray(beta, dtype=input.dtype))

    @staticmethod
    def backward(ctx, grad):
        gi = None
        if ctx.needs_input_grad[1]:
            gi = sum_to(grad if ctx.beta == 1 else grad * ctx.beta, ctx.shape)
        return grad, gi, None


def _add_scaled(input, prod, beta, alpha, op):
    """beta * input + alpha * prod; input must broadcast to the product's shape and have its dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    shape = tuple(prod.shape)
    try:
        ok = xp.broadcast_shapes(tuple(input.shape), shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} does not broadcast to the product's "
                           f"shape {shape}")
    _check_same_dtype(op, input, prod)
    if alpha != 1:
        prod = prod * alpha
    return AddScaled.apply(prod, input, beta)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2); input broadcasts to (n, m).

    Shape: input (n, m) or broadcastable, mat1 (n, k), mat2 (k, m) -> (n, m).

    Example::

        >>> nnzoo.addmm(nnzoo.ones(2, 2), nnzoo.ones(2, 3), nnzoo.ones(3, 2), beta=0.5, alpha=2)
        tensor([[6.5000, 6.5000],
                [6.5000, 6.5000]])
    """
    return _add_scaled(input, mm(mat1, mat2), beta, alpha, "addmm")


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta * input + alpha * (mat @ vec).

    Shape: input (n,) or broadcastable, mat (n, k), vec (k,) -> (n,).

    Example::

        >>> nnzoo.addmv(nnzoo.zeros(2), nnzoo.ones(2, 3), nnzoo.ones(3))
        tensor([3., 3.])
    """
    return _add_scaled(input, mv(mat, vec), beta, alpha, "addmv")


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta * input + alpha * sum_b batch1[b] @ batch2[b] (the batch summed away).

    Shape: input (n, m) or broadcastable, batch1 (B, n, k), batch2 (B, k, m) -> (n, m).

    Example::

        >>> nnzoo.addbmm(nnzoo.zeros(2, 2), nnzoo.ones(4, 2, 3), nnzoo.ones(4, 3, 2))
        tensor([[12., 12.],
                [12., 12.]])
    """
    return _add_scaled(input, bmm(batch1, batch2).sum(0), beta, alpha, "addbmm")


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2), batch by batch.

    Shape: input (B, n, m) or broadcastable, batch1 (B, n, k), batch2 (B, k, m) -> (B, n, m).

    Example::

        >>> nnzoo.baddbmm(nnzoo.ones(1, 2, 2), nnzoo.ones(3, 2, 4), nnzoo.ones(3, 4, 2), alpha=0.5).shape
        nnzoo.Size([3, 2, 2])
    """
    return _add_scaled(input, bmm(batch1, batch2), beta, alpha, "baddbmm")


# ---- einsum -----------------------------------------------------------------------------------------
# Subscripts are turned into integer labels (A-Z -> 0-25, a-z -> 26-51, PyTorch's order for the implicit
# output); the dims an ellipsis covers get labels no letter of the equation uses. From then on an einsum
# is (tensors, their label tuples, the output's label tuple), which is also NumPy's sublist format.
_LETTERS = string.ascii_uppercase + string.ascii_lowercase
_LABEL = {c: i for i, c in enumerate(_LETTERS)}


class Einsum(Op):
    """out = einsum(subs -> out_subs, *operands): multiply the operands along shared labels and sum the
    labels missing from the output.

    The gradient of operand k is itself an einsum: the output gradient (labels ``out``) times every
    other operand, with operand k's labels as the output. Labels only operand k has are constant along
    the gradient (expanded), labels where operand k was broadcast (size 1) are summed back, and a label
    repeated in operand k (a diagonal, 'ii->i') puts the gradient on that diagonal, zero elsewhere.
    """

    @staticmethod
    def forward(ctx, spec, *operands):
        subs, out = spec
        ctx.spec = spec
        ctx.save_for_backward(*operands)
        args = []
        for x, s in zip(operands, subs):
            args += [x, list(s)]
        # NOTE: optimize lets NumPy contract pairwise through BLAS (matmul/tensordot): ~5x faster than its
        # C loop already for two operands ('bhqd,bhkd->bhqk'), at ~10 us of planning per call.
        res = xp.einsum(*args, list(out), optimize=len(operands) > 1)
        if len(operands) == 1 and xp.may_share_memory(res, operands[0]):
            res = res.copy()  # NOTE: NumPy returns a view for a diagonal ('ii->i'); an op output owns memory
        return xp.asarray(res)

    @staticmethod
    def backward(ctx, grad):
        subs, out = ctx.spec
        operands = ctx.saved_tensors
        grads = [None]
        for k, x in enumerate(operands):
            if not ctx.needs_input_grad[k + 1]:
                grads.append(None)
                continue
            rest = [j for j in range(len(operands)) if j != k]
            g = _einsum_grad(x.shape, subs[k], [grad] + [operands[j] for j in rest],
                             [out] + [subs[j] for j in rest])
            grads.append(g)
        return tuple(grads)


def _einsum_grad(shape, sub, tensors, subs):
    """Gradient for an operand of ``shape`` with labels ``sub``: contract ``tensors`` (the output gradient
    and the other operands, labelled ``subs``) onto ``sub``'s labels, then fix up broadcasting,
    labels only this operand has, and repeated labels."""
    unique = tuple(dict.fromkeys(sub))  # first occurrences, in order
    own = {lab: shape[sub.index(lab)] for lab in unique}
    present = set().union(*subs)
    target = tuple(lab for lab in unique if lab in present)
    g = _contract(tensors, subs, target)
    # labels along which this operand was broadcast (size 1 here, larger elsewhere): sum them back
    summed = tuple(i for i, lab in enumerate(target) if own[lab] == 1 and g.shape[i] != 1)
    if summed:
        g = g.sum(summed, keepdim=True)
    # labels summed only in this operand (or size 1 everywhere else): the gradient is constant along them
    full = tuple(own[lab] for lab in unique)
    if len(target) < len(unique):
        g = g.reshape(tuple(g.shape[target.index(lab)] if lab in present else 1 for lab in unique))
    if tuple(g.shape) != full:
        g = g.expand(full)
    if len(unique) < len(sub):
        g = _onto_diagonal(g, shape, sub)
    return g


def _onto_diagonal(g, shape, sub):
    """``g`` over the distinct labels of ``sub`` -> ``shape``, non-zero only where repeated labels agree:
    g[i] for 'ii' becomes g[i] * eye[i, j]."""
    first = [sub.index(lab) for lab in sub]
    g = g.reshape(tuple(shape[p] if first[p] == p else 1 for p in range(len(sub))))
    mask = xp.ones((1,) * len(sub), dtype=g._data.dtype)
    for p, f in enumerate(first):
        if f != p:
            n = shape[p]
            mask = mask * xp.eye(n, dtype=mask.dtype).reshape(
                tuple(n if q in (f, p) else 1 for q in range(len(sub))))
    return g * _make(mask)


def _contract(tensors, subs, out):
    """einsum over integer labels, on Tensors; a plain permutation (or nothing) skips the einsum."""
    if len(tensors) == 1:
        s = tuple(subs[0])
        if len(set(s)) == len(s) and set(s) == set(out):
            return tensors[0] if s == tuple(out) else tensors[0].permute(*[s.index(lab) for lab in out])
    return Einsum.apply((tuple(tuple(s) for s in subs), tuple(out)), *tensors)


def _parse_einsum(equation, operands):
    """(label tuples of the operands, label tuple of the output) for ``equation``; clear errors otherwise."""
    shapes = ", ".join(str(tuple(t.shape)) for t in operands)

    def fail(msg):
        return RuntimeError(f"einsum: equation {equation!r} with operand shapes [{shapes}]: {msg}")

    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    if "-" in lhs + rhs or ">" in lhs + rhs:
        raise fail("'->' may appear once, separating the inputs from the output")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise fail(f"the equation has {len(terms)} input term(s) but {len(operands)} operand(s) were given")

    def split(term, what):
        """(letters before '...', letters after, has_ellipsis)."""
        head, ell, tail = term.partition("...")
        if "." in head or "." in tail:
            raise fail(f"{what}: found '.' that is not part of a single '...' ellipsis")
        for c in head + tail:
            if c not in _LABEL:
                raise fail(f"{what}: invalid subscript {c!r}; subscripts must be letters a-z or A-Z")
        return [_LABEL[c] for c in head], [_LABEL[c] for c in tail], bool(ell)

    parts = [split(t, f"operand {i}") for i, t in enumerate(terms)]
    n_ell = 0
    for i, ((head, tail, ell), x) in enumerate(zip(parts, operands)):
        n = len(head) + len(tail)
        if (x.ndim != n) if not ell else (x.ndim < n):
            raise fail(f"operand {i} has {n} subscript(s){' and an ellipsis' if ell else ''} but "
                       f"{x.ndim} dimension(s)")
        if ell:
            n_ell = max(n_ell, x.ndim - n)
    used = {_LABEL[c] for c in eq if c in _LABEL}
    free = [lab for lab in range(len(_LETTERS)) if lab not in used]
    if len(free) < n_ell:
        raise fail(f"too many dimensions: at most {len(_LETTERS)} distinct labels, ellipsis dims included")
    ell_labels = free[:n_ell]
    subs = []
    for (head, tail, ell), x in zip(parts, operands):
        k = x.ndim - len(head) - len(tail) if ell else 0
        subs.append(tuple(head + ell_labels[n_ell - k:] + tail))

    # sizes: a label repeated within one operand must match exactly; across operands size 1 broadcasts
    size = {}
    for i, (s, x) in enumerate(zip(subs, operands)):
        mine = {}
        for lab, n in zip(s, x.shape):
            if lab in mine and mine[lab] != n:
                raise fail(f"subscript {_name(lab, ell_labels)} is repeated in operand {i} with different "
                           f"sizes {mine[lab]} and {n}")
            mine[lab] = n
        for lab, n in mine.items():
            prev = size.get(lab, 1)
            if n != 1 and prev != 1 and n != prev:
                raise fail(f"subscript {_name(lab, ell_labels)} has size {n} in operand {i}, which does not "
                           f"broadcast with size {prev} in an earlier operand")
            size[lab] = max(prev, n)

    if arrow:
        head, tail, ell = split(rhs, "output")
        out = tuple(head + (ell_labels if ell else []) + tail)
        for lab in head + tail:
            if lab not in size:
                raise fail(f"output subscript {_LETTERS[lab]} does not appear in any input")
        if len(set(out)) != len(out):
            raise fail("an output subscript appears more than once")
    else:  # implicit mode: ellipsis dims, then the letters that appear exactly once, in A-Z a-z order
        count = {}
        for s in subs:
            for lab in s:
                count[lab] = count.get(lab, 0) + 1
        out = tuple(ell_labels) + tuple(sorted(lab for lab, c in count.items()
                                               if c == 1 and lab not in ell_labels))
    return subs, out


def _name(lab, ell_labels):
    return "'...'" if lab in ell_labels else _LETTERS[lab]


def _sublist_equation(args):
    """einsum(op0, sublist0, op1, sublist1, ..., [out_sublist]) -> (equation, operands)."""
    def term(sub):
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)
    operands = list(args[0::2])
    sublists = list(args[1::2])
    out = None
    if len(args) % 2:  # the last element is the output sublist
        out = operands.pop()
    eq = ",".join(term(s) for s in sublists)
    if out is not None:
        eq += "->" + term(out)
    return eq, operands


def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Einstein summation: multiply ``operands`` along the labels they share and sum the labels the
    output (after '->') does not keep.

    Without '->' the output is every label that appears exactly once, in alphabetical order (A-Z before
    a-z), after the ellipsis dims. '...' stands for the leading (or middle) dims, broadcast across
    operands; dims of size 1 broadcast too. A label repeated within an operand takes its diagonal.
    Operands may also be given as one list, or in the sublist form ``einsum(x, [0, 1], y, [1, 2], [0, 2])``.

    Example::

        >>> a, b = nnzoo.ones(2, 3), nnzoo.ones(3, 4)
        >>> nnzoo.einsum('ij,jk->ik', a, b).shape
        nnzoo.Size([2, 4])
    """
    if isinstance(equation, Tensor):
        equation, operands = _sublist_equation((equation,) + operands)
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum: operand {i} is a {type(x).__name__}, expected a Tensor")
    if not operands:
        raise RuntimeError("einsum: at least one operand is required")
    for x in operands[1:]:
        if x._data.dtype != operands[0]._data.dtype:
            raise RuntimeError(f"einsum: equation {equation!r}: expected all operands to have the same "
                               f"dtype, got {', '.join(str(t.dtype) for t in operands)} (shapes "
                               f"{', '.join(str(tuple(t.shape)) for t in operands)})")
    subs, out = _parse_einsum(equation, operands)
    return _contract(operands, subs, out)


from . import arith as _arith  # noqa: E402
from . import shape as _shape  # noqa: E402
