"""nnzoo.recipes.seq2seq: the recipe's sequence loss teaching the attention encoder-decoder to reverse digit
strings, the token and translation scores, the date splits and vocabularies, and the date recipes end to end with
translate()."""
import json

import numpy as np
import pytest

import nnzoo
from nnzoo.recipes.seq2seq import (
    SequenceLoss,
    _locales_formats,
    date_splits,
    date_vocabs,
    token_accuracy,
    translate,
    translation_scores,
)
from nnzoo.zoo.seq2seq import Seq2Seq

SMALL = dict(src_vocab=14, tgt_vocab=14, embed=8, enc_hidden=8, dec_hidden=16, attn_hidden=8, max_len=7)
BOS, EOS = 2, 3


def _model(seed=0, **kw):
    nnzoo.manual_seed(seed)
    return Seq2Seq(**{**SMALL, **kw})


def _until_eos(row):
    row = list(np.asarray(row))
    return row[:row.index(EOS) + 1] if EOS in row else row


# ---- learning ----------------------------------------------------------------------------------------------------
def test_learns_to_reverse_digit_strings():
    """Reverse strings of 3-5 digits. Baselines: the untrained model, and echoing the input in order (right only
    on palindromes); 150 Adam steps of batch 32 must take the greedy exact match 0.85 above the better one."""
    rng = np.random.default_rng(0)

    def batch(B):
        n = rng.integers(3, 6, size=B)
        src, tgt_in, tgt_out = (np.zeros((B, 5), np.int64), np.zeros((B, 6), np.int64), np.zeros((B, 6), np.int64))
        for b in range(B):
            s = rng.integers(4, 14, size=n[b])                 # digits are tokens 4..13
            src[b, :n[b]] = s
            tgt_in[b, :n[b] + 1] = [BOS] + list(s[::-1])
            tgt_out[b, :n[b] + 1] = list(s[::-1]) + [EOS]
        return nnzoo.tensor(src), nnzoo.tensor(n), nnzoo.tensor(tgt_in), nnzoo.tensor(tgt_out)

    def exact_match(src, n):
        tokens = model.greedy(src, n, max_len=6)[0].numpy()
        s, n = src.numpy(), n.numpy()
        return np.mean([_until_eos(tokens[b]) == list(s[b, :n[b]][::-1]) + [EOS] for b in range(len(n))])

    model = _model(seed=0, embed=16, enc_hidden=32, dec_hidden=32, attn_hidden=16)
    test_src, test_n, _, _ = batch(200)
    echo = np.mean([list(r[:k]) == list(r[:k][::-1]) for r, k in zip(test_src.numpy(), test_n.numpy())])
    baseline = max(echo, exact_match(test_src, test_n))
    opt = nnzoo.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = SequenceLoss()
    for _ in range(150):
        src, n, tgt_in, tgt_out = batch(32)
        loss = loss_fn(model(src, n, tgt_in), tgt_out)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert exact_match(test_src, test_n) > baseline + 0.85, (exact_match(test_src, test_n), baseline)


# ---- metrics, data, recipes --------------------------------------------------------------------------------------
def test_scores():
    logits = np.zeros((2, 3, 5), np.float32)
    logits[0, :, 4] = 1.0
    logits[1, :, 1] = 1.0
    target = np.array([[4, 4, 0], [1, 2, 0]])               # 4 real tokens, 3 right; padding ignored
    assert token_accuracy(nnzoo.tensor(logits), nnzoo.tensor(target)) == 3 / 4
    s = translation_scores(["2018-05-09", "2018-05-19", "2018"], ["2018-05-09", "2018-05-09", "2018-05-09"])
    assert s["exact_match"] == 1 / 3
    assert s["char_accuracy"] == (10 + 9 + 4) / 30
    with pytest.raises(ValueError, match="2 predictions for 1 targets"):
        translation_scores(["a", "b"], ["a"])


def test_date_splits_are_disjoint_and_vocabularies_cover_them():
    config = {"locales": "", "formats": "", "n_train": 2000, "n_val": 200, "n_test": 300, "data_seed": 0}
    train, val, test = date_splits(config)
    assert (len(train), len(val), len(test)) == (2000, 200, 300)
    seen = {s for s, _ in train}
    assert not seen & {s for s, _ in val} and not (seen | {s for s, _ in val}) & {s for s, _ in test}
    src, tgt = date_vocabs(*_locales_formats(config))
    for text, iso in train + val + test:
        assert src.unk_index not in src.encode(text), text
        assert tgt.decode(tgt.encode(iso)) == iso


TINY = {"n_train": 256, "n_val": 64, "n_test": 64, "epochs": 1, "batch_size": 64, "locales": "en_GB",
        "formats": "d MMMM y|dd.MM.yy"}


@pytest.mark.parametrize("name,sizes", [("date-translator", {"embed": 8, "enc_hidden": 8, "dec_hidden": 16,
                                                              "attn_hidden": 8}),
                                        ("date-transformer", {"d_model": 16, "nhead": 2, "layers": 1,
                                                              "dim_feedforward": 32})])
def test_recipe_end_to_end_and_translate(tmp_path, name, sizes):
    from nnzoo.recipes import load_run, run_recipe
    r = run_recipe(name, out_dir=tmp_path, overrides={**TINY, **sizes}, progress=False)
    for key in ("test_exact_match", "test_char_accuracy", "val_exact_match", "val_char_accuracy"):
        assert 0.0 <= r[key] <= 1.0
    assert 0.0 <= r["test"]["token_accuracy"] <= 1.0
    assert r["parameters"] == sum(p.numel() for p in r["model"].parameters())
    assert r["examples"][0][0] == "saturday 9 may 2018"
    heatmaps = [p for p, caption in r["figures"] if caption.startswith("attention")]
    assert len(heatmaps) == (4 if name == "date-translator" else 0)
    for p in heatmaps:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # translate() on the reloaded model gives what the run reported for its examples
    recipe, config, model = load_run(tmp_path)
    assert recipe.name == name
    for text, out in r["examples"]:
        assert translate(model, config, text) == out
        assert set(out) <= set("0123456789-")
    assert translate(model, config, "  Saturday 9 May 2018 ") == r["examples"][0][1]
    with pytest.raises(ValueError, match="non-empty str"):
        translate(model, config, " ")
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["test_exact_match"] == r["test_exact_match"]
