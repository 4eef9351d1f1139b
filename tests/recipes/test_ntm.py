"""The NTM recipes: the task generators, nnzoo train's files and result.json, the config rules."""
import json

import numpy as np
import pytest

from nnzoo.recipes import ConfigError, recipe_config, run_recipe
from nnzoo.recipes.ntm import CopyTask, RecallTask, RepeatCopyTask

TINY = {"controller_size": 12, "memory_n": 12, "memory_m": 5, "sequences": 16, "batch_size": 4, "eval_every": 8,
        "eval_batch": 2, "test_batch": 2}
SMALL_TASK = {"ntm-copy": {"max_len": 3, "test_lengths": [5]}, "ntm-repeat-copy": {"max_len": 2, "max_reps": 2},
              "ntm-recall": {"max_items": 3}}


@pytest.mark.parametrize("name", ["ntm-copy", "ntm-repeat-copy", "ntm-recall"])
def test_recipe_writes_result_and_pictures(tmp_path, name):
    r = run_recipe(name, out_dir=tmp_path, overrides={**TINY, **SMALL_TASK[name]}, progress=False)
    saved = json.loads((tmp_path / "result.json").read_text())
    test = saved["test"]
    assert test["sequences_seen"] == 16 and test["bits_per_sequence"] >= 0 and "sequences_to_target" in test
    assert saved["val"]["bits_per_sequence"] >= 0 and (tmp_path / "ntm.pt").is_file()
    assert len(r["history"]["loss"]) == 4 and r["history"]["val_sequences"] == [8, 16]
    for path, _ in saved["figures"]:
        assert (tmp_path / path.split("/")[-1]).is_file()
    assert (tmp_path / "memory.png").is_file() and (tmp_path / "learning_curve.png").is_file()
    if name == "ntm-copy":
        assert set(test["bits_per_sequence_by_length"]) == {"5"} and (tmp_path / "generalisation.png").is_file()


def test_config_rules():
    assert recipe_config("ntm-copy")["memory_n"] == 128
    for name, bad in (("ntm-copy", {"controller": "gru"}), ("ntm-copy", {"task": "recall"}),
                      ("ntm-copy", {"max_len": 0}), ("ntm-recall", {"min_items": 1}),
                      ("ntm-repeat-copy", {"optimizer": "sgd"}), ("ntm-copy", {"test_lengths": [0]}),
                      ("ntm-copy", {"shift_range": 100})):
        with pytest.raises(ConfigError):
            recipe_config(name, bad)


def test_copy_and_repeat_copy_targets():
    rng = np.random.default_rng(0)
    x, y = CopyTask(8, 1, 20).batch(rng, 3, 7)
    assert x.shape == (8, 3, 9) and y.shape == (7, 3, 8)
    np.testing.assert_array_equal(x[:7, :, :8], y)
    np.testing.assert_array_equal(x[:, :, 8], np.eye(8)[7][:, None].repeat(3, 1))   # the delimiter, last step only
    task = RepeatCopyTask(8, 1, 10, 1, 10)
    x, y = task.batch(rng, 2, 4, 3)
    assert x.shape == (6, 2, 10) and y.shape == (13, 2, 9)
    np.testing.assert_array_equal(y[:12, :, :8], np.concatenate([x[:4, :, :8]] * 3))
    assert y[12, :, 8].tolist() == [1, 1] and y[:12, :, 8].sum() == 0
    reps = np.arange(1, 11)
    np.testing.assert_allclose(x[5, 0, 9], (3 - reps.mean()) / reps.std())       # normalised over 1..10


def test_recall_answer_is_the_item_after_the_query():
    task = RecallTask(6, 3, 2, 6)
    x, y = task.batch(np.random.default_rng(1), 5, 4)
    assert x.shape == (4 * 4 + 5, 5, 8) and y.shape == (3, 5, 6)
    for b in range(5):
        items = [x[i * 4 + 1:i * 4 + 4, b, :6] for i in range(4)]
        query = x[17:20, b, :6]
        q = [i for i in range(3) if np.array_equal(items[i], query)]
        assert q and any(np.array_equal(items[i + 1], y[:, b]) for i in q)
    assert x[16, :, 7].tolist() == [1] * 5 and x[20, :, 7].tolist() == [1] * 5
