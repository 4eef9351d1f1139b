"""The MLP and logistic regression: shapes, and the MLP recipe learning the digits."""
import time

import nnzoo
from nnzoo.recipes import run_recipe
from nnzoo.zoo import MLP, LogisticRegression


def test_shapes_and_parameter_counts():
    x = nnzoo.zeros(5, 1, 8, 8)
    m = MLP(64, (32, 16), 10, dropout=0.1)
    assert m(x).shape == (5, 10)
    # (64*32 + 32) + (32*16 + 16) + (16*10 + 10)
    assert sum(p.numel() for p in m.parameters()) == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
    assert LogisticRegression(64, 10)(x).shape == (5, 10)


def test_mlp_learns_the_digits_to_97_percent_within_60_seconds(tmp_path):
    """The issue's bar: stratified split (80% train+validation / 20% test), fixed seed, >= 97% on test."""
    start = time.perf_counter()
    result = run_recipe("mlp", out_dir=tmp_path, seed=0, progress=False)
    elapsed = time.perf_counter() - start
    assert result["test"]["accuracy"] >= 0.97
    assert elapsed < 60
    assert result["config"]["epochs"] == result["epochs"]
