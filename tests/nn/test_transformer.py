"""The Transformer layers (nnzoo/nn/transformer.py): torch parity of every layer with every option, forward and
backward, state dict keys, the causal mask and its detection, causality, dropout, positional encodings."""
import math
import warnings

import numpy as np
import pytest
import torch
from helpers import check_module

import nnzoo
from nnzoo.nn.transformer import (
    LearnedPositionalEncoding,
    SinusoidalPositionalEncoding,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    _detect_is_causal_mask,
)

D, NHEAD, FF, T, S, B = 8, 2, 12, 4, 5, 3


def _layer_kwargs(opts):
    kw = dict(dim_feedforward=FF, dropout=0.1)
    kw.update({k: v for k, v in opts.items() if k in ("batch_first", "norm_first", "bias", "activation")})
    return kw


def _seq(length, opts, rng):
    shape = (length, D) if opts.get("unbatched") else ((B, length, D) if opts.get("batch_first") else (length, B, D))
    return rng.standard_normal(shape)


def _key_padding(length, seed):
    m = np.random.default_rng(seed).random((B, length)) < 0.3
    m[:, 0] = False
    return m


def _causal(n, kind):
    m = np.triu(np.ones((n, n), dtype=bool), 1)
    return m if kind == "bool" else np.where(m, -np.inf, 0.0)


OPTION_SETS = [
    ("default", {}),
    ("batch_first", {"batch_first": True}),
    ("norm_first", {"norm_first": True}),
    ("gelu_norm_first_batch_first", {"activation": "gelu", "norm_first": True, "batch_first": True}),
    ("no_bias", {"bias": False}),
    ("callable_activation", {"activation": "tanh"}),
    ("unbatched", {"unbatched": True}),
]
MASKS = ["none", "causal_float", "causal_bool", "key_padding", "causal_and_padding", "is_causal"]


def _activation(lib, opts):
    act = opts.get("activation")
    if act == "tanh":
        return {"activation": lib.tanh}
    return {}


def _encoder_masks(kind, opts, length):
    """(mask arrays to pass as inputs, function of those tensors -> forward kwargs)."""
    if kind == "none" or (opts.get("unbatched") and "padding" in kind):
        return [], lambda: {}
    if kind in ("causal_float", "causal_bool"):
        return [_causal(length, kind.split("_")[1])], lambda m: {"src_mask": m}
    if kind == "key_padding":
        return [_key_padding(length, 1)], lambda m: {"src_key_padding_mask": m}
    if kind == "causal_and_padding":
        return ([_causal(length, "float"), np.where(_key_padding(length, 1), -np.inf, 0.0)],
                lambda m, k: {"src_mask": m, "src_key_padding_mask": k})
    return [_causal(length, "float")], lambda m: {"src_mask": m, "is_causal": True}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("name,opts", OPTION_SETS, ids=[o[0] for o in OPTION_SETS])
def test_encoder_layer_matches_torch(name, opts, mask, dtype):
    torch.manual_seed(0)
    kw = _layer_kwargs(opts)
    th = torch.nn.TransformerEncoderLayer(D, NHEAD, **{**kw, **_activation(torch, opts)})
    nz = TransformerEncoderLayer(D, NHEAD, **{**kw, **_activation(nnzoo, opts)})
    rng = np.random.default_rng(1)
    mask_arrays, mask_kw = _encoder_masks(mask, opts, T)
    check_module(th, nz, [_seq(T, opts, rng)] + mask_arrays, lambda m, x, *ms: m(x, **mask_kw(*ms)), dtype)


DECODER_MASKS = ["none", "tgt_causal", "all_masks", "tgt_is_causal", "memory_is_causal"]


def _decoder_masks(kind, opts):
    if kind == "none":
        return [], lambda: {}
    if kind == "tgt_causal":
        return [_causal(T, "float")], lambda m: {"tgt_mask": m}
    if kind == "tgt_is_causal":
        return [_causal(T, "bool")], lambda m: {"tgt_mask": m, "tgt_is_causal": True}
    if kind == "memory_is_causal":  # T queries, S keys: the hint means SDPA's top-left aligned causal mask
        return [np.triu(np.ones((T, S), dtype=bool), 1)], lambda m: {"memory_mask": m, "memory_is_causal": True}
    mem_mask = np.random.default_rng(3).random((T, S)) < 0.3
    mem_mask[:, 0] = False
    arrays = [_causal(T, "bool"), mem_mask]
    if opts.get("unbatched"):
        return arrays, lambda a, b: {"tgt_mask": a, "memory_mask": b}
    arrays += [_key_padding(T, 4), _key_padding(S, 5)]
    return arrays, lambda a, b, c, d: {"tgt_mask": a, "memory_mask": b, "tgt_key_padding_mask": c,
                                       "memory_key_padding_mask": d}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask", DECODER_MASKS)
@pytest.mark.parametrize("name,opts", OPTION_SETS, ids=[o[0] for o in OPTION_SETS])
def test_decoder_layer_matches_torch(name, opts, mask, dtype):
    torch.manual_seed(0)
    kw = _layer_kwargs(opts)
    th = torch.nn.TransformerDecoderLayer(D, NHEAD, **{**kw, **_activation(torch, opts)})
    nz = TransformerDecoderLayer(D, NHEAD, **{**kw, **_activation(nnzoo, opts)})
    rng = np.random.default_rng(2)
    mask_arrays, mask_kw = _decoder_masks(mask, opts)
    inputs = [_seq(T, opts, rng), _seq(S, opts, rng)] + mask_arrays
    check_module(th, nz, inputs, lambda m, x, mem, *ms: m(x, mem, **mask_kw(*ms)), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", [{}, {"batch_first": True, "norm_first": True}], ids=["post_norm", "pre_norm"])
def test_encoder_and_decoder_stacks_match_torch(opts, dtype):
    torch.manual_seed(0)
    kw = _layer_kwargs(opts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: enable_nested_tensor is True, but ... norm_first
        th_enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, NHEAD, **kw), 2,
                                             norm=torch.nn.LayerNorm(D))
    nz_enc = TransformerEncoder(TransformerEncoderLayer(D, NHEAD, **kw), 2, norm=nnzoo.nn.LayerNorm(D))
    rng = np.random.default_rng(3)
    x, kpm = _seq(T, opts, rng), np.where(_key_padding(T, 6), -np.inf, 0.0)  # float, as the mask
    causal = _causal(T, "float")
    check_module(th_enc, nz_enc, [x, causal, kpm],
                 lambda m, x, c, k: m(x, mask=c, src_key_padding_mask=k), dtype)
    th_dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, NHEAD, **kw), 2)
    nz_dec = TransformerDecoder(TransformerDecoderLayer(D, NHEAD, **kw), 2)
    check_module(th_dec, nz_dec, [_seq(T, opts, rng), _seq(S, opts, rng), causal],
                 lambda m, x, mem, c: m(x, mem, tgt_mask=c), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", [{}, {"batch_first": True, "norm_first": True, "activation": "gelu"}],
                         ids=["default", "batch_first_pre_norm_gelu"])
def test_transformer_matches_torch(opts, dtype):
    torch.manual_seed(0)
    kw = dict(d_model=D, nhead=NHEAD, num_encoder_layers=2, num_decoder_layers=1, **_layer_kwargs(opts))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        th = torch.nn.Transformer(**kw)
    nz = Transformer(**kw)
    rng = np.random.default_rng(4)
    inputs = [_seq(S, opts, rng), _seq(T, opts, rng), _causal(T, "float"), _key_padding(S, 7)]
    check_module(th, nz, inputs, lambda m, src, tgt, c, k: m(src, tgt, tgt_mask=c, src_key_padding_mask=k,
                                                             memory_key_padding_mask=k), dtype)


def test_state_dict_keys_match_torch():
    pairs = [(lambda lib: lib.nn.TransformerEncoderLayer(D, NHEAD, FF), TransformerEncoderLayer),
             (lambda lib: lib.nn.TransformerDecoderLayer(D, NHEAD, FF, bias=False), TransformerDecoderLayer)]
    for make_th, cls in pairs:
        th = make_th(torch)
        nz = cls(D, NHEAD, FF) if cls is TransformerEncoderLayer else cls(D, NHEAD, FF, bias=False)
        assert {k: tuple(v.shape) for k, v in nz.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in th.state_dict().items()}
        assert list(nz.state_dict()) == list(th.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        th = torch.nn.Transformer(D, NHEAD, 2, 2, FF)
    nz = Transformer(D, NHEAD, 2, 2, FF)
    assert list(nz.state_dict()) == list(th.state_dict())
    assert "encoder.layers.1.self_attn.in_proj_weight" in nz.state_dict()


def test_layer_clones_are_independent_copies():
    layer = TransformerEncoderLayer(D, NHEAD, FF)
    enc = TransformerEncoder(layer, 2, enable_nested_tensor=False)
    w0, w1 = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    np.testing.assert_array_equal(w0.detach().numpy(), layer.linear1.weight.detach().numpy())
    assert w0 is not w1 and w0 is not layer.linear1.weight
    with nnzoo.no_grad():
        w0.add_(1.0)
    assert not np.array_equal(w0.detach().numpy(), w1.detach().numpy())
    assert not np.array_equal(w0.detach().numpy(), layer.linear1.weight.detach().numpy())


def test_transformer_init_is_xavier():
    nnzoo.manual_seed(0)
    m = Transformer(16, 2, 1, 1, 32)
    w = m.encoder.layers[0].linear1.weight.detach().numpy()  # (32, 16)
    bound = math.sqrt(6 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


@pytest.mark.parametrize("sz", [1, 4])
def test_generate_square_subsequent_mask_matches_torch(sz):
    got = Transformer.generate_square_subsequent_mask(sz)
    want = torch.nn.Transformer.generate_square_subsequent_mask(sz)
    assert got.dtype == nnzoo.float32
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert Transformer.generate_square_subsequent_mask(3, dtype=nnzoo.float64).dtype == nnzoo.float64


@pytest.mark.parametrize("mask,is_causal", [
    (None, None), (None, True), ("float_causal", None), ("bool_causal", None), ("float_causal", False),
    ("not_causal", None), ("wrong_size", None)])
def test_detect_is_causal_mask_matches_torch(mask, is_causal):
    from torch.nn.modules.transformer import _detect_is_causal_mask as torch_detect
    arrays = {"float_causal": _causal(4, "float"), "bool_causal": _causal(4, "bool"),
              "not_causal": np.zeros((4, 4)), "wrong_size": _causal(3, "float")}
    arr = arrays.get(mask)
    t = None if arr is None else torch.tensor(arr)
    n = None if arr is None else nnzoo.tensor(arr)
    assert _detect_is_causal_mask(n, is_causal, 4) == torch_detect(t, is_causal, 4)


@pytest.mark.parametrize("norm_first", [False, True])
def test_causal_encoder_output_at_t_ignores_later_inputs(norm_first):
    nnzoo.manual_seed(0)
    enc = TransformerEncoder(TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0, batch_first=True,
                                                     norm_first=norm_first), 2).double()
    x = np.random.default_rng(5).standard_normal((2, 6, D))
    mask = Transformer.generate_square_subsequent_mask(6, dtype=nnzoo.float64)
    base = enc(nnzoo.tensor(x), mask=mask).detach().numpy()
    for t in range(5):
        x2 = x.copy()
        x2[:, t + 1:] = np.random.default_rng(t).standard_normal(x2[:, t + 1:].shape) * 10
        out = enc(nnzoo.tensor(x2), mask=mask).detach().numpy()
        np.testing.assert_allclose(out[:, :t + 1], base[:, :t + 1], rtol=1e-12, atol=1e-12)
        assert not np.allclose(out[:, t + 1:], base[:, t + 1:])  # later positions do see the change


def test_dropout_train_p0_equals_eval_and_train_is_random():
    layer = TransformerEncoderLayer(D, NHEAD, FF, dropout=0.0)
    x = nnzoo.randn(T, B, D)
    np.testing.assert_array_equal(layer.train()(x).detach().numpy(), layer.eval()(x).detach().numpy())
    layer = TransformerEncoderLayer(D, NHEAD, FF, dropout=0.5)
    a, b = layer.train()(x).detach().numpy(), layer(x).detach().numpy()
    assert a.shape == (T, B, D) and not np.array_equal(a, b)
    np.testing.assert_array_equal(layer.eval()(x).detach().numpy(), layer(x).detach().numpy())


def test_transformer_errors():
    m = Transformer(D, NHEAD, 1, 1, FF)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        m(nnzoo.randn(S, 2, D), nnzoo.randn(T, 3, D))
    with pytest.raises(RuntimeError, match="must be equal to d_model"):
        m(nnzoo.randn(S, 2, D + 1), nnzoo.randn(T, 2, D))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        TransformerEncoderLayer(D, NHEAD, activation="swish")


# ---- positional encodings ---------------------------------------------------------------------------------
def test_sinusoidal_encoding_follows_vaswani():
    d, n = 6, 10
    pe = SinusoidalPositionalEncoding(d, max_len=n, dropout=0.0)
    want = np.zeros((n, d))
    for pos in range(n):
        for i in range(0, d, 2):
            want[pos, i] = math.sin(pos / 10000 ** (i / d))
            want[pos, i + 1] = math.cos(pos / 10000 ** (i / d))
    x = np.random.default_rng(0).standard_normal((7, 2, d)).astype(np.float32)
    np.testing.assert_allclose(pe(nnzoo.tensor(x)).numpy(), x + want[:7, None].astype(np.float32), rtol=1e-6)
    bf = SinusoidalPositionalEncoding(d, max_len=n, dropout=0.0, batch_first=True)
    xb = np.ascontiguousarray(x.swapaxes(0, 1))
    np.testing.assert_allclose(bf(nnzoo.tensor(xb)).numpy(), xb + want[None, :7].astype(np.float32), rtol=1e-6)
    assert "pe" not in pe.state_dict()  # a function of the arguments, not state
    with pytest.raises(RuntimeError, match="exceeds max_len 10"):
        pe(nnzoo.zeros(11, 1, d))


def test_learned_encoding_adds_trainable_positions():
    pe = LearnedPositionalEncoding(4, max_len=9, dropout=0.0, batch_first=True)
    assert list(pe.state_dict()) == ["embedding.weight"]
    x = nnzoo.randn(2, 5, 4, requires_grad=True)
    y = pe(x)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() + pe.embedding.weight.detach().numpy()[None, :5],
                               rtol=1e-6)
    y.sum().backward()
    g = pe.embedding.weight.grad.numpy()
    np.testing.assert_array_equal(g[:5], 2.0)  # each used position gets the batch's 2 ones
    np.testing.assert_array_equal(g[5:], 0.0)
    np.testing.assert_array_equal(x.grad.numpy(), 1.0)
