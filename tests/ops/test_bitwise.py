"""The bitwise family (``~ & | ^ << >>``, ``bitwise_*`` functions, methods and in-place forms) against PyTorch.

On integer tensors the operators are bit by bit, on bool tensors logical; float tensors raise. Every
expectation is PyTorch's answer on the same values, computed inside the test.
"""
import itertools
import operator

import numpy as np
import pytest
import torch

import nnzoo

INTS = ("int8", "int16", "int32", "int64", "uint8")
DTYPES = INTS + ("bool",)
FLOATS = ("float16", "float32", "float64")

BINARY = {  # name: (operator, function name)
    "and": (operator.and_, "bitwise_and"),
    "or": (operator.or_, "bitwise_or"),
    "xor": (operator.xor, "bitwise_xor"),
    "lshift": (operator.lshift, "bitwise_left_shift"),
    "rshift": (operator.rshift, "bitwise_right_shift"),
}
INPLACE = {"and": operator.iand, "or": operator.ior, "xor": operator.ixor, "lshift": operator.ilshift,
           "rshift": operator.irshift}
SHIFTS = ("lshift", "rshift")


def _values(dtype, shape, seed, shift=False):
    """Values of ``dtype`` covering its extremes (shift amounts: around 0 and the widths 8..64)."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    info = np.iinfo(dtype)
    if shift:
        lo = max(int(info.min), -3)
        return rng.integers(lo, min(int(info.max), 70), size=shape, endpoint=True).astype(dtype)
    special = np.array([info.min, info.max, 0, 1, info.max // 2 + 1] + ([-1] if info.min < 0 else []), dtype)
    out = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    flat = out.reshape(-1)
    flat[: min(flat.size, special.size)] = special[: flat.size]
    return out


def _pair(np_a, np_b):
    return (nnzoo.tensor(np_a), nnzoo.tensor(np_b)), (torch.from_numpy(np_a), torch.from_numpy(np_b))


def _same(got, want):
    """nnzoo's result equals PyTorch's: dtype, shape and every value."""
    assert isinstance(got, nnzoo.Tensor), type(got)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (got.dtype, want.dtype)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def _same_outcome(fn_nz, fn_th):
    """Both libraries give the same result, or both raise the same exception type (and message)."""
    try:
        want = fn_th()
    except Exception as e:  # whatever PyTorch raises, nnzoo must raise too
        with pytest.raises(type(e)) as info:
            fn_nz()
        assert str(info.value) == str(e)
        return
    _same(fn_nz(), want)


# ---- ~ and bitwise_not -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_invert_is_bitwise_not_as_torch(dtype):
    a = _values(dtype, (3, 4), seed=0)
    x, tx = nnzoo.tensor(a), torch.from_numpy(a)
    _same(~x, ~tx)
    _same(nnzoo.bitwise_not(x), torch.bitwise_not(tx))
    _same(x.bitwise_not(), tx.bitwise_not())


def test_invert_of_an_integer_tensor_flips_bits():
    # the review's example: logical in nnzoo before this fix ([False, False]), bitwise in PyTorch
    _same(~nnzoo.tensor([1, 2]), ~torch.tensor([1, 2]))


@pytest.mark.parametrize("dtype", FLOATS)
def test_invert_and_bitwise_not_refuse_floats_as_torch(dtype):
    a = np.array([1.0, -2.0], dtype)
    _same_outcome(lambda: ~nnzoo.tensor(a), lambda: ~torch.from_numpy(a))
    _same_outcome(lambda: nnzoo.bitwise_not(nnzoo.tensor(a)), lambda: torch.bitwise_not(torch.from_numpy(a)))


# ---- & | ^ << >> ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_same_dtype_as_torch(name, dtype):
    """Operator, function and method, with broadcasting ((3, 1) with (4,)); shifts of bool raise."""
    op, fname = BINARY[name]
    a = _values(dtype, (3, 1), seed=1)
    b = _values(dtype, (4,), seed=2, shift=name in SHIFTS)
    (x, y), (tx, ty) = _pair(a, b)
    _same_outcome(lambda: op(x, y), lambda: op(tx, ty))
    _same_outcome(lambda: getattr(nnzoo, fname)(x, y), lambda: getattr(torch, fname)(tx, ty))
    _same_outcome(lambda: getattr(x, fname)(y), lambda: getattr(tx, fname)(ty))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_mixed_dtypes_promote_as_torch(name):
    op, _ = BINARY[name]
    for da, db in itertools.product(DTYPES, DTYPES):
        if da == db:
            continue
        a = _values(da, (5,), seed=3)
        b = _values(db, (5,), seed=4, shift=name in SHIFTS)
        (x, y), (tx, ty) = _pair(a, b)
        _same_outcome(lambda x=x, y=y: op(x, y), lambda tx=tx, ty=ty: op(tx, ty))


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_with_python_scalars_as_torch(name, dtype):
    """A Python int or bool on either side (the reflected operators too); a Python float raises."""
    op, fname = BINARY[name]
    a = _values(dtype, (6,), seed=5)
    x, tx = nnzoo.tensor(a), torch.from_numpy(a)
    for s in (0, 1, 3, 7, True, False, 1.5):
        _same_outcome(lambda s=s: op(x, s), lambda s=s: op(tx, s))
        _same_outcome(lambda s=s: op(s, x), lambda s=s: op(s, tx))
        _same_outcome(lambda s=s: getattr(nnzoo, fname)(x, s), lambda s=s: getattr(torch, fname)(tx, s))


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", FLOATS)
def test_binary_refuses_floats_as_torch(name, dtype):
    op, fname = BINARY[name]
    f = np.array([1.0, 2.0], dtype)
    i = np.array([1, 2], np.int64)
    for a, b in ((f, f), (f, i), (i, f)):
        (x, y), (tx, ty) = _pair(a, b)
        _same_outcome(lambda x=x, y=y: op(x, y), lambda tx=tx, ty=ty: op(tx, ty))
        _same_outcome(lambda x=x, y=y: getattr(nnzoo, fname)(x, y),
                      lambda tx=tx, ty=ty: getattr(torch, fname)(tx, ty))
    _same_outcome(lambda: op(nnzoo.tensor(f), 1), lambda: op(torch.from_numpy(f), 1))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_shape_mismatch_raises_runtime_error(name):
    op, _ = BINARY[name]
    with pytest.raises(RuntimeError):
        op(torch.tensor([1, 2]), torch.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError):
        op(nnzoo.tensor([1, 2]), nnzoo.tensor([1, 2, 3]))


# ---- in place ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", DTYPES)
def test_inplace_operators_change_the_tensor_as_torch(name, dtype):
    """``x &= y`` writes into x (an alias sees it), as in PyTorch; bool &= int64 cannot cast and raises."""
    iop, (_, fname) = INPLACE[name], BINARY[name]
    for db in (dtype, "int64"):
        a = _values(dtype, (2, 3), seed=6)
        b = _values(db, (3,), seed=7, shift=name in SHIFTS)
        (x, y), (tx, ty) = _pair(a.copy(), b)
        alias, talias = x, tx
        try:
            iop(tx, ty)
        except RuntimeError as e:
            with pytest.raises(type(e)):
                iop(x, y)
            np.testing.assert_array_equal(x.numpy(), a)  # unchanged after the refusal
            continue
        x2 = iop(x, y)
        assert x2 is alias
        _same(alias, talias)
        (x, y), (tx, ty) = _pair(a.copy(), b)
        assert getattr(x, fname + "_")(y) is x
        _same(x, getattr(tx, fname + "_")(ty))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_not_in_place_as_torch(dtype):
    a = _values(dtype, (4,), seed=8)
    x, tx = nnzoo.tensor(a.copy()), torch.from_numpy(a.copy())
    assert x.bitwise_not_() is x
    _same(x, tx.bitwise_not_())
