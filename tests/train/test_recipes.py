"""run_recipe: configs, optimizers, the test set left alone when asked, the files a run writes."""
import json

import pytest

import nnzoo
from nnzoo.train.recipes import make_optimizer, run_recipe


def test_make_optimizer_follows_the_config():
    params = [nnzoo.zeros(2, requires_grad=True)]
    sgd = make_optimizer({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4}, params)
    assert isinstance(sgd, nnzoo.optim.SGD) and sgd.defaults["momentum"] == 0.9
    assert isinstance(make_optimizer({"optimizer": "Adam", "lr": 1e-3}, params), nnzoo.optim.Adam)
    assert isinstance(make_optimizer({"optimizer": "adamw", "lr": 1e-3}, params), nnzoo.optim.AdamW)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        make_optimizer({"optimizer": "lbfgs", "lr": 1.0}, params)


def test_run_writes_its_files_and_can_skip_the_test_set(tmp_path):
    r = run_recipe("logreg", out_dir=tmp_path, overrides={"epochs": 2, "plateau_patience": 1}, progress=False,
                   test=False)
    assert r["test"] is None and r["epochs"] == 2 and set(r["val"]) == {"loss", "accuracy"}
    for name in ("best.safetensors", "last.safetensors", "history.json", "history.png", "result.json"):
        assert (tmp_path / name).exists()
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["config"]["epochs"] == 2 and saved["test"] is None
    with pytest.raises(ValueError, match="takes .*batch_size"):
        run_recipe("logreg", out_dir=tmp_path, overrides={"batchsize": 8})
