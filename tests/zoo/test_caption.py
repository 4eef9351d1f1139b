"""The captioners of nnzoo.zoo.caption: forward and gradients against the same networks written in PyTorch
from the same weights, the decoders' defining properties (greedy = the argmax of the teacher-forced logits on
its own output; beam width 1 = greedy; a beam's score is its caption's log-probability), attention weights on
the simplex, and the doubly stochastic regulariser against NumPy."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nnzoo
from nnzoo.zoo.caption import ShowAndTell, ShowAttendTell, attention_regulariser

SMALL = {"vocab": 11, "image_size": 16, "channels": (4, 6), "embed": 5, "hidden": 7, "pad_index": 0, "bos_index": 2,
         "eos_index": 3, "max_len": 6}


def _torch_params(model):
    return {k: torch.tensor(np.asarray(v.detach().numpy()), dtype=torch.float64, requires_grad=True)
            for k, v in model.named_parameters()}


def _torch_encoder(p, images, coords=True):
    x = images
    if coords:
        S = x.shape[-1]
        ramp = torch.tensor(np.linspace(-1.0, 1.0, S, dtype=np.float32), dtype=x.dtype)   # as the model's buffer
        grid = torch.stack([ramp[None, :].expand(S, S), ramp[:, None].expand(S, S)])
        x = torch.cat([x, grid[None].expand(x.shape[0], -1, -1, -1)], 1)
    k = 0
    while f"encoder.net.{k}.weight" in p:            # conv, batch norm (batch statistics: training mode), relu, pool
        x = TF.conv2d(x, p[f"encoder.net.{k}.weight"], p[f"encoder.net.{k}.bias"], padding=1)
        x = TF.batch_norm(x, None, None, p[f"encoder.net.{k + 1}.weight"], p[f"encoder.net.{k + 1}.bias"],
                          training=True)
        x = TF.max_pool2d(TF.relu(x), 2)
        k += 4
    return x


def _lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _torch_show_and_tell(p, images, words):
    f = _torch_encoder(p, images).flatten(1) @ p["feature.weight"].T + p["feature.bias"]
    h, c = torch.tanh(TF.linear(f, p["init_h.weight"], p["init_h.bias"])), torch.tanh(
        TF.linear(f, p["init_c.weight"], p["init_c.bias"]))
    emb = p["embedding.weight"][words]
    outs = []
    for t in range(words.shape[1]):
        h, c = _lstm_cell(emb[:, t], h, c, p["lstm.weight_ih_l0"], p["lstm.weight_hh_l0"], p["lstm.bias_ih_l0"],
                          p["lstm.bias_hh_l0"])
        outs.append(TF.linear(h, p["out.weight"], p["out.bias"]))
    return torch.stack(outs, 1)


def _torch_show_attend_tell(p, images, words, gate=True):
    a = _torch_encoder(p, images).flatten(2).transpose(1, 2)                        # (B, L, D)
    mean = a.mean(1)
    h, c = torch.tanh(TF.linear(mean, p["init_h.weight"], p["init_h.bias"])), torch.tanh(
        TF.linear(mean, p["init_c.weight"], p["init_c.bias"]))
    keys = a @ p["attention.w1.weight"].T
    emb = p["embedding.weight"][words]
    outs, alphas = [], []
    for t in range(words.shape[1]):
        e = torch.tanh(keys + TF.linear(h, p["attention.w2.weight"], p["attention.w2.bias"])[:, None])
        alpha = torch.softmax((e @ p["attention.v.weight"].T)[..., 0], 1)           # (B, L)
        z = (alpha[..., None] * a).sum(1)
        if gate:
            z = torch.sigmoid(TF.linear(h, p["gate.weight"], p["gate.bias"])) * z
        h, c = _lstm_cell(torch.cat([emb[:, t], z], 1), h, c, p["cell.weight_ih"], p["cell.weight_hh"],
                          p["cell.bias_ih"], p["cell.bias_hh"])
        deep = emb[:, t] + TF.linear(h, p["out_h.weight"], p["out_h.bias"]) + z @ p["out_z.weight"].T
        outs.append(TF.linear(deep, p["out.weight"], p["out.bias"]))
        alphas.append(alpha)
    return torch.stack(outs, 1), torch.stack(alphas, 1)


def _inputs(seed=0, B=3, T=5):
    rng = np.random.default_rng(seed)
    images = rng.random((B, 3, 16, 16))
    words = rng.integers(4, 11, (B, T))
    words[:, 0] = 2
    return images, words


@pytest.mark.parametrize("attention", [False, True])
def test_captioner_matches_torch_forward_and_gradients(attention):
    nnzoo.manual_seed(0)
    Model = ShowAttendTell if attention else ShowAndTell
    model = Model(**SMALL, **({"attn_hidden": 6} if attention else {})).double()
    images, words = _inputs()
    target = np.roll(words, -1, 1)
    out = model(nnzoo.tensor(images), nnzoo.tensor(words), **({"return_attention": True} if attention else {}))
    logits, alphas = out if attention else (out, None)
    loss = nnzoo.nn.functional.cross_entropy(logits.reshape(-1, 11), nnzoo.tensor(target).reshape(-1))
    loss.backward()
    p = _torch_params(model)
    ref = (_torch_show_attend_tell if attention else _torch_show_and_tell)(p, torch.tensor(images), torch.tensor(words))
    ref_logits, ref_alphas = ref if attention else (ref, None)
    np.testing.assert_allclose(logits.detach().numpy(), ref_logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    if attention:
        np.testing.assert_allclose(alphas.detach().numpy(), ref_alphas.detach().numpy(), rtol=1e-10, atol=1e-12)
    TF.cross_entropy(ref_logits.reshape(-1, 11), torch.tensor(target).reshape(-1)).backward()
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), p[name].grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("attention", [False, True])
def test_greedy_is_the_argmax_of_the_teacher_forced_logits_on_its_own_output(attention):
    nnzoo.manual_seed(1)
    model = (ShowAttendTell if attention else ShowAndTell)(**SMALL).double().eval()
    images = nnzoo.tensor(_inputs(1, B=4)[0])
    tokens, weights = model.greedy(images)
    tokens = tokens.numpy()
    for b in range(4):
        row = list(tokens[b])
        n = row.index(3) + 1 if 3 in row else len(row)
        words_in = nnzoo.tensor([[2] + row[:n - 1]])
        logits = model(images[b:b + 1], words_in)
        assert list(logits.detach().numpy()[0].argmax(-1)) == row[:n]
        assert all(t == 0 for t in row[n:])                                        # <pad> after <eos>
        if attention:
            w = weights.numpy()[b]
            np.testing.assert_allclose(w[:n].sum(-1), 1.0, rtol=1e-12)             # on the simplex
            assert (w[:n] >= 0).all() and (w[n:] == 0).all() and w.shape[1] == 16   # 4 x 4 regions
    assert (weights is None) == (not attention)


@pytest.mark.parametrize("attention", [False, True])
def test_beam_search_width_one_is_greedy_and_scores_are_log_probabilities(attention):
    nnzoo.manual_seed(2)
    model = (ShowAttendTell if attention else ShowAndTell)(**SMALL).double().eval()
    images = nnzoo.tensor(_inputs(2, B=3)[0])
    tokens, _ = model.greedy(images)
    for b, (seq, _, _) in enumerate(model.beam_search(images, beam_width=1)):
        row = [t for t in tokens.numpy()[b] if t != 0]
        assert seq == row
    for b, (seq, weights, score) in enumerate(model.beam_search(images, beam_width=4)):
        logits = model(images[b:b + 1], nnzoo.tensor([[2] + seq[:-1]])).detach().numpy()[0]
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        np.testing.assert_allclose(score, logp[np.arange(len(seq)), seq].sum(), rtol=1e-9)
        if attention:
            assert weights.shape == (len(seq), 16)
            np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-12)
        else:
            assert weights is None


def test_attention_regulariser_matches_numpy():
    rng = np.random.default_rng(3)
    alphas = rng.dirichlet(np.ones(5), size=(2, 4))                                # (B=2, T=4, L=5)
    words = np.array([[5, 6, 3, 0], [5, 6, 7, 3]])
    keep = (words != 0)[..., None]
    expected = ((1 - (alphas * keep).sum(1)) ** 2).sum(1).mean()
    got = attention_regulariser(nnzoo.tensor(alphas), nnzoo.tensor(words), pad_index=0)
    np.testing.assert_allclose(float(got), expected, rtol=1e-12)


def test_config_errors():
    with pytest.raises(ValueError, match="multiple of"):
        ShowAndTell(image_size=20, channels=(4, 4, 4))
