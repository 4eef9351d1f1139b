"""nn.MultiheadAttention (torch parity of every option, forward and backward, state dicts, masks, dropout) and
the seq2seq attention modules BahdanauAttention / LuongAttention (NumPy float64 references, gradcheck)."""
import warnings

import numpy as np
import pytest
import torch
from helpers import TOL_FWD, check_module

import nnzoo
from nnzoo.nn.attention import BahdanauAttention, LuongAttention, MultiheadAttention
from nnzoo.ops.attention import multi_head_attention_forward

E, H, L, S, B = 8, 2, 4, 5, 3


def _np(t):
    return None if t is None else t.detach().numpy()


def _close(got, want, tol, what):
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    np.testing.assert_allclose(got, want, err_msg=what, equal_nan=True, **tol)


def _bool(shape, p, seed):
    m = np.random.default_rng(seed).random(shape) < p
    return m


def _masks(src_len):
    """Masks for L queries and src_len keys; every query keeps at least one key."""
    kpm = _bool((B, src_len), 0.3, 1)
    kpm[:, 0] = False
    am = _bool((L, src_len), 0.3, 2)
    am[:, 1] = False
    am3 = _bool((B * H, L, src_len), 0.3, 3)
    am3[..., 2] = False
    rng = np.random.default_rng(4)
    return {"kpm": kpm, "kpm1": kpm[0], "am": am, "am3": am3, "fam": rng.standard_normal((L, src_len)),
            "fkpm": np.where(kpm, -np.inf, rng.standard_normal(kpm.shape)),
            "causal": np.triu(np.ones((L, src_len), dtype=bool), 1)}


# (id, constructor kwargs, forward options, masks passed: kpm* -> key_padding_mask, others -> attn_mask).
# Self-attention (one tensor as query, key and value: the packed in-projection) unless "cross" or "kv_dims".
MHA_CASES = [
    ("self_seq_first", {}, {}, ()),
    ("batch_first", {"batch_first": True}, {}, ()),
    ("cross_attention", {}, {"cross": True}, ()),
    ("cross_batch_first_masks", {"batch_first": True}, {"cross": True}, ("kpm", "am")),
    ("kdim_vdim", {"kdim": 6, "vdim": 3}, {"kv_dims": (6, 3)}, ()),
    ("kdim_vdim_batch_first", {"kdim": 6, "vdim": 3, "batch_first": True}, {"kv_dims": (6, 3)}, ("kpm",)),
    ("no_bias", {"bias": False}, {}, ()),
    ("bias_kv_zero_attn", {"add_bias_kv": True, "add_zero_attn": True}, {}, ("kpm", "am")),
    ("bias_kv_no_weights", {"add_bias_kv": True}, {"need_weights": False}, ("am",)),
    ("zero_attn_no_weights", {"add_zero_attn": True}, {"need_weights": False}, ("kpm",)),
    ("key_padding_bool", {}, {}, ("kpm",)),
    ("key_padding_float", {}, {}, ("fkpm",)),
    ("attn_mask_bool_2d", {}, {}, ("am",)),
    ("attn_mask_bool_3d", {}, {}, ("am3",)),
    ("attn_mask_float", {}, {}, ("fam",)),
    ("both_masks", {"batch_first": True}, {}, ("kpm", "am")),
    ("per_head_weights", {}, {"average_attn_weights": False}, ("kpm",)),
    ("no_weights", {}, {"need_weights": False}, ()),
    ("no_weights_masks", {"batch_first": True}, {"need_weights": False}, ("kpm", "am3")),
    ("causal_hint", {}, {"need_weights": False, "is_causal": True}, ("causal",)),
    ("causal_hint_with_weights", {}, {"is_causal": True}, ("causal",)),
    ("causal_hint_key_padding", {}, {"need_weights": False, "is_causal": True}, ("causal", "kpm")),
    ("unbatched", {}, {"unbatched": True}, ()),
    ("unbatched_masks", {"batch_first": True}, {"unbatched": True}, ("kpm1", "am")),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,ctor,fwd,masks", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_multihead_attention_matches_torch(name, ctor, fwd, masks, dtype):
    torch.manual_seed(0)
    th = torch.nn.MultiheadAttention(E, H, **ctor)
    nz = MultiheadAttention(E, H, **ctor)
    rng = np.random.default_rng(5)
    self_attn = not fwd.get("cross") and "kv_dims" not in fwd
    src_len = L if self_attn else S
    kd, vd = fwd.get("kv_dims", (E, E))
    lead = () if fwd.get("unbatched") else ((B,) if ctor.get("batch_first") else None)
    if lead is None:  # sequence first
        shapes = [(L, B, E), (src_len, B, kd), (src_len, B, vd)]
    else:
        shapes = [lead + (L, E), lead + (src_len, kd), lead + (src_len, vd)]
    arrays = [rng.standard_normal(sh) for sh in shapes[:1 if self_attn else 3]]
    all_masks = _masks(src_len)
    arrays += [all_masks[m] for m in masks]
    n_qkv = 1 if self_attn else 3
    opts = {key: fwd[key] for key in ("need_weights", "average_attn_weights", "is_causal") if key in fwd}

    def call(module, *ts):
        qkv = ts[:n_qkv] * (3 if n_qkv == 1 else 1)
        kw = dict(opts)
        for m, t in zip(masks, ts[n_qkv:]):
            kw["key_padding_mask" if "kpm" in m else "attn_mask"] = t
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return module(*qkv, **kw)
    check_module(th, nz, arrays, call, dtype)


def test_state_dict_keys_and_shapes_match_torch():
    for kw in ({}, {"kdim": 6, "vdim": 3}, {"bias": False}, {"add_bias_kv": True}):
        th, nz = torch.nn.MultiheadAttention(E, H, **kw), MultiheadAttention(E, H, **kw)
        want = {k: tuple(v.shape) for k, v in th.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in nz.state_dict().items()}
        assert list(got) == list(want) and got == want, kw
        assert nz.load_state_dict(th.state_dict()).missing_keys == []
        # and back: an nnzoo state dict loads into torch
        th.load_state_dict({k: torch.tensor(v.numpy()) for k, v in nz.state_dict().items()})


def test_initialisation_is_pytorchs():
    nnzoo.manual_seed(0)
    m = MultiheadAttention(64, 4, add_bias_kv=True)
    bound = np.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ of (3E, E)
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.all(m.in_proj_bias.detach().numpy() == 0) and np.all(m.out_proj.bias.detach().numpy() == 0)
    assert m.bias_k.shape == (1, 1, 64) and 0 < m.bias_k.detach().numpy().std()
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear"


@pytest.mark.parametrize("need_weights", [True, False])
def test_fully_masked_query_matches_torch(need_weights):
    """A query whose every key is masked: NaN with need_weights (a plain softmax), zeros without (SDPA), as torch."""
    am = np.zeros((L, L), dtype=bool)
    am[2] = True
    th, nz = torch.nn.MultiheadAttention(E, H), MultiheadAttention(E, H)
    nz.load_state_dict(th.state_dict())
    x = np.random.default_rng(0).standard_normal((L, B, E)).astype(np.float32)
    out_t, _ = th(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(am), need_weights=need_weights)
    xn = nnzoo.tensor(x)
    out_n, _ = nz(xn, xn, xn, attn_mask=nnzoo.tensor(am), need_weights=need_weights)
    _close(_np(out_n), _np(out_t), TOL_FWD[np.float32], "output")
    assert np.isnan(_np(out_n)[2]).all() == need_weights


def test_weights_sum_to_one_and_are_zero_on_masked_keys():
    m = MultiheadAttention(E, H, batch_first=True)
    x = nnzoo.randn(B, L, E)
    kpm = np.zeros((B, L), dtype=bool)
    kpm[0, 3] = kpm[1, 1:3] = True
    am = np.triu(np.ones((L, L), dtype=bool), 1)
    _, w = m(x, x, x, key_padding_mask=nnzoo.tensor(kpm), attn_mask=nnzoo.tensor(am), average_attn_weights=False)
    w = w.detach().numpy()  # (B, H, L, L)
    masked = kpm[:, None, None, :] | am[None, None]
    assert np.all(w[np.broadcast_to(masked, w.shape)] == 0.0)
    np.testing.assert_allclose(w.sum(-1)[~masked.all(-1).repeat(H, 1)], 1.0, rtol=1e-6)


def test_dropout_train_and_eval():
    m = MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = nnzoo.randn(B, L, E)
    m.eval()
    out1, _ = m(x, x, x)
    out2, _ = m(x, x, x)
    np.testing.assert_array_equal(_np(out1), _np(out2))  # eval: no dropout
    m.train()
    nnzoo.manual_seed(0)
    out3, w3 = m(x, x, x, average_attn_weights=False)
    assert out3.shape == out1.shape
    zero = _np(w3) == 0
    assert 0.3 < zero.mean() < 0.7  # about half the probabilities dropped, the rest scaled by 2
    np.testing.assert_allclose(_np(w3)[~zero] / 2, _np(m.eval()(x, x, x, average_attn_weights=False)[1])[~zero],
                               rtol=1e-5)
    m0 = MultiheadAttention(E, H, dropout=0.0)
    xs = nnzoo.randn(L, B, E)
    np.testing.assert_array_equal(_np(m0.train()(xs, xs, xs)[0]), _np(m0.eval()(xs, xs, xs)[0]))


def test_functional_multi_head_attention_forward_matches_torch():
    rng = np.random.default_rng(8)
    kpm = _masks(S)["kpm"]
    arrays = [rng.standard_normal(s).astype(np.float32) for s in
              ((L, B, E), (S, B, E), (S, B, E), (3 * E, E), (3 * E,), (E, E), (E,))]
    t = [torch.tensor(a) for a in arrays]
    n = [nnzoo.tensor(a) for a in arrays]
    out_t, w_t = torch.nn.functional.multi_head_attention_forward(
        t[0], t[1], t[2], E, H, t[3], t[4], None, None, False, 0.0, t[5], t[6], key_padding_mask=torch.tensor(kpm))
    out_n, w_n = multi_head_attention_forward(n[0], n[1], n[2], E, H, n[3], n[4], None, None, False, 0.0, n[5],
                                              n[6], key_padding_mask=nnzoo.tensor(kpm))
    _close(_np(out_n), _np(out_t), TOL_FWD[np.float32], "output")
    _close(_np(w_n), _np(w_t), TOL_FWD[np.float32], "weights")


def test_mha_errors():
    m = MultiheadAttention(E, H)
    x = nnzoo.randn(L, B, E)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8"):
        y = nnzoo.randn(L, B, 6)
        m(y, y, y)
    with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask"):
        m(x, x, x, attn_mask=nnzoo.zeros(L, L + 1))
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        MultiheadAttention(7, 2)


# ---- Bahdanau and Luong -----------------------------------------------------------------------------------
def _softmax_np(e, valid):
    e = np.where(valid, e, -np.inf)
    e = np.exp(e - e.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _bahdanau_np(m, s, h, valid):
    """e_ij = v^T tanh(W1 h_j + W2 s_i + b), alpha = softmax_j(e), c_i = sum_j alpha_ij h_j (float64 loops)."""
    w1, w2, b2, v = (t.detach().numpy() for t in (m.w1.weight, m.w2.weight, m.w2.bias, m.v.weight))
    bsz, lq, lk = s.shape[0], s.shape[1], h.shape[1]
    e = np.zeros((bsz, lq, lk))
    for n in range(bsz):
        for i in range(lq):
            for j in range(lk):
                e[n, i, j] = v[0] @ np.tanh(w1 @ h[n, j] + w2 @ s[n, i] + b2)
    alpha = _softmax_np(e, valid[:, None, :])
    return np.einsum("bij,bjd->bid", alpha, h), alpha


def _luong_np(m, s, h, valid):
    """score dot: s.h; general: s.(W h); concat: v^T tanh(W [s; h]) (float64 loops)."""
    bsz, lq, lk = s.shape[0], s.shape[1], h.shape[1]
    e = np.zeros((bsz, lq, lk))
    for n in range(bsz):
        for i in range(lq):
            for j in range(lk):
                if m.score == "dot":
                    e[n, i, j] = s[n, i] @ h[n, j]
                elif m.score == "general":
                    e[n, i, j] = s[n, i] @ (m.linear.weight.detach().numpy() @ h[n, j])
                else:
                    cat = np.concatenate([s[n, i], h[n, j]])
                    e[n, i, j] = m.v.weight.detach().numpy()[0] @ np.tanh(m.linear.weight.detach().numpy() @ cat)
    alpha = _softmax_np(e, valid[:, None, :])
    return np.einsum("bij,bjd->bid", alpha, h), alpha


def _attention_modules():
    return [("bahdanau", lambda: BahdanauAttention(5, 4, 6), _bahdanau_np, (5, 4)),
            ("luong_dot", lambda: LuongAttention(4, 4, "dot"), _luong_np, (4, 4)),
            ("luong_general", lambda: LuongAttention(5, 4, "general"), _luong_np, (5, 4)),
            ("luong_concat", lambda: LuongAttention(5, 4, "concat", hidden_dim=3), _luong_np, (5, 4))]


@pytest.mark.parametrize("single", [True, False])
@pytest.mark.parametrize("name,make,ref,dims", _attention_modules(), ids=[m[0] for m in _attention_modules()])
def test_seq2seq_attention_matches_numpy_reference(name, make, ref, dims, single):
    nnzoo.manual_seed(0)
    m = make().double()
    rng = np.random.default_rng(9)
    lq = 1 if single else 3
    s, h = rng.standard_normal((2, lq, dims[0])), rng.standard_normal((2, 6, dims[1]))
    valid = np.ones((2, 6), dtype=bool)
    valid[1, 4:] = False  # padding at the end of the second sequence
    want_c, want_a = ref(m, s, h, valid)
    query = nnzoo.tensor(s[:, 0] if single else s)
    context, weights = m(query, nnzoo.tensor(h), mask=nnzoo.tensor(valid))
    if single:
        want_c, want_a = want_c[:, 0], want_a[:, 0]
    np.testing.assert_allclose(context.detach().numpy(), want_c, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy(), want_a, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    assert np.all(weights.detach().numpy()[1, ..., 4:] == 0.0)


@pytest.mark.parametrize("name,make,ref,dims", _attention_modules(), ids=[m[0] for m in _attention_modules()])
def test_seq2seq_attention_gradcheck(name, make, ref, dims):
    nnzoo.manual_seed(1)
    m = make().double()
    rng = np.random.default_rng(10)
    s = nnzoo.tensor(rng.standard_normal((2, 2, dims[0])), requires_grad=True)
    h = nnzoo.tensor(rng.standard_normal((2, 4, dims[1])), requires_grad=True)
    vals = nnzoo.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    valid = nnzoo.tensor(np.array([[True] * 4, [True, True, True, False]]))
    assert nnzoo.autograd.gradcheck(lambda s, h, v: m(s, h, v, mask=valid), [s, h, vals])
    # the parameters' gradients: central differences along a random direction of all of them at once
    u = [nnzoo.tensor(rng.standard_normal(tuple(o.shape))) for o in m(s, h, vals, mask=valid)]

    def loss():
        return sum((o * w).sum() for o, w in zip(m(s, h, vals, mask=valid), u))
    m.zero_grad()
    loss().backward()
    params = list(m.parameters())
    dirs = [rng.standard_normal(tuple(p.shape)) for p in params]
    analytic = sum(float((p.grad.numpy() * d).sum()) for p, d in zip(params, dirs))
    eps, values = 1e-6, []
    for sign in (1, -1):
        with nnzoo.no_grad():
            for p, d in zip(params, dirs):
                p.add_(nnzoo.tensor(sign * eps * d))
            values.append(float(loss()))
            for p, d in zip(params, dirs):
                p.sub_(nnzoo.tensor(sign * eps * d))
    numeric = (values[0] - values[1]) / (2 * eps)
    assert abs(numeric - analytic) <= 1e-6 + 1e-5 * abs(analytic)


def test_bahdanau_projected_keys_and_errors():
    m = BahdanauAttention(5, 4, 6)
    s, h = nnzoo.randn(2, 5), nnzoo.randn(2, 7, 4)
    c1, _ = m(s, h)
    c2, _ = m(s, h, projected_keys=m.project_keys(h))
    np.testing.assert_array_equal(_np(c1), _np(c2))
    with pytest.raises(RuntimeError, match=r"expected keys of shape \(2, Lk, 4\)"):
        m(s, nnzoo.randn(2, 7, 3))
    with pytest.raises(ValueError, match="score must be"):
        LuongAttention(4, 4, "cosine")
    with pytest.raises(ValueError, match="needs query_dim == key_dim"):
        LuongAttention(4, 5, "dot")
