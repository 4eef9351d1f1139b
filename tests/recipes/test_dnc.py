"""The DNC recipes: the task generators' layouts, nnzoo train's files and result.json, the config rules."""
import json

import numpy as np
import pytest

from nnzoo.recipes import ConfigError, recipe_config, run_recipe
from nnzoo.recipes.dnc import bits_wrong, graph_batch, repeat_copy_batch

TINY = {"hidden_size": 8, "memory_size": 12, "word_size": 4, "num_reads": 2, "batch_size": 4, "eval_every": 2,
        "eval_sequences": 8}


def test_repeat_copy_batch_follows_deepminds_layout():
    obs, target, mask = repeat_copy_batch(np.random.default_rng(0), 32, 4, 1, 3, 1, 3, norm_max=10)
    assert obs.shape[1:] == (32, 6) and target.shape[1:] == (32, 5) and mask.shape == obs.shape[:2]
    for b in range(32):
        n = int(np.flatnonzero(obs[:, b, 5])[0]) - 1          # the repeats flag follows the pattern
        r = round(float(obs[n + 1, b, 5]) * 10)
        assert obs[0, b, 4] == 1 and 1 <= n <= 3 and 1 <= r <= 3
        pattern = obs[1:n + 1, b, :4]
        np.testing.assert_array_equal(target[n + 2:n + 2 + n * r, b, :4], np.tile(pattern, (r, 1)))
        assert target[n + 2 + n * r, b, 4] == 1 and mask[:, b].sum() == n * r + 1
        assert mask[n + 2, b] == 1 and mask[n + 1, b] == 0
    assert bits_wrong(np.where(target > 0.5, 5.0, -5.0), target, mask) == 0
    flipped = np.where(target > 0.5, 5.0, -5.0)
    flipped[..., 0] *= -1                                     # one channel wrong at every scored step
    assert bits_wrong(flipped, target, mask) == mask.sum() / 32


def test_graph_batch_answers_are_the_walk_through_the_triples():
    nodes, labels = 5, 3
    obs, target, mask = graph_batch(np.random.default_rng(0), 16, nodes, labels, 2, 1, 4)
    triples = nodes * 2
    for b in range(16):
        edges = {}
        for t in range(triples):
            s, lab, d = (int(np.argmax(obs[t, b, :nodes])), int(np.argmax(obs[t, b, nodes:nodes + labels])),
                         int(np.argmax(obs[t, b, nodes + labels:2 * nodes + labels])))
            assert (s, lab) not in edges and obs[t, b, -2] == 1
            edges[(s, lab)] = d
        node = int(np.argmax(obs[triples, b, :nodes]))
        for t in range(triples, len(obs)):
            if not mask[t, b]:
                continue
            node = edges[(node, int(np.argmax(obs[t, b, nodes:nodes + labels])))]
            assert target[t, b] == node and obs[t, b, -1] == 1
        assert 1 <= mask[:, b].sum() <= 4


def test_repeat_copy_recipe_writes_result_and_pictures(tmp_path):
    r = run_recipe("dnc-repeat-copy", out_dir=tmp_path, progress=False,
                   overrides={**TINY, "steps": 4, "next_steps": 2})
    saved = json.loads((tmp_path / "result.json").read_text())
    test = saved["test"]
    assert set(test) >= {"bits_per_sequence", "sequences_seen", "next_bits_per_sequence", "next_sequences_seen"}
    assert test["sequences_seen"] <= 4 * 4 and test["next_sequences_seen"] <= 2 * 4
    assert test["bits_per_sequence"] >= 0
    for f in ("loss.png", "memory.png", "model.pt"):
        assert (tmp_path / f).is_file(), f
    assert len(saved["figures"]) == 2 and r["model"].config.memory_size == 12


def test_graph_recipe_reports_dnc_and_lstm(tmp_path):
    run_recipe("dnc-graph", out_dir=tmp_path, progress=False,
               overrides={**TINY, "nodes": 4, "labels": 2, "steps": 3, "max_hops": 2})
    test = json.loads((tmp_path / "result.json").read_text())["test"]
    assert 0 <= test["accuracy"] <= 1 and 0 <= test["lstm_accuracy"] <= 1
    assert abs(test["lstm_parameters"] - test["parameters"]) / test["parameters"] < 0.05
    assert (tmp_path / "memory.png").is_file() and (tmp_path / "loss.png").is_file()


@pytest.mark.parametrize("name,bad", [
    ("dnc-repeat-copy", {"max_length": 0}),
    ("dnc-repeat-copy", {"next_max_repeats": 20}),          # over norm_max: the repeat encoding leaves [0, 1]
    ("dnc-repeat-copy", {"optimizer": "sgd"}),
    ("dnc-graph", {"out_degree": 4}),
    ("dnc-graph", {"memory_size": 7}),                      # fewer slots than the 8 triples
    ("dnc-graph", {"baseline": 2}),
])
def test_bad_settings_are_config_errors(name, bad):
    with pytest.raises(ConfigError):
        recipe_config(name, bad)
