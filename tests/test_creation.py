"""Tensor creation (tensor, factories, *_like) against PyTorch: dtypes, shapes, values and errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nnzoo

pytestmark = pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy.ndarrays")


def _dtype_name(t):
    return str(t.dtype).split(".")[-1]


def assert_same(got, want, rtol=1e-6, atol=1e-7):
    """An nnzoo tensor equals a torch tensor: dtype, shape and values (exact unless floating point)."""
    assert isinstance(got, nnzoo.Tensor), type(got)
    assert _dtype_name(got) == _dtype_name(want), f"dtype {got.dtype} != torch's {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), f"shape {tuple(got.shape)} != torch's {tuple(want.shape)}"
    a, b = got.detach().numpy(), want.detach().numpy()
    if b.dtype.kind == "f":
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    else:
        np.testing.assert_array_equal(a, b)
    assert got.requires_grad == want.requires_grad


# Each entry runs with lib = nnzoo and lib = torch; dtype, shape and values must agree.
CALLS = {
    # dtype inference of tensor(): Python floats -> float32, ints -> int64, bools -> bool, mixed promote
    "tensor_floats": lambda m: m.tensor([1.0, 2.5]),
    "tensor_ints": lambda m: m.tensor([[1, 2], [3, 4]]),
    "tensor_bools": lambda m: m.tensor([True, False]),
    "tensor_int_float": lambda m: m.tensor([1, 2.5]),
    "tensor_bool_int": lambda m: m.tensor([True, 2]),
    "tensor_bool_float": lambda m: m.tensor([[True], [2.5]]),
    "tensor_scalar_int": lambda m: m.tensor(3),
    "tensor_scalar_float": lambda m: m.tensor(-3.5),
    "tensor_scalar_bool": lambda m: m.tensor(False),
    "tensor_tuple": lambda m: m.tensor(((1, 2), (3, 4))),
    "tensor_range": lambda m: m.tensor(range(4)),
    "tensor_empty": lambda m: m.tensor([]),
    "tensor_empty_2d": lambda m: m.tensor([[], []]),
    "tensor_nested_3d": lambda m: m.tensor([[[1.0], [2.0]], [[3.0], [4.0]]]),
    "tensor_big_int": lambda m: m.tensor([2 ** 40, -(2 ** 62)]),
    "tensor_nan_inf": lambda m: m.tensor([float("nan"), float("inf"), -float("inf")]),
    # NumPy data keeps its dtype, also inside lists; NumPy scalars too
    "tensor_np_float64": lambda m: m.tensor(np.array([1.0, 2.0])),
    "tensor_np_int32": lambda m: m.tensor(np.array([1, 2], dtype=np.int32)),
    "tensor_np_uint8": lambda m: m.tensor(np.array([1, 255], dtype=np.uint8)),
    "tensor_np_bool": lambda m: m.tensor(np.array([True, False])),
    "tensor_np_0d": lambda m: m.tensor(np.array(2.0)),
    "tensor_np_scalar_f64": lambda m: m.tensor(np.float64(2.0)),
    "tensor_np_scalar_i32": lambda m: m.tensor(np.int32(2)),
    "tensor_np_scalar_f16": lambda m: m.tensor(np.float16(2.0)),
    "tensor_list_of_np_f64": lambda m: m.tensor([np.float64(1.0), np.float64(2.0)]),
    "tensor_list_np_f32_and_float": lambda m: m.tensor([np.float32(1.0), 2.0]),
    "tensor_list_int_and_np_f64": lambda m: m.tensor([1, np.float64(2.0)]),
    "tensor_list_float_and_np_i32": lambda m: m.tensor([1.5, np.int32(2)]),
    "tensor_list_np_i32_and_bool": lambda m: m.tensor([np.int32(1), True]),
    "tensor_list_of_arrays": lambda m: m.tensor([np.array([1.0, 2.0]), np.array([3.0, 4.0])]),
    "tensor_list_of_int32_arrays_and_lists": lambda m: m.tensor([np.array([1, 2], dtype=np.int32), [3, 4]]),
    "tensor_list_of_0d_tensors": lambda m: m.tensor([m.tensor(1.0), m.tensor(2.0)]),
    "tensor_list_of_mixed_0d_tensors": lambda m: m.tensor([m.tensor(1), m.tensor(2.0)]),
    "tensor_list_of_f64_0d_tensor": lambda m: m.tensor([m.tensor(1.0, dtype=m.float64), 2.0]),
    "tensor_from_tensor": lambda m: m.tensor(m.tensor([1, 2]).numpy()),
    # explicit dtype converts (floats truncate toward zero into integers)
    "tensor_dtype_float64": lambda m: m.tensor([1, 2], dtype=m.float64),
    "tensor_dtype_int64_truncates": lambda m: m.tensor([1.7, -2.7], dtype=m.int64),
    "tensor_dtype_bool": lambda m: m.tensor([0, 2], dtype=m.bool),
    "tensor_dtype_float16": lambda m: m.tensor([1.0, 0.1], dtype=m.float16),
    "tensor_dtype_int32_from_np": lambda m: m.tensor(np.array([1.5, 2.5]), dtype=m.int32),
    "tensor_requires_grad": lambda m: m.tensor([1.0, 2.0], requires_grad=True),
    "as_tensor_list": lambda m: m.as_tensor([1, 2]),
    "as_tensor_np": lambda m: m.as_tensor(np.array([1.0, 2.0])),
    "as_tensor_dtype": lambda m: m.as_tensor(np.array([1.0, 2.0]), dtype=m.float32),
    "from_numpy_int": lambda m: m.from_numpy(np.arange(3)),
    "from_numpy_f32": lambda m: m.from_numpy(np.ones((2, 2), dtype=np.float32)),
    # zeros / ones / empty: size as ints, tuple, list, Size or keyword
    "zeros_ints": lambda m: m.zeros(2, 3),
    "zeros_tuple": lambda m: m.zeros((2, 3)),
    "zeros_list": lambda m: m.zeros([2, 3]),
    "zeros_size": lambda m: m.zeros(m.Size([2, 3])),
    "zeros_keyword": lambda m: m.zeros(size=(2, 3)),
    "zeros_0d": lambda m: m.zeros(()),
    "zeros_empty_dim": lambda m: m.zeros(0, 3),
    "zeros_np_int": lambda m: m.zeros(np.int64(3)),
    "zeros_int64": lambda m: m.zeros(2, dtype=m.int64),
    "zeros_bool": lambda m: m.zeros(2, dtype=m.bool),
    "zeros_requires_grad": lambda m: m.zeros(2, requires_grad=True),
    "ones_ints": lambda m: m.ones(3, 1),
    "ones_float64": lambda m: m.ones((2,), dtype=m.float64),
    "ones_keyword": lambda m: m.ones(size=[4]),
    "ones_requires_grad": lambda m: m.ones(2, 2, requires_grad=True),
    "ones_uint8": lambda m: m.ones(2, dtype=m.uint8),
    # full: dtype from the fill value
    "full_int": lambda m: m.full((2, 3), 7),
    "full_float": lambda m: m.full((2,), 1.5),
    "full_bool": lambda m: m.full((2,), True),
    "full_list_size": lambda m: m.full([2, 2], -1.0),
    "full_0d_tensor_value": lambda m: m.full((2,), m.tensor(2.5)),
    "full_0d_f64_tensor_value": lambda m: m.full((2,), m.tensor(2.5, dtype=m.float64)),
    "full_0d_int_tensor_value": lambda m: m.full((2,), m.tensor(3)),
    "full_dtype": lambda m: m.full((2,), 3, dtype=m.float64),
    "full_float_into_int": lambda m: m.full((2,), 3.7, dtype=m.int64),
    "full_0d": lambda m: m.full((), 2),
    "full_inf": lambda m: m.full((2,), float("-inf")),
    "full_requires_grad": lambda m: m.full((2,), 1.0, requires_grad=True),
    # arange: int64 for integer arguments, else the default float dtype; the length rules
    "arange_end": lambda m: m.arange(5),
    "arange_float_end": lambda m: m.arange(5.0),
    "arange_start_end_step": lambda m: m.arange(1, 10, 3),
    "arange_negative_step": lambda m: m.arange(10, 0, -3),
    "arange_float_step": lambda m: m.arange(0, 1, 0.1),
    "arange_float_step_inclusive_looking": lambda m: m.arange(1, 2.5, 0.5),
    "arange_float_step_rounding": lambda m: m.arange(1, 1.3, 0.1),
    "arange_third": lambda m: m.arange(0, 1, 1 / 3),
    "arange_negative_float_step": lambda m: m.arange(1.0, 0, -0.25),
    "arange_float_across_zero": lambda m: m.arange(-1, 1, 0.2),
    "arange_empty": lambda m: m.arange(0),
    "arange_start_equals_end": lambda m: m.arange(1.0, 1.0),
    "arange_float64": lambda m: m.arange(5, dtype=m.float64),
    "arange_float64_step": lambda m: m.arange(0, 1, 1 / 3, dtype=m.float64),
    "arange_int32": lambda m: m.arange(0.0, 5, dtype=m.int32),
    "arange_uint8": lambda m: m.arange(0, 5, 2, dtype=m.uint8),
    "arange_float16": lambda m: m.arange(0, 5, dtype=m.float16),
    "arange_int_dtype_truncates_bounds": lambda m: m.arange(0, 2.5, 1.0, dtype=m.int64),
    "arange_int_dtype_truncates_start": lambda m: m.arange(0.5, 3, dtype=m.int64),
    "arange_int_dtype_truncates_step": lambda m: m.arange(0.5, 3.7, 1.5, dtype=m.int64),
    "arange_int_dtype_negative_start": lambda m: m.arange(-3.7, 0, dtype=m.int64),
    "arange_tensor_end": lambda m: m.arange(m.tensor(4)),
    "arange_tensor_start": lambda m: m.arange(m.tensor(0.5), 3),
    "arange_np_float_step": lambda m: m.arange(0, 3, np.float64(1.0)),
    "arange_bool_step": lambda m: m.arange(0, 3, True),
    "arange_big_int": lambda m: m.arange(2 ** 40, 2 ** 40 + 3),
    "arange_requires_grad": lambda m: m.arange(3.0, requires_grad=True),
    # linspace / logspace
    "linspace": lambda m: m.linspace(0, 1, 5),
    "linspace_int_args": lambda m: m.linspace(0, 10, 5),
    "linspace_descending": lambda m: m.linspace(3, -1, 7),
    "linspace_one": lambda m: m.linspace(2, 3, 1),
    "linspace_zero": lambda m: m.linspace(2, 3, 0),
    "linspace_float64": lambda m: m.linspace(0, 1, 11, dtype=m.float64),
    "linspace_int64": lambda m: m.linspace(0, 10, 4, dtype=m.int64),
    "linspace_int64_negative": lambda m: m.linspace(-10, 0, 4, dtype=m.int64),
    "linspace_tensor_bounds": lambda m: m.linspace(m.tensor(0.0), m.tensor(1.0), 3),
    "logspace": lambda m: m.logspace(0, 2, 3),
    "logspace_base2": lambda m: m.logspace(0, 4, 5, base=2),
    "logspace_negative": lambda m: m.logspace(-2, 1, 4),
    "logspace_int64": lambda m: m.logspace(0, 2, 3, dtype=m.int64),
    # eye
    "eye": lambda m: m.eye(3),
    "eye_rect": lambda m: m.eye(2, 3),
    "eye_tall": lambda m: m.eye(3, 2),
    "eye_zero": lambda m: m.eye(0),
    "eye_int64": lambda m: m.eye(2, dtype=m.int64),
    "eye_bool": lambda m: m.eye(2, dtype=m.bool),
    "eye_requires_grad": lambda m: m.eye(2, requires_grad=True),
    # *_like: shape and dtype of the input unless told
    "zeros_like_int": lambda m: m.zeros_like(m.tensor([1, 2])),
    "zeros_like_float64": lambda m: m.zeros_like(m.ones(2, 3, dtype=m.float64)),
    "zeros_like_requires_grad": lambda m: m.zeros_like(m.ones(2), requires_grad=True),
    "ones_like_dtype": lambda m: m.ones_like(m.tensor([1, 2]), dtype=m.float64),
    "ones_like_bool": lambda m: m.ones_like(m.tensor([True, False])),
    "full_like_int_keeps_dtype": lambda m: m.full_like(m.tensor([1, 2]), 2.7),
    "full_like_float": lambda m: m.full_like(m.tensor([1.0, 2.0]), 2),
    "full_like_dtype": lambda m: m.full_like(m.tensor([1.0, 2.0]), 2, dtype=m.int64),
    "full_like_0d_tensor": lambda m: m.full_like(m.zeros(2), m.tensor(3.0)),
    "empty_like_shape": lambda m: m.empty_like(m.ones(2, 3, dtype=m.float64)).fill_(0),
    "empty_shape": lambda m: m.empty(2, 3).fill_(1),
    "empty_keyword": lambda m: m.empty(size=(1, 2), dtype=m.int64).fill_(1),
    # Tensor.new_* go through the factories
    "new_zeros": lambda m: m.ones(2, dtype=m.float64).new_zeros(3, 2),
    "new_full": lambda m: m.ones(2, dtype=m.int64).new_full((2,), 5),
    "new_tensor": lambda m: m.ones(2, dtype=m.float64).new_tensor([1, 2]),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_factory_matches_torch(name):
    assert_same(CALLS[name](nnzoo), CALLS[name](torch))


def test_default_dtype_float64():
    before_nz, before_th = nnzoo.get_default_dtype(), torch.get_default_dtype()
    try:
        nnzoo.set_default_dtype(nnzoo.float64)
        torch.set_default_dtype(torch.float64)
        for fn in (lambda m: m.tensor([1.0, 2.0]), lambda m: m.tensor([1, 2.5]), lambda m: m.zeros(2),
                   lambda m: m.full((2,), 1.5), lambda m: m.arange(0, 1, 0.25), lambda m: m.linspace(0, 1, 3),
                   lambda m: m.eye(2), lambda m: m.tensor([np.float32(1.0), 2.0]), lambda m: m.tensor(3)):
            assert_same(fn(nnzoo), fn(torch))
    finally:
        nnzoo.set_default_dtype(before_nz)
        torch.set_default_dtype(before_th)


# ---- memory: tensor() copies, from_numpy / as_tensor share -----------------------------------------------
def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3)
    copied, shared, as_t = nnzoo.tensor(a), nnzoo.from_numpy(a), nnzoo.as_tensor(a)
    a[0] = 5.0
    assert copied.numpy()[0] == 0.0
    assert shared.numpy()[0] == 5.0 and as_t.numpy()[0] == 5.0
    src = nnzoo.tensor([1.0, 2.0])
    dup = nnzoo.tensor(src)
    src.add_(1.0)
    np.testing.assert_array_equal(dup.numpy(), [1.0, 2.0])
    assert nnzoo.as_tensor(src) is src


def test_requires_grad_results_are_leaves():
    for t in (nnzoo.tensor([1.0], requires_grad=True), nnzoo.zeros(2, requires_grad=True),
              nnzoo.arange(3.0, requires_grad=True), nnzoo.full((2,), 1.0, requires_grad=True)):
        assert t.requires_grad and t.is_leaf and t.grad_fn is None
        (t * 2).sum().backward()
        np.testing.assert_array_equal(t.grad.numpy(), np.full(t.shape, 2.0, dtype=t.numpy(force=True).dtype))


@settings(max_examples=60, deadline=None)
@given(start=st.floats(-50, 50), length=st.floats(0, 50),
       step=st.floats(0.05, 10) | st.floats(-10, -0.05), as_int=st.booleans())
def test_arange_length_and_values_hypothesis(start, length, step, as_int):
    end = start + length if step > 0 else start - length
    args = (int(start), int(end), max(1, int(abs(step))) * (1 if step > 0 else -1)) if as_int \
        else (start, end, step)
    got, want = nnzoo.arange(*args), torch.arange(*args)
    # float32 results: torch may fuse start + i * step into one FMA, so allow an ulp of the largest value
    assert_same(got, want, rtol=1e-6, atol=1e-6 * max(abs(start), abs(end), 1.0))
    got, want = nnzoo.arange(*args, dtype=nnzoo.float64), torch.arange(*args, dtype=torch.float64)
    assert_same(got, want, rtol=1e-12, atol=1e-12 * max(abs(start), abs(end), 1.0))
    if int(args[2]) != 0:  # an integer dtype truncates start, end and step first
        assert_same(nnzoo.arange(*args, dtype=nnzoo.int64), torch.arange(*args, dtype=torch.int64))


# ---- errors --------------------------------------------------------------------------------------
ERRORS = [
    (lambda m: m.tensor([[1, 2], [3]]), ValueError,
     r"tensor: ragged nested sequence: expected sequence of length 2 at dim 1 \(got 1\)"),
    (lambda m: m.tensor([[1, 2], [3, 4, 5]]), ValueError, r"expected sequence of length 2 at dim 1 \(got 3\)"),
    (lambda m: m.tensor([[[1], [2]], [[3], [4, 5]]]), ValueError, r"expected sequence of length 1 at dim 2 \(got 2\)"),
    (lambda m: m.tensor([[1], 2]), TypeError, "at dim 1 some items are sequences and some are not"),
    (lambda m: m.tensor([1, [2]]), TypeError, "at dim 1 some items are sequences and some are not"),
    (lambda m: m.tensor([np.ones(2), np.ones(3)]), ValueError,
     r"at dim 1 the items are arrays/tensors of shapes \[\(2,\), \(3,\)\]"),
    (lambda m: m.tensor([np.ones(2), 3.0]), ValueError, r"shapes \[\(2,\)\] mixed with numbers"),
    (lambda m: m.tensor("abc"), TypeError, "tensor: invalid data type 'str'"),
    (lambda m: m.tensor([None]), RuntimeError, "could not infer dtype of NoneType"),
    (lambda m: m.tensor([2 ** 64]), (RuntimeError, ValueError), "tensor: value cannot be converted to"),
    (lambda m: m.tensor([300], dtype=m.uint8), RuntimeError, "tensor: value cannot be converted to .*uint8"),
    (lambda m: m.tensor([float("inf")], dtype=m.int64), RuntimeError, "value cannot be converted to .*int64"),
    (lambda m: m.tensor([1], requires_grad=True), RuntimeError, "floating point"),
    (lambda m: m.zeros(-1), RuntimeError, r"zeros: sizes must be non-negative, got \(-1,\)"),
    (lambda m: m.ones(2, -3), RuntimeError, r"ones: sizes must be non-negative, got \(2, -3\)"),
    (lambda m: m.zeros(2.0), TypeError, r"zeros\(\): size must be ints"),
    (lambda m: m.zeros(), TypeError, r"zeros\(\): missing the size argument"),
    (lambda m: m.ones(2, dtype=m.int64, requires_grad=True), RuntimeError, "floating point"),
    (lambda m: m.arange(0, 10, -1), RuntimeError, "arange: upper bound and lower bound inconsistent with step sign"),
    (lambda m: m.arange(0, 1, 0), RuntimeError, "arange: step must be nonzero"),
    (lambda m: m.arange(0, 2.5, 0.5, dtype=m.int64), RuntimeError, "arange: step must be nonzero"),
    (lambda m: m.arange(0, float("inf")), RuntimeError, "arange: unsupported range"),
    (lambda m: m.arange(5, dtype=m.bool), RuntimeError, "arange: not implemented for bool"),
    (lambda m: m.linspace(0, 1, -1), RuntimeError, "linspace: number of steps must be non-negative"),
    (lambda m: m.linspace(0, 1, 2.5), TypeError, r"linspace\(\): steps must be an int"),
    (lambda m: m.eye(-1), RuntimeError, "eye: n and m must be non-negative"),
    (lambda m: m.zeros(2, device="cuda"), RuntimeError, "device 'cuda' is not available"),
]


@pytest.mark.parametrize("fn,exc,match", ERRORS, ids=[m for _, _, m in ERRORS])
def test_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(nnzoo)
    if "device" not in match:
        with pytest.raises(Exception):  # noqa: B017  PyTorch refuses the same call (its error type is its own)
            fn(torch)


def test_large_flat_list_is_converted_at_c_speed():
    data = np.random.default_rng(0).standard_normal(200_000).tolist()
    t = nnzoo.tensor(data)
    assert t.dtype == nnzoo.float32
    np.testing.assert_array_equal(t.numpy(), np.array(data, dtype=np.float32))
    nested = np.arange(60_000).reshape(300, 200).tolist()
    assert_same(nnzoo.tensor(nested), torch.tensor(nested))
