"""nnzoo.recipes.mlp: the MLP recipe learning the digits."""
import time

from nnzoo.recipes import run_recipe


def test_mlp_learns_the_digits_to_97_percent_within_60_seconds(tmp_path):
    """The issue's bar: stratified split (80% train+validation / 20% test), fixed seed, >= 97% on test."""
    start = time.perf_counter()
    result = run_recipe("mlp", out_dir=tmp_path, seed=0, progress=False)
    elapsed = time.perf_counter() - start
    assert result["test"]["accuracy"] >= 0.97
    assert elapsed < 60
    assert result["config"]["epochs"] == result["epochs"]
