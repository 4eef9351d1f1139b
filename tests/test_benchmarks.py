"""The benchmark suite runs and both sides of every workload compute the same thing (no timing here)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import registry, runner, timing  # noqa: E402
from benchmarks.workloads import mlp  # noqa: E402

EXPECTED = ["add_small", "add_small_nograd", "matmul_64", "chain3_backward", "mlp_step", "mlp_step_numpy",
            "mlp_nn_sgd", "mlp_nn_adam", "cifar_net_step", "vgg_small_step", "rnn_lstm_step", "rnn_gru_step",
            "rnn_tanh_step", "rnn_sample_char", "transformer_step", "seq2seq_step", "pow_scalar", "sgns_step"]
PAIRS = [(w.name, side) for w in registry.workloads() for side in w.sides]


def _np(x):
    """A step's result (a tensor of either library, an array, a number, or a tuple of them) as arrays."""
    if isinstance(x, tuple):
        return tuple(_np(v) for v in x)
    if hasattr(x, "detach"):
        return x.detach().numpy()
    return np.asarray(x)


def test_registry_lists_the_issue_workloads():
    assert registry.names() == EXPECTED
    for w in registry.workloads():
        assert w.description
        assert set(w.sides) == ({"numpy"} if w.reference_for else {"nnzoo", "torch"}), w.name
    assert registry.get("mlp_step_numpy").reference_for == "mlp_step"
    with pytest.raises(KeyError, match="unknown workload 'nope'"):
        registry.get("nope")


@pytest.mark.parametrize("name,side", PAIRS)
def test_each_side_runs_one_step(name, side):
    out = _np(registry.get(name).setup(side)())
    for arr in out if isinstance(out, tuple) else (out,):
        assert np.all(np.isfinite(arr)), (name, side)


@pytest.mark.parametrize("name", [w.name for w in registry.workloads() if {"nnzoo", "torch"} <= set(w.sides)])
def test_nnzoo_and_torch_compute_the_same(name):
    """Two steps on each side (the MLP's second step checks gradients and the SGD update too)."""
    wl = registry.get(name)
    ours, theirs = wl.setup("nnzoo"), wl.setup("torch")
    for _ in range(2):
        a, b = _np(ours()), _np(theirs())
        for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            assert x.shape == y.shape and x.dtype == y.dtype
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_mlp_numpy_reference_matches_torch_over_steps():
    ref, theirs = mlp.mlp_step_numpy(), registry.get("mlp_step").setup("torch")
    for _ in range(3):
        np.testing.assert_allclose(float(ref()), theirs().item(), rtol=1e-5)


def test_mlp_init_uses_linear_default_bounds():
    params = mlp.mlp_init()
    assert [p.shape for p in params] == [(784, 256), (256,), (256, 256), (256,), (256, 10), (10,)]
    for p, fan_in in zip(params, (784, 784, 256, 256, 256, 256)):
        assert p.dtype == np.float32 and np.abs(p).max() <= 1 / np.sqrt(fan_in)
    x, y = mlp.mlp_data()
    assert x.shape == (128, 784) and x.dtype == np.float32 and y.dtype == np.int64 and y.max() < 10


def test_measure_reports_median_and_spread():
    calls = []
    r = timing.measure(lambda: calls.append(1), reps=5, warmup=3, min_time=0.002)
    assert r["min_ms"] <= r["q1_ms"] <= r["median_ms"] <= r["q3_ms"] <= r["max_ms"]
    assert len(r["reps_ms"]) == 5 and r["steps_per_rep"] >= 1
    # every repetition ran steps_per_rep steps, and calibration made a repetition last >= min_time
    assert len(calls) >= 3 + 5 * r["steps_per_rep"]
    assert r["steps_per_rep"] * r["max_ms"] >= 2.0 * 0.5


def test_merge_runs_pools_repetitions():
    runs = [{"ok": True, "process": "nnzoo", "reps_ms": [1.0, 2.0, 3.0], "other_load_cpus": 0.1, "pid": 1,
             "env": {}, "facts": {}},
            {"ok": True, "process": "nnzoo", "reps_ms": [4.0, 5.0], "other_load_cpus": 0.3, "pid": 2,
             "env": {}, "facts": {}}]
    m = runner.merge_runs(runs)
    assert (m["median_ms"], m["min_ms"], m["max_ms"]) == (3.0, 1.0, 5.0)
    assert m["other_load_cpus"] == 0.3 and [p["pid"] for p in m["processes"]] == [1, 2]
    assert runner.merge_runs(runs + [{"ok": False, "error": "boom"}])["error"] == "boom"


def test_coretype_setting():
    assert runner.coretype_setting(False, {"OPENBLAS_CORETYPE": "Haswell"}) == ("Haswell", "set by the user")
    assert runner.coretype_setting(True, {})[0] is None
    if "avx512f" in runner.machine.cpuinfo()[1]:
        assert runner.coretype_setting(False, {})[0] == "SkylakeX"
    if "OPENBLAS_CORETYPE" not in os.environ:  # only the nnzoo process gets it
        assert "OPENBLAS_CORETYPE" not in runner.child_env("torch", "SkylakeX")
    assert runner.child_env("nnzoo", "SkylakeX")["OPENBLAS_CORETYPE"] == "SkylakeX"


def test_importing_the_suite_loads_neither_library():
    code = ("import sys, benchmarks; benchmarks.workloads(); "
            "assert 'torch' not in sys.modules and 'nnzoo' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_runner_end_to_end(tmp_path):
    """One workload through the real runner: both sides in fresh processes, table printed, JSON written."""
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "add_small", "--reps", "5", "--warmup", "1",
                           "--min-time", "0.002", "--procs", "1", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "| add_small" in proc.stdout and "torch/nnzoo" in proc.stdout
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert row["sides"]["nnzoo"]["ok"] and row["sides"]["torch"]["ok"]
    pids = [p["pid"] for side in ("nnzoo", "torch") for p in row["sides"][side]["processes"]]
    assert len(set(pids)) == 2 and os.getpid() not in pids
    assert len(row["sides"]["nnzoo"]["reps_ms"]) == 5
    assert row["ratio_torch_over_nnzoo"] > 0
    assert report["processes"]["nnzoo"]["numpy"] == np.__version__
    assert report["processes"]["torch"]["torch"].startswith("2.")
    assert report["machine"]["cpu_model"]


def test_paired_summary_is_the_median_of_round_ratios():
    from benchmarks import paired
    pairs = [{"ms": {"nnzoo": [1.0, 2.0, 4.0], "torch": [2.0, 2.0, 2.0]}},
             {"ms": {"nnzoo": [1.0], "torch": [0.5]}}]
    s = paired.summarize(pairs)
    ratios = sorted([2.0, 1.0, 0.5, 0.5])  # torch / nnzoo round by round
    assert s["ratio_median"] == np.median(ratios) and s["rounds"] == 4
    assert s["ratio_min"] == 0.5 and s["ratio_max"] == 2.0 and s["share_of_rounds_nnzoo_faster"] == 0.25
    assert s["nnzoo_median_ms"] == np.median([1.0, 2.0, 4.0, 1.0])


def test_paired_end_to_end(tmp_path):
    """Two serving processes, one per library, alternate; the waiting one uses no CPU meanwhile."""
    out = tmp_path / "p.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.paired", "add_small", "--pairs", "1", "--rounds",
                           "2", "--gap", "0.05", "--warmup", "1", "--min-time", "0.002", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "| add_small" in proc.stdout
    report = json.loads(out.read_text())
    (pair,) = report["workloads"]["add_small"]["pairs"]
    assert len(pair["ms"]["nnzoo"]) == len(pair["ms"]["torch"]) == 2
    assert pair["facts"]["torch"]["facts"]["torch"].startswith("2.")
    assert "torch" not in pair["facts"]["nnzoo"]["facts"]
    assert report["workloads"]["add_small"]["summary"]["ratio_median"] > 0


@pytest.mark.parametrize("tool", ["paired", "modes", "memory", "first_step"])
def test_an_unknown_workload_is_a_usage_error(tool, capsys):
    import importlib
    main = importlib.import_module(f"benchmarks.{tool}").main
    with pytest.raises(SystemExit) as e:
        main(["mlp_nn_sgd", "nope"])
    assert e.value.code == 2 and "unknown workload 'nope'" in capsys.readouterr().err
