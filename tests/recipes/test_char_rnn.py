"""nnzoo.recipes.char_rnn: truncated-BPTT learning of a text with a fixed period with the recipe's loss, sampling
(greedy continues the period; seeded draws repeat), and the recipe end to end with `nnzoo sample`."""
import json

import numpy as np
import pytest

import nnzoo
from nnzoo import cli
from nnzoo.data import BPTTLoader, Vocab
from nnzoo.random import Generator
from nnzoo.recipes import load_run, run_recipe
from nnzoo.recipes.char_rnn import sequence_cross_entropy
from nnzoo.train import Trainer
from nnzoo.zoo.char_rnn import CharRNN


def _periodic_trainer(seed=0):
    text = "the quick brown fox. " * 60
    vocab = Vocab.chars(text)
    nnzoo.manual_seed(seed)
    model = CharRNN(vocab_size=len(vocab), embed=16, hidden=48, layers=1)
    trainer = Trainer(model, sequence_cross_entropy, nnzoo.optim.Adam(model.parameters(), lr=1e-2),
                      progress=False, carry_state=True, clip_grad_norm=5.0)
    trainer.fit(BPTTLoader(vocab.encode(text, as_tensor=True), batch_size=4, bptt=25), epochs=12)
    return vocab, model, trainer


def test_learns_a_periodic_text_with_truncated_bptt_and_samples_it():
    vocab, model, trainer = _periodic_trainer()
    losses = trainer.history["train_loss"]
    # a text with period 21 is fully predictable after its first characters: the loss falls from about
    # ln(vocabulary) towards 0
    assert losses[0] > 1.0 and losses[-1] < 0.1 * np.log(len(vocab))
    assert model.sample(vocab, "the quick", length=30, temperature=0) == ("the quick brown fox. " * 3)[:39]
    a = model.sample(vocab, "the", length=40, temperature=1.5, generator=Generator().manual_seed(3))
    b = model.sample(vocab, "the", length=40, temperature=1.5, generator=Generator().manual_seed(3))
    assert a == b and len(a) == 43 and model.training


def test_recipe_end_to_end_and_the_sample_command(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NNZOO_NO_CORETYPE", "1")
    out = tmp_path / "char"
    result = run_recipe("char-rnn", out_dir=out, progress=False, overrides={
        "works": "sonnets", "train_chars": 12000, "eval_chars": 3000, "hidden": 32, "layers": 1, "embed": 16,
        "bptt": 25, "batch_size": 8, "epochs": 2})
    saved = json.loads((out / "result.json").read_text())
    assert saved["test"]["loss"] == pytest.approx(result["test"]["loss"])
    assert saved["val"]["bpc"] == pytest.approx(saved["val"]["loss"] / np.log(2), rel=1e-4)
    assert (out / "sample.txt").read_text().startswith("ROMEO:") and (out / "vocab.json").is_file()
    r, config, model = load_run(out)
    assert r.name == "char-rnn" and not model.training and config["hidden"] == 32
    assert cli.main(["sample", "--run", str(out), "--prompt", "Shall I", "--length", "30", "--seed", "1"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("Shall I") and len(first) == len("Shall I") + 30 + 1  # one char a step, a newline
    assert cli.main(["sample", "--run", str(out), "--prompt", "Shall I", "--length", "30", "--seed", "1"]) == 0
    assert capsys.readouterr().out == first
    assert cli.main(["sample", "--run", str(tmp_path / "nothing")]) == 2
    assert "holds no finished run" in capsys.readouterr().err
