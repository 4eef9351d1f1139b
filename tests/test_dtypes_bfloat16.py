"""nnzoo.bfloat16 (through ml_dtypes) as a storage and cast dtype, against torch's bfloat16 rounding."""
import numpy as np
import pytest
import torch

import nnzoo


def _values():
    rng = np.random.default_rng(0)
    specials = [0.0, -0.0, 1.0, 1.00390625, 1.01171875, 3.3895313892515355e38, 1e39, -1e39, 1e-40, np.inf, -np.inf,
                np.nan, 65504.0, 1 / 3]
    return np.concatenate([rng.standard_normal(200) * 10.0 ** rng.integers(-6, 6, 200), specials])


@pytest.mark.parametrize("source", ["float32", "float64"])
def test_cast_rounds_as_torch(source):
    data = _values().astype(source)
    n = nnzoo.tensor(data).to(nnzoo.bfloat16)
    t = torch.tensor(data).to(torch.bfloat16)
    assert n.dtype == nnzoo.bfloat16 and n.element_size() == t.element_size() == 2
    np.testing.assert_array_equal(n.float().numpy(), t.float().numpy())
    np.testing.assert_array_equal(nnzoo.tensor(data).bfloat16().double().numpy(), t.double().numpy())


def test_made_in_bfloat16_as_torch():
    data = [[0.1, 2.5, -3.7], [1e3, 1e-3, 7.0]]
    n, t = nnzoo.tensor(data, dtype=nnzoo.bfloat16), torch.tensor(data, dtype=torch.bfloat16)
    np.testing.assert_array_equal(n.float().numpy(), t.float().numpy())
    for make in (lambda m: m.zeros(2, dtype=m.bfloat16), lambda m: m.ones(2, 2, dtype=m.bfloat16),
                 lambda m: m.full((3,), 1.1, dtype=m.bfloat16), lambda m: m.arange(0, 1, 0.25, dtype=m.bfloat16)):
        np.testing.assert_array_equal(make(nnzoo).float().numpy(), make(torch).float().numpy())
        assert make(nnzoo).dtype == nnzoo.bfloat16
    np.testing.assert_array_equal(nnzoo.tensor([1, 2], dtype=nnzoo.bfloat16).to(nnzoo.int64).numpy(),
                                  torch.tensor([1, 2], dtype=torch.bfloat16).to(torch.int64).numpy())


def test_dtype_properties_and_promotion_match_torch():
    b, tb = nnzoo.bfloat16, torch.bfloat16
    assert b.is_floating_point == tb.is_floating_point and b.is_signed == tb.is_signed and b.itemsize == tb.itemsize
    assert nnzoo.ones(2, dtype=b).is_floating_point() and repr(b) == "nnzoo.bfloat16"
    for other in ("float16", "float32", "float64", "int64", "int8", "uint8", "bool"):
        ours = nnzoo.promote_types(b, getattr(nnzoo, other))
        theirs = torch.promote_types(tb, getattr(torch, other))
        assert ours.name == str(theirs).removeprefix("torch."), other


def test_printing_and_type_name_match_torch():
    data = [1.1, -2.3, 1e-3]
    n, t = nnzoo.tensor(data).bfloat16(), torch.tensor(data).bfloat16()
    assert repr(n) == repr(t).replace("torch.", "nnzoo.")
    assert n.type() == t.type().replace("torch.", "nnzoo.")
    assert str(nnzoo.tensor([3.0]).bfloat16()) == str(torch.tensor([3.0]).bfloat16()).replace("torch.", "nnzoo.")


def test_finfo_matches_torch():
    for name in ("bfloat16", "float16", "float32", "float64"):
        ours, theirs = nnzoo.finfo(getattr(nnzoo, name)), torch.finfo(getattr(torch, name))
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(ours, attr) == getattr(theirs, attr), (name, attr)
    assert nnzoo.finfo().dtype == torch.finfo().dtype and nnzoo.finfo(float).dtype == torch.finfo(float).dtype
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        ours, theirs = nnzoo.iinfo(getattr(nnzoo, name)), torch.iinfo(getattr(torch, name))
        assert (ours.bits, ours.min, ours.max, ours.dtype) == (theirs.bits, theirs.min, theirs.max, theirs.dtype)
    with pytest.raises(TypeError):
        nnzoo.finfo(nnzoo.int64)
    with pytest.raises(TypeError):
        nnzoo.iinfo(nnzoo.bfloat16)


def test_module_round_trip_and_indexing():
    model = nnzoo.nn.Linear(3, 2)
    w = model.weight.detach().numpy().copy()
    model.to(nnzoo.bfloat16)
    assert model.weight.dtype == nnzoo.bfloat16
    expected = torch.tensor(w).bfloat16().float().numpy()
    np.testing.assert_array_equal(model.float().weight.detach().numpy(), expected)
    n = nnzoo.tensor(_values()[:12]).bfloat16()
    t = torch.tensor(_values()[:12]).bfloat16()
    np.testing.assert_array_equal(n[2:7].float().numpy(), t[2:7].float().numpy())
    np.testing.assert_array_equal(n.reshape(3, 4).t().float().numpy(), t.reshape(3, 4).t().float().numpy())


def test_bfloat16_cannot_require_grad_with_a_clear_error():
    with pytest.raises(RuntimeError, match="bfloat16 is a storage and cast dtype"):
        nnzoo.ones(2, dtype=nnzoo.bfloat16, requires_grad=True)
