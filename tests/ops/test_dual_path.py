"""The dual-path backwards are one function: the same first-order gradients from both paths.

Some backwards (conv, attention, linear, layer norm, gelu, relu, the fused recurrent layer and cell, and the
prod/cumprod-with-zeros rules) have two implementations: an array fast path taken by a plain ``backward()``
(grad mode off while the engine runs the backward) and a path in Tensor ops taken under ``create_graph=True``
(grad mode on, so the gradients are themselves differentiable). The harness checks the Tensor path's
derivatives (double backward) and the array path against torch; this file proves the two paths give the
same first-order gradients, through the public API only, over a few shapes, dtypes and options:
float64 to 1e-12 of the gradient's scale, float32 to 1e-5 (the two paths sum in different orders).
"""
import numpy as np
import pytest

import nnzoo
import nnzoo.nn as nn
import nnzoo.nn.functional as F

TOL = {np.float64: 1e-12, np.float32: 1e-5}


def _assert_paths_equal(fn, arrays, dtype, params=(), seed=0):
    """Gradients of sum(u * out) for every output, w.r.t. the float inputs and ``params``: from
    ``backward()`` (the array path) and from ``nnzoo.autograd.grad(..., create_graph=True)`` (the Tensor
    path), equal to ``TOL[dtype]`` times the largest gradient entry (elementwise)."""
    rng = np.random.default_rng(seed)
    us, results = None, []
    for create_graph in (False, True):
        ins = [nnzoo.tensor(a.astype(dtype), requires_grad=True) if a.dtype.kind == "f" else nnzoo.tensor(a)
               for a in arrays]
        outs = fn(*ins)
        outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o.requires_grad]
        if us is None:
            us = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in outs]
        # u requires grad on the Tensor path: its gradients are then graphs whenever that path ran
        loss = sum((o * nnzoo.tensor(u, requires_grad=create_graph)).sum() for o, u in zip(outs, us))
        leaves = [t for t in ins if t.requires_grad] + list(params)
        if create_graph:
            grads = nnzoo.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
            assert any(g is not None and g.requires_grad for g in grads), "the Tensor path built no graph"
        else:
            for p in params:
                p.grad = None
            loss.backward()
            grads = [t.grad for t in leaves]
        results.append([None if g is None else g.detach().numpy() for g in grads])
    for i, (fast, graph) in enumerate(zip(*results)):
        assert (fast is None) == (graph is None), f"leaf {i}: a gradient from one path only"
        if fast is None:
            continue
        assert fast.dtype == graph.dtype == np.dtype(dtype), f"leaf {i}: dtypes {fast.dtype}, {graph.dtype}"
        scale = max(float(np.nanmax(np.abs(graph), initial=0.0)), 1e-300)
        np.testing.assert_allclose(fast, graph, rtol=TOL[dtype], atol=TOL[dtype] * scale, equal_nan=True,
                                   err_msg=f"leaf {i}: array path vs Tensor path")


def _randn(*shape, seed=1):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape)


DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32])


# ---- conv: Conv, ConvTranspose (both are each other's backward) ----------------------------------------------
CONV = [
    ("conv2d", (2, 4, 7, 6), (6, 2, 3, 3), dict(stride=(1, 2), padding=1, groups=2)),
    ("conv2d", (2, 8, 5, 5), (2, 8, 3, 3), dict(padding=1)),  # the row-shift layout
    ("conv2d", (1, 3, 6, 6), (2, 3, 2, 3), dict(padding="same", dilation=2)),
    ("conv1d", (2, 3, 9), (4, 3, 3), dict(stride=2, padding=1, dilation=2)),
    ("conv_transpose2d", (2, 4, 3, 4), (4, 2, 3, 3), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), dict(stride=2, groups=2)),
]


@DTYPES
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name,xs,ws,kw", CONV, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONV)])
@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_conv(name, xs, ws, kw, bias, dtype):
    n_out = ws[1] * kw.get("groups", 1) if name.startswith("conv_transpose") else ws[0]
    arrays = [_randn(*xs), _randn(*ws)] + ([_randn(n_out)] if bias else [])
    _assert_paths_equal(lambda x, w, *b: getattr(F, name)(x, w, *b, **kw), arrays, dtype)


# ---- attention: scaled_dot_product_attention and MultiheadAttention (its attention-weights output too) ------
@DTYPES
@pytest.mark.parametrize("kind", ["plain", "causal", "float_mask", "bool_mask", "gqa"])
def test_scaled_dot_product_attention(kind, dtype):
    q, k, v = _randn(2, 2, 4, 5), _randn(2, 2, 6, 5, seed=2), _randn(2, 2, 6, 3, seed=3)
    if kind == "float_mask":
        _assert_paths_equal(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                            [q, k, v, _randn(4, 6)], dtype)
    elif kind == "bool_mask":
        mask = np.random.default_rng(4).random((4, 6)) > 0.4
        mask[:, 0] = True
        _assert_paths_equal(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                            [q, k, v, mask], dtype)
    elif kind == "gqa":
        _assert_paths_equal(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                            [_randn(2, 4, 4, 5), k, v], dtype)
    else:
        _assert_paths_equal(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=kind == "causal"),
                            [q, k, v], dtype)


@DTYPES
@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention(need_weights, dtype):
    nnzoo.manual_seed(0)
    mha = nn.MultiheadAttention(6, 2, batch_first=True).to(nnzoo.float64 if dtype == np.float64 else nnzoo.float32)
    mask = np.random.default_rng(5).random((2, 5)) > 0.7
    mask[:, 0] = False

    def fn(q, kv, m):
        out, w = mha(q, kv, kv, key_padding_mask=m, need_weights=need_weights)
        return (out, w) if need_weights else out
    _assert_paths_equal(fn, [_randn(2, 4, 6), _randn(2, 5, 6, seed=2), mask], dtype, params=list(mha.parameters()))


# ---- nn: linear ------------------------------------------------------------------------------------------------
@DTYPES
@pytest.mark.parametrize("xs,bias", [((5, 3), True), ((2, 4, 3), True), ((3,), False), ((2, 1, 4, 3), False)])
def test_linear(xs, bias, dtype):
    arrays = [_randn(*xs), _randn(4, 3, seed=2)] + ([_randn(4, seed=3)] if bias else [])
    _assert_paths_equal(lambda x, w, *b: F.linear(x, w, *b), arrays, dtype)


# ---- norm: layer_norm (the fused op), group_norm (its statistics), batch_norm (composed) -------------------------
@DTYPES
@pytest.mark.parametrize("shape,k,affine", [((4, 3, 6), 1, "wb"), ((2, 3, 4), 2, ""), ((3, 2, 2, 3), 3, "w"),
                                            ((5, 4), 1, "b")])
def test_layer_norm(shape, k, affine, dtype):
    norm = shape[len(shape) - k:]
    arrays = [_randn(*shape) * 2 + 1] + [_randn(*norm, seed=i) for i in range(len(affine))]

    def fn(x, *p):
        w = p[0] if "w" in affine else None
        b = p[-1] if "b" in affine else None
        return F.layer_norm(x, norm, w, b)
    _assert_paths_equal(fn, arrays, dtype)


@DTYPES
@pytest.mark.parametrize("shape,groups,affine", [((3, 6, 5), 2, True), ((2, 6, 3, 2), 3, False), ((2, 4), 4, True)])
def test_group_norm(shape, groups, affine, dtype):
    arrays = [_randn(*shape)] + ([_randn(shape[1], seed=2), _randn(shape[1], seed=3)] if affine else [])
    _assert_paths_equal(lambda x, *p: F.group_norm(x, groups, *p), arrays, dtype)


@DTYPES
@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 2)])
def test_batch_norm(shape, dtype):
    arrays = [_randn(*shape), _randn(3, seed=2), _randn(3, seed=3)]
    _assert_paths_equal(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), arrays, dtype)


# ---- unary: gelu (erf form; the tanh form has one path), relu (at 0 and nan too) ------------------------------
@DTYPES
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(approximate, dtype):
    x = np.concatenate([_randn(3, 4).ravel() * 3, [0.0, -9.0, 9.0, 40.0, -40.0]])
    _assert_paths_equal(lambda t: F.gelu(t, approximate=approximate), [x], dtype)


@DTYPES
def test_relu(dtype):
    x = np.concatenate([_randn(3, 4).ravel(), [0.0, -0.0, np.nan, np.inf, -np.inf]])
    _assert_paths_equal(F.relu, [x], dtype)


# ---- rnn: the fused layers (RNN, LSTM, GRU modules) and the single-step cells ------------------------------------
RNNS = [
    ("RNN", dict(nonlinearity="tanh")), ("RNN", dict(nonlinearity="relu", bidirectional=True)),
    ("LSTM", dict(num_layers=2)), ("LSTM", dict(proj_size=2, bidirectional=True)), ("GRU", dict(bias=False)),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
]


@DTYPES
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("name,kw", RNNS, ids=[f"{r[0]}-{i}" for i, r in enumerate(RNNS)])
def test_recurrent_layer(name, kw, packed, dtype):
    nnzoo.manual_seed(1)
    rnn = getattr(nn, name)(3, 4, **kw).to(nnzoo.float64 if dtype == np.float64 else nnzoo.float32)
    T, B = 4, 3
    x = _randn(B, T, 3) if kw.get("batch_first") else _randn(T, B, 3)

    def fn(x):
        if packed:
            seq = nn.utils.rnn.pack_padded_sequence(x, [4, 2, 3], batch_first=kw.get("batch_first", False),
                                                    enforce_sorted=False)
            out, state = rnn(seq)
            out = out.data
        else:
            out, state = rnn(x)
        return (out,) + (state if isinstance(state, tuple) else (state,))
    _assert_paths_equal(fn, [x], dtype, params=list(rnn.parameters()))


@DTYPES
@pytest.mark.parametrize("name,kw", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu")), ("LSTMCell", {}),
                                     ("GRUCell", {}), ("GRUCell", dict(bias=False))])
def test_cell(name, kw, dtype):
    nnzoo.manual_seed(2)
    cell = getattr(nn, name)(3, 4, **kw).to(nnzoo.float64 if dtype == np.float64 else nnzoo.float32)
    arrays = [_randn(2, 3), _randn(2, 4, seed=2)] + ([_randn(2, 4, seed=3)] if name == "LSTMCell" else [])

    def fn(x, h, *c):
        out = cell(x, (h, c[0]) if c else h)
        return out if isinstance(out, tuple) else (out,)
    _assert_paths_equal(fn, arrays, dtype, params=list(cell.parameters()))


# ---- reduce: prod and cumprod with zeros (an exact O(n^2) form when a graph is built) ------------------------------
@DTYPES
@pytest.mark.parametrize("op", ["prod_all", "prod_dim", "cumprod"])
def test_prod_and_cumprod_with_zeros(op, dtype):
    x = _randn(3, 5)
    x.flat[[1, 6, 7]] = 0.0  # rows with one, two and no zeros; the whole tensor with three
    fn = {"prod_all": lambda t: t.prod(), "prod_dim": lambda t: t.prod(1), "cumprod": lambda t: t.cumprod(1)}[op]
    _assert_paths_equal(fn, [x], dtype)
