"""The word2vec and cbow recipes: nnzoo train's files, result.json, the config rules, the fit hook."""
import json

import numpy as np
import pytest

from nnzoo.recipes import ConfigError, recipe, recipe_config, run_recipe
from nnzoo.zoo.word2vec import KeyedVectors

QUICK = {"limit": 1500, "epochs": 1, "vector_size": 16, "tsne": False}


@pytest.mark.parametrize("name", ["word2vec", "cbow"])
def test_recipe_writes_vectors_result_and_pictures(tmp_path, name):
    r = run_recipe(name, out_dir=tmp_path, overrides=QUICK, progress=False)
    for f in ("vectors.txt", "vectors.bin", "result.json", "loss.png", "pca.png"):
        assert (tmp_path / f).is_file(), f
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["name"] == name and saved["config"]["vector_size"] == 16 and saved["best_epoch"] is None
    test = saved["test"]
    assert test["words_per_second"] > 0
    if test["analogy_accuracy"] is not None:           # gensim's evaluation files are there
        assert 0 < test["analogy_coverage"] <= 1 and test["analogy_sections"]
    kv = KeyedVectors.load_word2vec_format(tmp_path / "vectors.bin", binary=True)
    np.testing.assert_array_equal(kv.vectors, r["model"].wv.vectors)
    assert r["model"].sg == (name == "word2vec")
    assert len(r["history"]["loss"]) > 0
    gensim = pytest.importorskip("gensim")
    g = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "vectors.txt"))
    np.testing.assert_allclose(g.vectors, kv.vectors, rtol=1e-6)


def test_recipe_reads_a_line_sentence_file(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 50)
    r = run_recipe("word2vec", out_dir=tmp_path / "run", progress=False, test=False,
                   overrides={"corpus": str(corpus), "min_count": 1, "vector_size": 8, "epochs": 2, "tsne": False})
    assert set(r["model"].wv.index_to_key) == {"the", "cat", "sat", "on", "mat", "dog", "log"}
    assert r["test"] is None


def test_config_rules():
    assert recipe_config("word2vec")["negative"] == 5 and recipe("cbow").fit is not None
    assert recipe_config("cbow", {"negative": 0, "hs": 1})["negative"] == 0
    for bad in ({"negative": 0}, {"corpus": "/no/such/file"}, {"hs": 2}, {"sample": -1.0}):
        with pytest.raises(ConfigError):
            recipe_config("word2vec", bad)


def test_resume_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="resume"):
        run_recipe("word2vec", out_dir=tmp_path, overrides=QUICK, progress=False, resume=True)


def test_missing_wikitext2_is_a_config_error(monkeypatch, tmp_path):
    import pathlib

    from nnzoo.data import text
    from nnzoo.recipes import word2vec as w2v
    real = text.wikitext2_root

    def nowhere(root=None):
        return real(root if root is not None else tmp_path)  # an empty folder: no valid.txt
    monkeypatch.setattr(text, "wikitext2_root", nowhere)
    with pytest.raises(ConfigError) as e:
        w2v.load_sentences({"corpus": "wikitext2", "limit": 10})
    assert e.value.key == "corpus" and "no valid.txt in " + str(pathlib.Path(tmp_path)) in e.value.problem
