"""The DNC (nnzoo.zoo.dnc): each addressing function and a whole model run against a PyTorch reference written
here after DeepMind's ``addressing.py``/``access.py`` (forward and gradients, float64), the allocation's defining
property, and the link matrix on a known write order."""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.zoo.dnc import (
    DNC,
    DNCConfig,
    SequenceLSTM,
    allocation_weights,
    content_weights,
    directional_weights,
    erase_and_write,
    interface_size,
    lstm_hidden_for_params,
    update_link,
    update_usage,
)

EPS = 1e-6
B, N, W, R = 3, 5, 4, 2


# ---- the PyTorch reference (DeepMind's formulation) -----------------------------------------------------------

def t_content(memory, keys, strengths):
    dot = keys @ memory.transpose(1, 2)
    mn = torch.sqrt((memory * memory).sum(2, keepdim=True) + EPS)
    kn = torch.sqrt((keys * keys).sum(2, keepdim=True) + EPS)
    return torch.softmax(dot / (kn @ mn.transpose(1, 2) + EPS) * strengths.unsqueeze(-1), dim=-1)


def t_usage(usage, write, free, read):
    write = write.detach()
    usage = usage + (1 - usage) * write
    return usage * torch.prod(1 - free.unsqueeze(-1) * read, dim=1)


def t_allocation(usage):
    usage = EPS + (1 - EPS) * usage
    sorted_nonusage, idx = torch.topk(1 - usage, k=usage.shape[1])
    sorted_usage = 1 - sorted_nonusage
    exclusive = torch.cumprod(torch.cat([torch.ones_like(sorted_usage[:, :1]), sorted_usage[:, :-1]], 1), 1)
    sorted_alloc = sorted_nonusage * exclusive
    return torch.zeros_like(sorted_alloc).scatter(1, idx, sorted_alloc)   # un-sort


def t_link(link, prec, write):
    wi, wj = write.unsqueeze(2), write.unsqueeze(1)
    new = (1 - wi - wj) * link + wi * prec.unsqueeze(1)
    new = new - torch.diag_embed(torch.diagonal(new, dim1=1, dim2=2))
    return new, (1 - write.sum(1, keepdim=True)) * prec + write


def t_directions(link, read):
    return torch.einsum("bij,brj->bri", link, read), torch.einsum("bij,bri->brj", link, read)


def t_dnc(params, x, cfg):
    """The whole DNC in PyTorch from nnzoo's state dict ``params`` (torch tensors)."""
    T, b, _ = x.shape
    n, w, r, hs = cfg.memory_size, cfg.word_size, cfg.num_reads, cfg.hidden_size

    def cell(inp, state):                              # torch.nn.LSTMCell's equations on the given weights
        gates = (inp @ params["controller.weight_ih"].T + params["controller.bias_ih"]
                 + state[0] @ params["controller.weight_hh"].T + params["controller.bias_hh"])
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    z = lambda *s: torch.zeros(*s, dtype=torch.float64)  # noqa: E731
    h, c, reads, mem, usage, link, prec, rw, ww = (z(b, hs), z(b, hs), z(b, r, w), z(b, n, w), z(b, n), z(b, n, n),
                                                  z(b, n), z(b, r, n), z(b, n))
    clip = cfg.clip_value
    oneplus = lambda v: 1 + torch.nn.functional.softplus(v)  # noqa: E731
    ys = []
    for t in range(T):
        h, c = cell(torch.cat([x[t], reads.reshape(b, -1)], 1), (h, c))
        h, c = h.clamp(-clip, clip), c.clamp(-clip, clip)
        xi = h @ params["interface.weight"].T + params["interface.bias"]
        rk, rs, wk, ws, er, wv, fg, ag, wg, rm = torch.split(xi, [r * w, r, w, 1, w, w, r, 1, 1, 3 * r], dim=1)
        usage = t_usage(usage, ww, torch.sigmoid(fg), rw)
        ga, gw = torch.sigmoid(ag), torch.sigmoid(wg)
        ww = gw * (ga * t_allocation(usage) + (1 - ga) * t_content(mem, wk.unsqueeze(1), oneplus(ws))[:, 0])
        e = torch.sigmoid(er)
        mem = mem * (1 - ww.unsqueeze(2) * e.unsqueeze(1)) + ww.unsqueeze(2) * wv.unsqueeze(1)
        link, prec = t_link(link, prec, ww)
        fwd, bwd = t_directions(link, rw)
        modes = torch.softmax(rm.reshape(b, r, 3), -1)
        rw = (modes[..., 0:1] * bwd + modes[..., 1:2] * t_content(mem, rk.reshape(b, r, w), oneplus(rs))
              + modes[..., 2:3] * fwd)
        reads = rw @ mem
        y = torch.cat([h, reads.reshape(b, -1)], 1) @ params["output.weight"].T + params["output.bias"]
        ys.append(y.clamp(-clip, clip))
    return torch.stack(ys)


# ---- helpers ----------------------------------------------------------------------------------------------------

def _pair(a):
    """The same float64 array as an nnzoo and a torch leaf, both requiring grad."""
    return (nnzoo.tensor(a, dtype=nnzoo.float64, requires_grad=True),
            torch.tensor(a, dtype=torch.float64, requires_grad=True))


def _check(fn, tfn, arrays, n_out=1, rtol=1e-9, atol=1e-11):
    """Forward and gradients (of a random projection of each output) of fn against tfn."""
    rng = np.random.default_rng(1)
    pairs = [_pair(a) for a in arrays]
    ours, theirs = fn(*(p[0] for p in pairs)), tfn(*(p[1] for p in pairs))
    if n_out == 1:
        ours, theirs = (ours,), (theirs,)
    total_o, total_t = 0, 0
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
        proj = rng.standard_normal(tuple(t.shape))
        total_o = total_o + (o * nnzoo.tensor(proj)).sum()
        total_t = total_t + (t * torch.tensor(proj)).sum()
    total_o.backward()
    total_t.backward()
    for (o, t) in pairs:
        got = np.zeros(t.shape) if o.grad is None else o.grad.numpy()
        want = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10)


def _simplex(rng, *shape):
    a = rng.random(shape)
    return a / a.sum(-1, keepdims=True)


# ---- the addressing, function by function -----------------------------------------------------------------------

def test_content_weights_match_the_reference():
    rng = np.random.default_rng(0)
    memory = rng.standard_normal((B, N, W))
    memory[:, 0] = 0                                   # an empty slot: similarity 0, finite gradient
    _check(content_weights, t_content, [memory, rng.standard_normal((B, R, W)), 1 + rng.random((B, R)) * 5])


def test_usage_matches_the_reference_and_ignores_the_write_gradient():
    rng = np.random.default_rng(0)
    arrays = [rng.random((B, N)), _simplex(rng, B, N) * 0.9, rng.random((B, R)), _simplex(rng, B, R, N)]
    _check(update_usage, t_usage, arrays)
    w = nnzoo.tensor(arrays[1], requires_grad=True)
    u = nnzoo.tensor(arrays[0], requires_grad=True)
    update_usage(u, w, nnzoo.tensor(arrays[2]), nnzoo.tensor(arrays[3])).sum().backward()
    assert w.grad is None or not w.grad.numpy().any()


def test_allocation_matches_the_reference_with_gradient_through_sorted_usage():
    rng = np.random.default_rng(0)
    usage = rng.random((B, N))
    usage[0, :2] = [0.0, 1.0]                          # the eps clamp at both ends
    _check(allocation_weights, t_allocation, [usage])


def test_allocation_picks_the_least_used_slot():
    """With usage 0 at one slot and 1 elsewhere all allocation goes there; with usages 0 < u < 1, a decreases
    along increasing usage and sums to 1 - prod(u)."""
    u = np.ones((1, N))
    u[0, 3] = 0
    a = allocation_weights(nnzoo.tensor(u, dtype=nnzoo.float64)).numpy()
    np.testing.assert_allclose(a[0], np.eye(N)[3], atol=1e-5)
    u = np.random.default_rng(2).uniform(0.1, 0.9, (2, N))
    a = allocation_weights(nnzoo.tensor(u, dtype=nnzoo.float64)).numpy()
    for row_u, row_a in zip(u, a):
        order = np.argsort(row_u)
        assert np.all(np.diff(row_a[order]) < 0)
    ue = 1e-6 + (1 - 1e-6) * u
    np.testing.assert_allclose(a.sum(1), 1 - ue.prod(1), rtol=1e-12)


def test_link_and_precedence_match_the_reference():
    rng = np.random.default_rng(0)
    link = rng.random((B, N, N)) * (1 - np.eye(N))
    _check(update_link, t_link, [link, _simplex(rng, B, N) * 0.8, _simplex(rng, B, N) * 0.9], n_out=2)


def test_directional_weights_match_the_reference():
    rng = np.random.default_rng(0)
    _check(directional_weights, t_directions, [rng.random((B, N, N)), _simplex(rng, B, R, N)], n_out=2)


def test_link_follows_a_known_write_order():
    """Writing one-hot to slots 2, 0, 3 in turn: forward from 2 reaches 0, from 0 reaches 3; backward from 3
    reaches 0 (the paper's definition, L[i, j] = 1 when i was written right after j)."""
    link, prec = nnzoo.zeros(1, N, N, dtype=nnzoo.float64), nnzoo.zeros(1, N, dtype=nnzoo.float64)
    for slot in (2, 0, 3):
        link, prec = update_link(link, prec, nnzoo.tensor(np.eye(N)[slot][None]))
    read = nnzoo.tensor(np.stack([np.eye(N)[2], np.eye(N)[0], np.eye(N)[3]])[None])
    fwd, bwd = directional_weights(link, read)
    np.testing.assert_allclose(fwd.numpy()[0], np.stack([np.eye(N)[0], np.eye(N)[3], np.zeros(N)]))
    np.testing.assert_allclose(bwd.numpy()[0], np.stack([np.zeros(N), np.eye(N)[2], np.eye(N)[0]]))


def test_erase_and_write_matches_the_formula():
    rng = np.random.default_rng(0)
    m, w, e, v = rng.standard_normal((B, N, W)), _simplex(rng, B, N), rng.random((B, W)), rng.standard_normal((B, W))

    def t_write(m, w, e, v):
        return m * (1 - torch.einsum("bn,bw->bnw", w, e)) + torch.einsum("bn,bw->bnw", w, v)
    _check(erase_and_write, lambda *a: t_write(*a), [m, w, e, v])


# ---- the whole model -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("clip", [20.0, 0.3])
def test_dnc_forward_and_gradients_match_the_reference(clip):
    cfg = DNCConfig(input_size=5, output_size=3, hidden_size=8, memory_size=N, word_size=W, num_reads=R,
                    clip_value=clip)
    nnzoo.manual_seed(0)
    model = DNC(cfg).double()
    # larger weights than the init so that the gates, modes and allocation are far from uniform
    with nnzoo.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    params = {k: torch.tensor(v.numpy(), requires_grad=True) for k, v in model.state_dict().items()}
    x = np.random.default_rng(3).standard_normal((6, 2, 5))
    y, _ = model(nnzoo.tensor(x, dtype=nnzoo.float64))
    ty = t_dnc(params, torch.tensor(x), cfg)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-8, atol=1e-10)
    proj = np.random.default_rng(4).standard_normal(tuple(ty.shape))
    (y * nnzoo.tensor(proj)).sum().backward()
    tgrads = torch.autograd.grad((ty * torch.tensor(proj)).sum(), list(params.values()))
    ours = dict(model.named_parameters())
    for name, g in zip(params, tgrads):
        np.testing.assert_allclose(ours[name].grad.numpy(), g.numpy(), rtol=1e-6, atol=1e-9, err_msg=name)


def test_allocation_gradient_matches_finite_differences():
    """Away from ties the sort order is locally constant, so the gradient through the sorted values is the
    true gradient of the allocation weighting (central differences, float64)."""
    rng = np.random.default_rng(5)
    u = rng.uniform(0.05, 0.95, (2, N))
    proj = rng.standard_normal((2, N))
    x = nnzoo.tensor(u, dtype=nnzoo.float64, requires_grad=True)
    (allocation_weights(x) * nnzoo.tensor(proj)).sum().backward()
    h, numeric = 1e-6, np.zeros_like(u)
    f = lambda v: float((allocation_weights(nnzoo.tensor(v, dtype=nnzoo.float64)).numpy() * proj).sum())  # noqa: E731
    for idx in np.ndindex(u.shape):
        d = np.zeros_like(u)
        d[idx] = h
        numeric[idx] = (f(u + d) - f(u - d)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-6, atol=1e-9)


def test_shapes_interface_and_the_lstm_baseline():
    cfg = DNCConfig(input_size=6, output_size=5)
    m = DNC(cfg)
    assert m.interface.out_features == interface_size(16, 4) == 4 * 16 + 3 * 16 + 5 * 4 + 3
    y, state = m(nnzoo.zeros(3, 2, 6))
    assert tuple(y.shape) == (3, 2, 5) and tuple(state.link.shape) == (2, 16, 16)
    params = sum(p.numel() for p in m.parameters())
    hidden = lstm_hidden_for_params(6, 5, params)
    lstm = SequenceLSTM(6, 5, hidden)
    counts = [sum(p.numel() for p in SequenceLSTM(6, 5, h).parameters()) for h in (hidden - 1, hidden, hidden + 1)]
    assert abs(counts[1] - params) == min(abs(c - params) for c in counts)
    assert tuple(lstm(nnzoo.zeros(3, 2, 6))[0].shape) == (3, 2, 5)
