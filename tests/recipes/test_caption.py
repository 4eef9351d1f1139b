"""The caption and caption-attention recipes on tiny configs: result.json keys, pictures, weights load_run reads
back, the config rules; the BLEU/exact-match scorer against NLTK's sentence-level BLEU and the attention-in-box
measure against a direct pixel computation."""
import json

import numpy as np
import pytest
from nltk.translate.bleu_score import corpus_bleu, sentence_bleu

from nnzoo.data.datasets.scenes import SceneItem
from nnzoo.recipes import ConfigError, load_run, recipe_config, run_recipe
from nnzoo.recipes.caption import attention_in_box, caption_scores

QUICK = {"image_size": 16, "grid": 2, "max_items": 2, "channels": [4, 8], "n_train": 40, "n_val": 6, "n_test": 6,
         "embed": 8, "hidden": 16, "attn_hidden": 8, "steps": 4, "eval_every": 2, "batch_size": 8, "beam_scenes": 2,
         "max_len": 12}


@pytest.mark.parametrize("name", ["caption", "caption-attention"])
def test_recipe_writes_result_pictures_and_weights(tmp_path, name):
    overrides = {**QUICK, **({"alpha_c": 1.0} if name == "caption-attention" else {})}
    r = run_recipe(name, out_dir=tmp_path, overrides=overrides, progress=False)
    saved = json.loads((tmp_path / "result.json").read_text())
    test = saved["test"]
    keys = {"bleu1", "bleu2", "bleu3", "bleu4", "exact_match", "beam_bleu4", "beam_exact_match"}
    if name == "caption-attention":
        keys |= {"attention_in_box", "attention_chance"}
        if test["attention_nouns"]:
            assert 0 <= test["attention_in_box"] <= 1 and 0 < test["attention_chance"] < 1
    assert keys <= set(test)
    assert all(0 <= test[k] <= 1 for k in ("bleu1", "bleu4", "exact_match", "beam_exact_match"))
    assert saved["val"]["best_step"] in (2, 4) and r["history"]["val_step"] == [2, 4]
    pictures = {p.split("/")[-1] for p, _ in saved["figures"]}
    assert {"history.png", "captions.png"} <= pictures
    assert any(p.startswith("attention_") for p in pictures) == (name == "caption-attention")
    for p, _ in saved["figures"]:
        assert (tmp_path / p.split("/")[-1]).is_file()
    _, config, model = load_run(tmp_path)
    assert config["hidden"] == 16 and model.config.vocab == saved["vocab_size"]


def test_config_rules():
    assert recipe_config("caption")["steps"] == recipe_config("caption-attention")["steps"]
    for bad in ({"grid": 4}, {"items": "digits"}, {"max_items": 10}, {"alpha_c": -1.0}, {"image_size": 50},
                {"beam_scenes": -1}, {"dropout": 1.0}):
        with pytest.raises(ConfigError):
            recipe_config("caption-attention", bad)


def test_caption_scores_against_nltk():
    refs = [[["a", "red", "circle", "at", "the", "top"], ["there", "is", "a", "red", "circle", "in", "the", "top"]],
            [["a", "blue", "square", "at", "the", "left", "and", "a", "red", "cross"]]]
    hyps = [["a", "red", "circle", "in", "the", "top"], ["a", "blue", "square", "at", "the", "left", "and", "a", "red",
                                                         "cross"]]
    s = caption_scores(hyps, refs)
    assert s["exact_match"] == 0.5
    np.testing.assert_allclose(s["bleu4"], corpus_bleu(refs, hyps))
    np.testing.assert_allclose(s["bleu1"], corpus_bleu(refs, hyps, weights=(1.0,)))
    one = caption_scores(hyps[1:], refs[1:])
    assert one["bleu4"] == sentence_bleu(refs[1], hyps[1]) == 1.0 and one["exact_match"] == 1.0


def test_attention_in_box_against_pixels():
    rng = np.random.default_rng(0)
    f, size = 4, 16                                         # 4 x 4 regions of 4 x 4 pixels
    items = [SceneItem("circle", "red", "small", 0, (1, 2, 7, 6)),
             SceneItem("cross", "blue", "large", 3, (9, 9, 15, 16))]
    words = ["a", "circle", "and", "a", "square", "and", "cross"]   # the second noun names the wrong kind
    weights = rng.dirichlet(np.ones(f * f), size=len(words))
    got = attention_in_box(words, weights, items, ("circle", "square", "cross"), size)
    assert [g[0] for g in got] == ["circle"]                 # 2nd noun: 'square' is not item 2's kind; 3rd: no item
    pixels = np.kron(weights[1].reshape(f, f), np.ones((4, 4))) / 16    # each region's weight spread over its pixels
    x0, y0, x1, y1 = items[0].box
    np.testing.assert_allclose(got[0][1], pixels[y0:y1, x0:x1].sum())
    np.testing.assert_allclose(got[0][2], (x1 - x0) * (y1 - y0) / size ** 2)
