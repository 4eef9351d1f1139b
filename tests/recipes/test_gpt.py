"""nnzoo.recipes.gpt: the random-window loaders (learning a periodic text from them, the benchmark's windows read
alike), nanoGPT's optimizer and schedule, and the char-gpt recipe end to end with `nnzoo sample`."""
import json
import math
import os
import sys

import numpy as np
import pytest

import nnzoo
from nnzoo import cli
from nnzoo.data import Vocab
from nnzoo.random import Generator
from nnzoo.recipes import load_run, run_recipe
from nnzoo.recipes.gpt import RandomWindows, random_windows
from nnzoo.zoo.gpt import GPT

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks.char_gpt import windows_at  # noqa: E402

SMALL = dict(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16)

def _small(seed=0, **kw):
    nnzoo.manual_seed(seed)
    return GPT(**{**SMALL, **kw})

def test_learns_a_periodic_text_and_generates_it():
    text = "the quick brown fox. " * 40
    vocab = Vocab.chars(text)
    stream = np.asarray(vocab.encode(text))
    model = _small(vocab_size=len(vocab), block_size=16, n_embd=32)
    opt = nnzoo.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(60):
        x, y = random_windows(stream, 8, 16, rng)
        _, loss = model(nnzoo.tensor(x), nnzoo.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # a text of period 21 is predictable from its first characters: ln(vocabulary) down to near 0
    assert losses[0] > 0.8 * np.log(len(vocab)) and np.mean(losses[-5:]) < 0.1
    # greedy generation continues the period, past block_size (the context is cropped)
    assert model.sample(vocab, "the quick", length=30, temperature=0) == ("the quick brown fox. " * 3)[:39]


def test_random_windows_and_loaders():
    stream = nnzoo.arange(50)
    x, y = random_windows(stream.numpy(), 6, 7, np.random.default_rng(0))
    np.testing.assert_array_equal(y, x + 1)  # targets: the inputs shifted by one
    assert x.min() >= 0 and y.max() <= 49 and (np.diff(x, axis=1) == 1).all()
    # the benchmark's windows_at reads the same windows from the same offsets
    starts = np.random.default_rng(0).integers(0, 50 - 7, size=6)
    np.testing.assert_array_equal(windows_at(stream.numpy(), starts, 7)[0], x)
    train = RandomWindows(stream, 4, 7, batches=3, generator=Generator().manual_seed(5))
    first, second = [b[0].numpy() for b in train], [b[0].numpy() for b in train]
    assert len(first) == 3 and not np.array_equal(first[0], second[0])  # a fresh draw every pass
    fixed = RandomWindows(stream, 4, 7, batches=3, generator=Generator().manual_seed(5), fixed=True)
    assert all(np.array_equal(a[0].numpy(), b[0].numpy()) for a, b in zip(fixed, fixed))
    np.testing.assert_array_equal(next(iter(fixed))[0].numpy(), first[0])  # the same seed, the same draws
    with pytest.raises(ValueError, match="window_starts: a stream of 5 tokens has no window of 7"):
        random_windows(np.arange(5), 2, 7, np.random.default_rng(0))

def test_recipe_end_to_end_and_the_sample_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    out = tmp_path / "gpt"
    result = run_recipe("char-gpt", out_dir=out, progress=False, overrides={
        "works": "sonnets", "train_chars": 20000, "eval_chars": 3000, "n_layer": 1, "n_head": 2, "n_embd": 32,
        "block_size": 32, "batch_size": 8, "epochs": 3, "eval_interval": 10, "eval_batches": 2, "warmup_iters": 15})
    saved = json.loads((out / "result.json").read_text())
    assert saved["test"]["loss"] == pytest.approx(result["test"]["loss"]) and saved["iterations"] == 30
    assert saved["val"]["bpc"] == pytest.approx(saved["val"]["loss"] / np.log(2), rel=1e-4)
    history = result["history"]
    assert history["train_loss"][-1] < history["train_loss"][0]
    # the learning rate at the start of each epoch is nanoGPT's get_lr: a linear warm-up over warmup_iters,
    # then the cosine from lr to min_lr at the last of the 30 iterations
    lr, min_lr, warmup, iters = 1e-3, 1e-4, 15, 30

    def get_lr(it):
        if it < warmup:
            return lr * (it + 1) / (warmup + 1)
        return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * (it - warmup) / (iters - warmup))) / 2
    np.testing.assert_allclose(history["lr"], [get_lr(t) for t in (0, 10, 20)], rtol=1e-9)
    # nanoGPT's optimizer: AdamW, betas (0.9, 0.99), weight decay on the >= 2-D parameters only
    groups = nnzoo.recipes.recipe("char-gpt").make_optimizer(result["config"], result["model"])
    assert [g["weight_decay"] for g in groups.param_groups] == [0.1, 0.0]
    assert all(p.dim() >= 2 for p in groups.param_groups[0]["params"])
    assert all(p.dim() < 2 for p in groups.param_groups[1]["params"]) and groups.defaults["betas"] == (0.9, 0.99)
    assert (out / "sample.txt").read_text().startswith("ROMEO:") and (out / "vocab.json").is_file()
    r, config, model = load_run(out)
    assert r.name == "char-gpt" and not model.training and config["n_embd"] == 32
    args = ["sample", "--run", str(out), "--prompt", "Shall I", "--length", "30", "--seed", "1"]
    assert cli.main(args) == 0
    first = capsys.readouterr().out
    assert first.startswith("Shall I") and len(first) == len("Shall I") + 30 + 1  # one char a step, a newline
    assert cli.main(args) == 0
    assert capsys.readouterr().out == first
