"""The dcgan recipe on a tiny config: samples.npy, result.json's Fréchet distance, the pictures, the classifier
it reads (a given run or one trained first), the config rules. The model: tests/zoo/test_dcgan.py."""
import json
import pathlib

import numpy as np
import pytest
from helpers import skip_without_fashion_mnist

import nnzoo.recipes
from nnzoo.recipes import ConfigError, recipe_config, run_recipe
from nnzoo.recipes.dcgan import batch_plan

CLASSIFIER = {"epochs": 1, "channels": [4, 8], "hidden": 16, "train_size": 256, "val_size": 128, "test_size": 100,
              "batch_size": 64, "mc_samples": 2}
TINY = {"steps": 4, "batch_size": 8, "nz": 8, "ngf": 4, "ndf": 4, "fid_samples": 60, "fid_real": 200,
        "n_samples": 20, "sample_every": 2}


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    skip_without_fashion_mnist()
    out = tmp_path_factory.mktemp("classifier")
    run_recipe("mc-dropout", out_dir=out, overrides=CLASSIFIER, progress=False)
    return out


def test_recipe_writes_samples_fid_and_pictures(tmp_path, classifier_run):
    r = run_recipe("dcgan", out_dir=tmp_path, overrides={**TINY, "classifier": str(classifier_run)}, progress=False)
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (20, 1, 28, 28) and samples.dtype == np.float32 and np.abs(samples).max() <= 1
    saved = json.loads((tmp_path / "result.json").read_text())
    test = saved["test"]
    assert np.isfinite(test["fid"]) and test["fid"] >= 0 and test["fid_samples"] == 60 and test["fid_real"] == 200
    assert 0 <= test["fid_real_train"] < test["fid"]     # real images are closer to real ones than 4 steps' samples
    assert saved["classifier"]["trained_here"] is False and saved["steps"] == 4
    assert len(r["history"]["loss_d"]) == 4
    for f in ("samples_step00002.png", "samples.png", "losses.png", "dcgan.safetensors"):
        assert (tmp_path / f).is_file(), f
    assert all(pathlib.Path(p).is_file() for p, _ in saved["figures"])


def test_without_a_classifier_run_it_trains_one_first_and_says_so(tmp_path, monkeypatch, capsys):
    skip_without_fashion_mnist()
    real = nnzoo.recipes.run_recipe

    def tiny(name, out_dir=None, overrides=None, **kw):   # the quick classifier, made tinier for the test
        return real(name, out_dir=out_dir, overrides={**(overrides or {}), **CLASSIFIER}, **kw)
    monkeypatch.setattr(nnzoo.recipes, "run_recipe", tiny)
    r = real("dcgan", out_dir=tmp_path, overrides={**TINY, "steps": 1, "sample_every": 0}, progress=False)
    assert "training one first" in capsys.readouterr().out
    assert r["classifier"]["trained_here"] is True and (tmp_path / "classifier" / "result.json").is_file()


def test_batch_plan_is_seeded_and_covers_each_pass():
    a, b = list(batch_plan(20, 6, 8, 3, seed=1)), list(batch_plan(20, 6, 8, 3, seed=1))
    assert all(np.array_equal(i, j) and np.array_equal(z, w) for (i, z), (j, w) in zip(a, b))
    first_pass = np.concatenate([i for i, _ in a[:2]])        # 20 // 8 = 2 batches a pass
    assert len(set(first_pass.tolist())) == 16 and a[0][1].shape == (8, 3) and a[0][1].dtype == np.float32


def test_config_rules(tmp_path):
    assert recipe_config("dcgan")["lr"] == 2e-4 and recipe_config("dcgan")["beta1"] == 0.5
    for bad in ({"classifier": str(tmp_path / "nothing")}, {"beta1": 1.0}, {"fid_samples": 1}, {"steps": 0},
                {"fid_real": 20000}):
        with pytest.raises(ConfigError):
            recipe_config("dcgan", bad)


def test_a_classifier_of_another_recipe_is_refused(tmp_path, classifier_run):
    import shutil
    other = tmp_path / "other"
    shutil.copytree(classifier_run, other)
    result = json.loads((other / "result.json").read_text())
    (other / "result.json").write_text(json.dumps({**result, "name": "cnn", "config": {}}))
    with pytest.raises((ConfigError, nnzoo.recipes.RunError)):
        run_recipe("dcgan", out_dir=tmp_path / "run", overrides={**TINY, "classifier": str(other)}, progress=False)
