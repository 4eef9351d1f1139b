"""The classic zoo's energy-based cells (issue 19): Hopfield, Boltzmann machine, RBM, DBN, each against its
reference in one run.

- ``rbm_digits``: scikit-learn's example "Restricted Boltzmann Machine features for digit classification" (the x5
  nudged 8x8 digits, min-max scaled, 80/20 split with random_state 0; BernoulliRBM 100 components, lr 0.06,
  10 iterations, batch 10; LogisticRegression newton-cg, C 6000, tol 1e-4: the example's tol 1 stops newton-cg
  at its first iterate in scikit-learn 1.9.1, chance accuracy on either side's features, recorded as
  ``accuracy_tol_1``) against the same pipeline on nnzoo's RBM
  features (the same data, split and hyper-parameters; PCD-1 with scikit-learn's batches and chain), for seeds
  0, 1, 2, the three RBMs trained one after the other in each seed (scikit-learn, nnzoo's autograd step, nnzoo's
  closed-form step; the first rotates per seed). Figures: test accuracy, the test set's pseudo-likelihood (one
  function for all: nnzoo's ``pseudo_likelihood``, equal to scikit-learn's ``score_samples``, tested, on each
  model's parameters with the same flipped units), the RBM's training time (process CPU seconds, and wall).
- ``rbm_ais``: binarised Fashion-MNIST, an RBM of 20 hidden units (the ``rbm`` recipe's ``fit_fashion``): the
  test log-likelihood with the exact log Z (2^20 hidden states) and with the AIS estimate (300 runs, 10,000
  temperatures).
- ``hopfield``, ``boltzmann``, ``dbn``: the recipes at their defaults: the capacity (the N -> infinity fit of
  the half-recall load for N = 100..500) against 0.138; the 4-2-4 encoder's success rate and median cycles over
  20 runs against the paper's 250/250 and 110; the pretrained DBN's test accuracy against the same net from
  random initialisation (for each seed).

Threads: the 2-core machine is shared; OpenBLAS is held to one thread (``OPENBLAS_NUM_THREADS=1``, set here
before NumPy loads) for both libraries, since with a load of ~20 its two-thread small matrix products ran ~50x
slower (measured: 100-temperature AIS 102 s against 6 s). Times are process CPU seconds (what each side
computed), wall seconds beside them.

    python -m benchmarks.classic_energy [--sections rbm_digits rbm_ais hopfield boltzmann dbn] [--seeds 0 1 2]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import statistics
import tempfile
import time

import numpy as np

SECTIONS = ("rbm_digits", "rbm_ais", "hopfield", "boltzmann", "dbn")
SK = dict(n_components=100, learning_rate=0.06, n_iter=10, batch_size=10)


def _clock():
    return time.process_time(), time.perf_counter()


def _since(t):
    return time.process_time() - t[0], time.perf_counter() - t[1]


def _pipeline_scores(features_train, features_test, y_train, y_test, tol=1e-4):
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression(solver="newton-cg", tol=tol, C=6000).fit(features_train, y_train)
    return float((clf.predict(features_test) == y_test).mean())


def _pseudo_likelihood(W, b, c, X, seed):
    import nnzoo
    from nnzoo.zoo.rbm import RBM
    rbm = RBM(W.shape[1], W.shape[0])
    with nnzoo.no_grad():
        rbm.weight.copy_(nnzoo.from_numpy(np.asarray(W, np.float32)))
        rbm.v_bias.copy_(nnzoo.from_numpy(np.asarray(b, np.float32)))
        rbm.h_bias.copy_(nnzoo.from_numpy(np.asarray(c, np.float32)))
    return float(rbm.pseudo_likelihood(nnzoo.from_numpy(X), nnzoo.Generator().manual_seed(1000 + seed)).mean())


def rbm_digits(seeds) -> dict:
    """scikit-learn's RBM pipeline against nnzoo's (autograd and closed-form steps), per seed."""
    import sklearn
    from sklearn.neural_network import BernoulliRBM

    import nnzoo
    from nnzoo.recipes.rbm import digits_pipeline_data, train_rbm
    from nnzoo.zoo.rbm import RBM
    Xtr, Xte, ytr, yte = digits_pipeline_data(0)
    rows = {"scikit-learn": [], "nnzoo autograd": [], "nnzoo closed_form": []}
    for seed in seeds:
        order = list(rows)
        order = order[seed % 3:] + order[:seed % 3]
        for side in order:
            t = _clock()
            if side == "scikit-learn":
                rbm = BernoulliRBM(random_state=seed, **SK).fit(Xtr)
                cpu, wall = _since(t)
                W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
                ftr, fte = rbm.transform(Xtr), rbm.transform(Xte)
            else:
                g = nnzoo.Generator().manual_seed(seed)
                rbm = RBM(64, SK["n_components"], generator=g)
                train_rbm(rbm, Xtr, epochs=SK["n_iter"], lr=SK["learning_rate"], batch_size=SK["batch_size"],
                          k=1, persistent=True, update=side.split()[1], generator=g)
                cpu, wall = _since(t)
                W, b, c = (p.detach().numpy() for p in (rbm.weight, rbm.v_bias, rbm.h_bias))
                with nnzoo.no_grad():
                    ftr, fte = (rbm(nnzoo.from_numpy(x)).numpy() for x in (Xtr, Xte))
            rows[side].append({"seed": seed, "accuracy": _pipeline_scores(ftr, fte, ytr, yte),
                               "accuracy_tol_1": _pipeline_scores(ftr, fte, ytr, yte, tol=1.0),
                               "pseudo_likelihood": _pseudo_likelihood(W, b, c, Xte, seed),
                               "cpu_seconds": cpu, "wall_seconds": wall})
            print(f"rbm_digits seed {seed} {side}: {rows[side][-1]}", flush=True)
    summary = {}
    for side, runs in rows.items():
        summary[side] = {k: {"mean": statistics.mean(r[k] for r in runs),
                             "stdev": statistics.stdev(r[k] for r in runs) if len(runs) > 1 else 0.0}
                         for k in ("accuracy", "pseudo_likelihood", "cpu_seconds", "wall_seconds")}
    ref = summary["scikit-learn"]
    for side in ("nnzoo autograd", "nnzoo closed_form"):
        summary[side]["time_ratio_cpu"] = summary[side]["cpu_seconds"]["mean"] / ref["cpu_seconds"]["mean"]
        summary[side]["accuracy_diff"] = summary[side]["accuracy"]["mean"] - ref["accuracy"]["mean"]
    return {"scikit-learn": sklearn.__version__, "hyper_parameters": SK, "train": len(Xtr), "test": len(Xte),
            "runs": rows, "summary": summary}


def rbm_ais() -> dict:
    from nnzoo.recipes.rbm import DEFAULTS, fit_fashion
    config = dict(DEFAULTS, update="closed_form")
    t = _clock()
    out = fit_fashion(config, seed=0)
    cpu, wall = _since(t)
    out.pop("rbm")
    return {"config": {k: config[k] for k in ("fashion_hidden", "fashion_epochs", "fashion_lr", "fashion_batch",
                                              "k", "persistent", "update", "ais_runs", "ais_betas")},
            **out, "within_1_nat": abs(out["ais_gap"]) < 1.0, "cpu_seconds": cpu, "wall_seconds": wall}


def _recipe(name, seed=0) -> dict:
    from nnzoo.recipes import run_recipe
    with tempfile.TemporaryDirectory() as d:
        t = _clock()
        r = run_recipe(name, out_dir=d, progress=False, seed=seed)
        cpu, wall = _since(t)
    keep = {k: r[k] for k in ("test", "config") if k in r}
    for k in ("capacity_by_n", "solved_at", "paper", "curves"):
        if k in r:
            keep[k] = r[k]
    return {**keep, "cpu_seconds": cpu, "wall_seconds": wall}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "classic_energy.json"))
    args = p.parse_args(argv)
    from nnzoo.kernels import jit
    try:
        with open(args.out) as f:
            results = json.load(f)          # sections run separately are merged into one file
    except (OSError, ValueError):
        results = {}
    results.setdefault("sections", {})
    results.update({"machine": platform.platform(), "cpus": os.cpu_count(), "kernels": jit.active_mode(),
                    "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "load_average_at_start": os.getloadavg()})
    for name in args.sections:
        print(f"== {name}", flush=True)
        if name == "rbm_digits":
            results["sections"][name] = rbm_digits(args.seeds)
        elif name == "rbm_ais":
            results["sections"][name] = rbm_ais()
        elif name == "dbn":                 # pretrained against random init: a difference, so over the seeds
            runs = [_recipe(name, seed) for seed in args.seeds]
            summary = {k: {"mean": statistics.mean(r["test"][k] for r in runs),
                           "stdev": statistics.stdev(r["test"][k] for r in runs) if len(runs) > 1 else 0.0}
                       for k in ("accuracy", "accuracy_random", "accuracy_gain")}
            results["sections"][name] = {"seeds": args.seeds, "summary": summary, "runs": runs}
        else:
            results["sections"][name] = _recipe(name)
        results["sections"][name]["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        results["sections"][name]["load_average_at_end"] = os.getloadavg()
        try:                                # re-read: another process may have added its sections meanwhile
            with open(args.out) as f:
                on_disk = json.load(f).get("sections", {})
        except (OSError, ValueError):
            on_disk = {}
        results["sections"] = {**on_disk, **results["sections"]}
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1, default=float)
        print(json.dumps(results["sections"][name].get("summary") or results["sections"][name].get("test")
                         or {k: v for k, v in results["sections"][name].items() if k not in ("curves",)},
                         default=float)[:1500], flush=True)
    return results


if __name__ == "__main__":
    main()
