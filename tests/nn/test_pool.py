"""The pooling / upsampling / LRN / pixel-shuffle modules: reprs identical to PyTorch's, outputs and gradients
equal to torch's modules built with the same arguments, no parameters, and use inside a Sequential."""
import numpy as np
import pytest
import torch

import nnzoo

rng = np.random.default_rng(11)

# (constructor source, input shape): the same source builds the torch module (torch.nn.X) and ours (nn.X)
MODULES = [
    ("MaxPool1d(3)", (2, 3, 10)),
    ("MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True)", (2, 3, 11)),
    ("MaxPool2d(2, 2)", (2, 3, 8, 8)),
    ("MaxPool2d(3, stride=2)", (2, 3, 9, 9)),
    ("MaxPool2d((3, 2), stride=(2, 1), padding=(1, 0), dilation=1, ceil_mode=True)", (3, 7, 6)),
    ("MaxPool2d(kernel_size=3, stride=2, padding=1)", (2, 3, 8, 7)),
    ("AvgPool1d(3)", (2, 3, 10)),
    ("AvgPool1d(4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)", (3, 11)),
    ("AvgPool2d(2)", (2, 3, 8, 8)),
    ("AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)", (2, 3, 8, 7)),
    ("AvgPool2d((2, 3), divisor_override=4)", (2, 3, 8, 9)),
    ("AdaptiveAvgPool1d(4)", (2, 3, 10)),
    ("AdaptiveAvgPool2d((1, 1))", (2, 3, 7, 7)),
    ("AdaptiveAvgPool2d((None, 3))", (2, 3, 5, 7)),
    ("AdaptiveAvgPool2d(6)", (2, 3, 13, 13)),
    ("AdaptiveMaxPool2d(3)", (2, 3, 7, 8)),
    ("AdaptiveMaxPool2d((2, None))", (3, 7, 8)),
    ("LocalResponseNorm(5)", (2, 8, 4, 4)),
    ("LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)", (2, 8, 4, 4)),
    ("LocalResponseNorm(2, 0.5)", (2, 6, 5)),
    ("Upsample(scale_factor=2)", (2, 3, 4, 5)),
    ("Upsample(scale_factor=2, mode='bilinear')", (2, 3, 4, 5)),
    ("Upsample(size=(7, 3), mode='bilinear', align_corners=True)", (2, 3, 4, 5)),
    ("Upsample(scale_factor=(1.5, 2.0), mode='nearest-exact')", (2, 3, 4, 5)),
    ("Upsample(size=9, mode='linear')", (2, 3, 4)),
    ("UpsamplingNearest2d(scale_factor=3)", (2, 3, 4, 5)),
    ("UpsamplingNearest2d(size=(5, 9))", (2, 3, 4, 5)),
    ("UpsamplingBilinear2d(scale_factor=2)", (2, 3, 4, 5)),
    ("UpsamplingBilinear2d(size=(6, 3))", (2, 3, 4, 5)),
    ("PixelShuffle(2)", (2, 8, 3, 4)),
    ("PixelUnshuffle(3)", (2, 1, 6, 9)),
]


def _build(lib, src):
    return eval(src, {}, vars(lib.nn))


@pytest.mark.parametrize("src, shape", MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch(src, shape):
    ours, theirs = _build(nnzoo, src), _build(torch, src)
    assert repr(ours) == repr(theirs)
    assert list(ours.parameters()) == [] and ours.state_dict() == {}
    x0 = rng.permutation(int(np.prod(shape))).reshape(shape) / 8.0  # no ties for the max poolings
    xs = [lib.tensor(x0, requires_grad=True) for lib in (nnzoo, torch)]
    outs = [m(x) for m, x in zip((ours, theirs), xs)]
    np.testing.assert_allclose(outs[0].detach().numpy(), outs[1].detach().numpy(), rtol=1e-12, atol=1e-12)
    w = rng.standard_normal(tuple(outs[1].shape))
    for lib, out in zip((nnzoo, torch), outs):
        (out * lib.tensor(w)).sum().backward()
    np.testing.assert_allclose(xs[0].grad.numpy(), xs[1].grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("src", [
    "MaxUnpool2d(2)", "MaxUnpool2d((2, 3), stride=(1, 2), padding=1)", "MaxPool2d(3, return_indices=True)",
    "MaxPool1d(2, return_indices=True)", "AdaptiveMaxPool2d(3, return_indices=True)",
    "Upsample(size=(3, 4))", "Upsample(scale_factor=(2, 3), mode='bilinear')", "AvgPool2d(3, 2, 1)",
])
def test_reprs_of_modules_with_extra_arguments(src):
    assert repr(_build(nnzoo, src)) == repr(_build(torch, src))


def test_pool_unpool_modules_round_trip():
    x = rng.standard_normal((2, 3, 7, 9))
    res = []
    for lib in (nnzoo, torch):
        pool, unpool = lib.nn.MaxPool2d(2, return_indices=True), lib.nn.MaxUnpool2d(2)
        out, idx = pool(lib.tensor(x))
        res.append((idx.numpy(), unpool(out, idx, output_size=x.shape).numpy()))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])


def test_adaptive_max_pool_module_returns_indices():
    x = rng.permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8) / 8.0
    (a, ia), (b, ib) = [lib.nn.AdaptiveMaxPool2d((3, 5), return_indices=True)(lib.tensor(x))
                        for lib in (nnzoo, torch)]
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(ia.numpy(), ib.numpy())


def test_the_notes_pooling_in_a_sequential():
    """conv-free stand-in for the notes' Net: pool, flatten, linear; same output with the same weights."""
    x = rng.standard_normal((4, 6, 28, 28)).astype(np.float32)
    nets = []
    for lib in (nnzoo, torch):
        lib.manual_seed(0)
        nets.append(lib.nn.Sequential(lib.nn.MaxPool2d(2, 2), lib.nn.AvgPool2d(2), lib.nn.Flatten(),
                                      lib.nn.Linear(6 * 7 * 7, 10)))
    nets[0].load_state_dict({k: nnzoo.tensor(v.numpy()) for k, v in nets[1].state_dict().items()})
    outs = [net(lib.tensor(x)) for net, lib in zip(nets, (nnzoo, torch))]
    np.testing.assert_allclose(outs[0].detach().numpy(), outs[1].detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("src, shape", [
    ("MaxPool2d((2, 2, 2))", (1, 1, 4, 4)), ("MaxPool2d(2.5)", (1, 1, 4, 4)), ("MaxPool2d((2.5, 2))", (1, 1, 4, 4)),
    ("MaxPool1d((2, 2))", (1, 1, 4)), ("AvgPool2d((2, 2, 2))", (1, 1, 4, 4)), ("AvgPool2d(2.5)", (1, 1, 4, 4)),
    ("AvgPool1d((2, 2))", (1, 1, 4)), ("AvgPool1d(2.5)", (1, 1, 4)), ("MaxPool2d(True)", (1, 1, 4, 4)),
])
def test_bad_arguments_raise_what_torch_raises(src, shape):
    """TypeError for a non-int size, RuntimeError for a tuple of the wrong length, as PyTorch (whose
    AvgPool1d checks in the forward where nnzoo's checks in the constructor)."""
    kinds = []
    for lib in (nnzoo, torch):
        try:
            _build(lib, src)(lib.zeros(*shape))
            kinds.append(None)
        except (TypeError, RuntimeError) as e:
            kinds.append(type(e))
    assert kinds[0] is kinds[1] and kinds[0] is not None, kinds
