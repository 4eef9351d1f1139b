"""nnzoo.zoo.gpt: shapes, causality, weight tying, nanoGPT's initialisation, parity with PyTorch (the
benchmark's torch copy of the model, state_dicts both ways), seeded generation, and the benchmark's training loop
alike in both libraries. The random-window loaders and the char-gpt recipe: tests/recipes/test_gpt.py."""
import math
import os
import sys

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.random import Generator
from nnzoo.zoo.gpt import GPT, GPTConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.char_gpt import torch_gpt, train_char_gpt, windows_at  # noqa: E402

SMALL = dict(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16)


def _small(seed=0, **kw):
    nnzoo.manual_seed(seed)
    return GPT(**{**SMALL, **kw})


def _torch_copy(model):
    c = model.config
    t = torch_gpt(torch, c.vocab_size, c.block_size, c.n_layer, c.n_head, c.n_embd, c.dropout, c.bias)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return t


def test_shapes_and_loss():
    model = _small()
    idx = nnzoo.randint(0, 13, (3, 8))
    logits, loss = model(idx)
    assert tuple(logits.shape) == (3, 8, 13) and loss is None
    logits, loss = model(idx[:, :5], idx[:, 1:6])
    assert tuple(logits.shape) == (3, 5, 13) and loss.ndim == 0
    expected = nnzoo.nn.functional.cross_entropy(logits.reshape(-1, 13), idx[:, 1:6].reshape(-1))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="GPT: a sequence of length 9 is longer than block_size 8"):
        model(nnzoo.zeros(1, 9, dtype=nnzoo.int64))
    with pytest.raises(ValueError, match="n_embd 10 is not divisible by n_head 4"):
        GPT(n_embd=10, n_head=4)
    assert GPT(GPTConfig(vocab_size=5), n_layer=1).config == GPTConfig(vocab_size=5, n_layer=1)


def test_causal_output_at_t_ignores_later_inputs():
    model = _small().eval()
    g = np.random.default_rng(0)
    a = g.integers(0, 13, (2, 8))
    t = 4
    b = a.copy()
    b[:, t + 1:] = (a[:, t + 1:] + 1 + g.integers(0, 12, (2, 8 - t - 1))) % 13  # every later token changed
    la = model(nnzoo.tensor(a))[0].detach().numpy()
    lb = model(nnzoo.tensor(b))[0].detach().numpy()
    np.testing.assert_allclose(la[:, :t + 1], lb[:, :t + 1], rtol=1e-6, atol=1e-7)
    assert not np.allclose(la[:, t + 1:], lb[:, t + 1:])  # the later positions do see the change


def test_weight_tying():
    model = _small()
    assert model.lm_head.weight is model.transformer.wte.weight
    sd = model.state_dict()
    assert "lm_head.weight" in sd and "transformer.wte.weight" in sd  # both names, as nanoGPT / PyTorch
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == len({id(p) for p in model.parameters()}) == len(sd) - 1  # the shared one once
    # the one weight gets the gradient of both uses: the embedding rows of the inputs and the whole head
    idx = nnzoo.tensor([[1, 2, 3]])
    _, loss = model(idx, idx)
    loss.backward()
    g = model.lm_head.weight.grad.numpy()
    assert np.abs(g[7]).sum() > 0  # a row no input uses: its gradient comes through the head


def test_initialisation_follows_nanogpt():
    model = GPT(vocab_size=65, n_layer=4, n_embd=128)
    for name, p in model.named_parameters():
        a = p.detach().numpy()
        if name.endswith("c_proj.weight"):
            std = 0.02 / math.sqrt(2 * 4)
        elif a.ndim == 2:
            std = 0.02
        elif name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
            np.testing.assert_array_equal(a, 1.0)
            continue
        else:  # biases
            np.testing.assert_array_equal(a, 0.0)
            continue
        # the sample std of n normal draws is within 5 standard errors (std / sqrt(2n)) of the true one
        assert abs(a.std() - std) < 5 * std / math.sqrt(2 * a.size), name


@pytest.mark.parametrize("bias", [True, False])
def test_matches_pytorch_forward_and_backward(bias):
    model = _small(bias=bias)
    tmodel = _torch_copy(model)
    idx_np = np.random.default_rng(1).integers(0, 13, (4, 8))
    tgt_np = np.roll(idx_np, -1, axis=1)
    tgt_np[0, -1] = -1  # ignored, as nanoGPT's ignore_index
    logits, loss = model(nnzoo.tensor(idx_np), nnzoo.tensor(tgt_np))
    tlogits, tloss = tmodel(torch.tensor(idx_np), torch.tensor(tgt_np))
    np.testing.assert_allclose(logits.detach().numpy(), tlogits.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-5)
    loss.backward()
    tloss.backward()
    tgrads = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[name].grad.numpy(), rtol=1e-3, atol=1e-6, err_msg=name)


def test_state_dict_round_trips(tmp_path):
    model = _small()
    idx = nnzoo.randint(0, 13, (2, 8))
    ref = model(idx)[0].detach().numpy()
    # nnzoo -> file -> a fresh nnzoo model (initialised differently): same outputs, weight still tied
    nnzoo.save(model.state_dict(), tmp_path / "gpt.safetensors")
    other = _small(seed=1)
    other.load_state_dict(nnzoo.load(tmp_path / "gpt.safetensors"))
    np.testing.assert_array_equal(other(idx)[0].detach().numpy(), ref)
    assert other.lm_head.weight is other.transformer.wte.weight
    # nnzoo -> PyTorch -> nnzoo
    back = _small(seed=2)
    back.load_state_dict({k: nnzoo.tensor(v.numpy()) for k, v in _torch_copy(model).state_dict().items()})
    np.testing.assert_array_equal(back(idx)[0].detach().numpy(), ref)


def test_generate_is_reproducible_with_a_seeded_generator():
    model = _small().train()
    idx = nnzoo.tensor([[1, 2, 3], [4, 5, 6]])
    a = model.generate(idx, 12, temperature=1.5, top_k=5, generator=Generator().manual_seed(3))
    b = model.generate(idx, 12, temperature=1.5, top_k=5, generator=Generator().manual_seed(3))
    assert tuple(a.shape) == (2, 15) and a.dtype == nnzoo.int64
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy()[:, :3], idx.numpy())
    c = model.generate(idx, 12, temperature=1.5, top_k=5, generator=Generator().manual_seed(4))
    assert not np.array_equal(a.numpy(), c.numpy())
    drawn = model.generate(idx, 20, exclude=list(range(4)), generator=Generator().manual_seed(0)).numpy()[:, 3:]
    assert drawn.min() >= 4  # excluded ids are never drawn


def test_the_benchmark_loop_trains_both_libraries_alike():
    """The benchmark's train_char_gpt with nnzoo and with PyTorch from the same weights on the same batches:
    the same losses, step after step (nanoGPT's AdamW param groups, clipping, and the per-iteration warm-up and
    cosine of both)."""
    model = _small()
    tmodel = _torch_copy(model)
    stream = np.tile(np.arange(13), 31)[:400]  # periodic: learnable in a few steps
    starts = np.random.default_rng(1).integers(0, 400 - 8, (7, 4))
    runs = []
    for lib, m in ((nnzoo, model), (torch, tmodel)):
        val = [tuple(lib.tensor(a) for a in windows_at(stream, starts[-1], 8))]
        def batch(it, lib=lib):
            return tuple(lib.tensor(a) for a in windows_at(stream, starts[it], 8))
        runs.append(train_char_gpt(lib, m, batch, val, iters=6, eval_interval=3, lr=3e-3, min_lr=3e-4, grad_clip=0.5,
                                   warmup_iters=2))
    (a, b) = runs
    assert [h[0] for h in a["history"]] == [3, 6]
    np.testing.assert_allclose(np.array(a["history"])[:, 1:], np.array(b["history"])[:, 1:], rtol=1e-4)
    assert a["history"][-1][1] < a["history"][0][1]
