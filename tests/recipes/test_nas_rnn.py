"""The nas-rnn recipe on a tiny config: the searches run, result.json holds the figures the issue names, the
pictures are written, the compared models have matched parameter counts, and bad settings are ConfigErrors."""
import json

import pytest

from nnzoo.recipes import ConfigError, recipe_config, run_recipe
from nnzoo.recipes.nas_rnn import matched_hidden, parse_genotype

TINY = {"nodes": 3, "hidden": 8, "final_hidden": 8, "bptt": 8, "batch_size": 4, "train_chars": 3000,
        "eval_chars": 400, "search_val_chars": 200, "candidate_steps": 2, "candidates": 3, "population": 2,
        "tournament": 2, "final_steps": 4, "eval_every": 2, "compare": "lstm,mut1"}


def test_search_then_comparison_writes_result_and_pictures(tmp_path):
    r = run_recipe("nas-rnn", out_dir=tmp_path, overrides={**TINY, "searchers": "evolution,random"},
                   progress=False)
    for f in ("result.json", "cell.png", "search.png", "curves.png"):
        assert (tmp_path / f).is_file(), f
    test = json.loads((tmp_path / "result.json").read_text())["test"]
    assert set(test["search"]) == {"evolution", "random"}
    best = min(test["search"].values(), key=lambda s: s["best_val_bpc"])
    assert test["genotype"] == best["best_genotype"] and parse_genotype(",".join(map(str, test["genotype"])))
    for s in test["search"].values():
        assert s["candidates"] == 3 and len(s["fitness"]) == 3 and s["best_val_bpc"] == min(s["fitness"])
    assert 0 < test["bpc"] < 10 and test["bpc"] == test["models"]["nas"]["test_bpc_mean"]
    models = test["models"]
    assert set(models) == {"nas", "lstm", "mut1"}
    for kind in ("lstm", "mut1"):             # the nearest width: one more unit would move further from the target
        h, n = models[kind]["hidden"], models[kind]["params"]
        assert (h, n) == matched_hidden(kind, models["nas"]["params"], r["config"], 88)
    assert sorted(test["ranking_by_val_bpc"]) == sorted(models)
    assert r["model"].kind == "nas"


def test_a_given_genotype_skips_the_search(tmp_path):
    r = run_recipe("nas-rnn", out_dir=tmp_path, overrides={**TINY, "genotype": "0,0,1,0,3", "searchers": "",
                                                             "compare": "gru"}, progress=False)
    assert r["test"]["search"] == {} and r["test"]["genotype"] == [0, 0, 1, 0, 3]
    assert not (tmp_path / "search.png").exists() and (tmp_path / "cell.png").is_file()


def test_bad_settings_are_config_errors(tmp_path):
    assert recipe_config("nas-rnn")["searchers"] == "evolution,random"
    for bad in ({"genotype": "0,1"}, {"genotype": "5"}, {"searchers": "hillclimb"}, {"compare": "nas"},
                {"tournament": 7, "population": 6}, {"train_chars": 10}, {"optimizer": "adamw"}):
        with pytest.raises(ConfigError):
            recipe_config("nas-rnn", bad)
    with pytest.raises(ConfigError, match="searchers"):
        run_recipe("nas-rnn", out_dir=tmp_path, overrides={**TINY, "searchers": ""}, progress=False)
