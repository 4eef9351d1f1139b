"""The classic supervised zoo (issue 19): perceptron, RBF network and ELM, each against its reference in one run.

For each seed (3 by default), each side runs on the same data in this process, one after the other, the side
that goes first alternating with the seed; times are wall-clock seconds of the training call only (data
prepared before the clock starts), quoted as ratios nnzoo / reference.

- **Perceptron.** Separable data (200 points in 2-D and 10-D, margin 0.1): mistakes until an epoch without
  mistakes against Novikoff's (R/γ)², γ of the maximum-margin separator (ours, checked against scikit-learn's
  ``LinearSVC``, hinge loss, C = 1e6, on the augmented points); XOR: the fewest mistakes in one of 200 epochs.
  Digits (the recipes' 70/10/20 split), one-vs-rest, 20 epochs in a fresh order each: nnzoo's ``Perceptron``
  (its compiled epoch kernel, and its NumPy path under ``jit.mode("numpy")``) against scikit-learn's
  ``Perceptron(max_iter=20, tol=None, shuffle=True)``: test accuracy, training time (wall and process CPU), each
  side warmed up once, then per seed the median of 5 fits, the three sides interleaved in a rotating order.
- **RBF network.** XOR (Haykin's 2 centres), two moons (20 k-means centres), digits (100 k-means centres):
  test accuracy of the least-squares and gradient read-outs against an MLP with one hidden layer and the same
  number of parameters trained by backprop in nnzoo (Adam 3e-3, batch 64, 100 epochs); time of the RBF fit
  (k-means + widths + least squares) against the MLP's training. Also our k-means against scikit-learn's
  ``KMeans(n_init=1)`` on the digits (inertia, seconds): the reason for keeping our own.
- **ELM.** Digits and Fashion-MNIST, 1,000 to 4,000 sigmoid units, α = 1: nnzoo's ELM (random features +
  ridge solve) against scikit-learn's ``RidgeClassifier(alpha=1, fit_intercept=False)`` fitted on the same
  features H, and against an MLP D-256-10 trained by backprop in nnzoo (Adam 1e-3, batch 128; 30 epochs on
  digits, 10 on Fashion-MNIST).

Targets (issue 19): nnzoo's quality at least the reference's within noise (mean over seeds, noise = the larger
standard deviation) and no more than 2x its training time. Results: ``benchmarks/results/classic_supervised.json``.

    python -m benchmarks.classic_supervised [--seeds 3] [--rows perceptron rbf elm] [--fashion-hidden 1000 4000]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings

import numpy as np

RESULT = os.path.join(os.path.dirname(__file__), "results", "classic_supervised.json")


def _stats(values):
    values = [float(v) for v in values]
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


def _verdict(ours, ref, higher_is_better=True, time_ours=None, time_ref=None):
    """Quality within noise (the larger std, at least 0.5 pt) and time ratio <= 2."""
    noise = max(ours["std"], ref["std"], 0.005)
    diff = ours["mean"] - ref["mean"] if higher_is_better else ref["mean"] - ours["mean"]
    out = {"quality_ok": diff >= -noise, "quality_diff": diff, "noise": noise}
    if time_ours is not None:
        ratio = time_ours["mean"] / time_ref["mean"]
        out.update(time_ratio=ratio, time_ok=ratio <= 2.0)
    return out


def _digits():
    from nnzoo.recipes import digits_splits
    from nnzoo.recipes.perceptron import subset_arrays
    return tuple(subset_arrays(s) for s in digits_splits({"split_seed": 0}))


# ---- perceptron --------------------------------------------------------------------------------------------

PERCEPTRON_EPOCHS = 20
PERCEPTRON_REPEATS = 5      # timed fits per seed and side; the median is kept (a fit takes a few ms)


def perceptron_row(seeds):
    from sklearn.linear_model import Perceptron as SkPerceptron
    from sklearn.svm import LinearSVC

    import nnzoo
    from nnzoo.kernels import jit
    from nnzoo.recipes.perceptron import separable_data, train_until_converged
    from nnzoo.zoo.perceptron import Perceptron, max_margin, novikoff_bound, signed_targets
    row = {"separable": {}, "xor": None, "digits": None}
    for dim in (2, 10):
        runs = []
        for seed in seeds:
            X, y = separable_data(200, dim, 0.1, seed)
            _, gamma = max_margin(X, y)
            A = np.hstack([X, np.ones((len(X), 1))]).astype(np.float64)
            svc = LinearSVC(loss="hinge", C=1e6, fit_intercept=False, max_iter=1_000_000, tol=1e-10).fit(A, y)
            v = svc.coef_[0] / np.linalg.norm(svc.coef_[0])
            bound = novikoff_bound(X, gamma=gamma)
            unit = Perceptron(dim)
            history = train_until_converged(unit, X, y, 10_000, np.random.default_rng(seed))
            runs.append({"mistakes": sum(history), "epochs": len(history), "bound": bound["bound"],
                         "R": bound["R"], "gamma": gamma, "gamma_linear_svc": float((A * y[:, None] @ v).min())})
        row["separable"][f"{dim}d"] = {"runs": runs, "bound_holds": all(r["mistakes"] <= r["bound"] for r in runs),
                                       "gamma_matches_svc": all(abs(r["gamma"] - r["gamma_linear_svc"]) < 1e-4
                                                                for r in runs)}
    from nnzoo.data.datasets import xor
    fewest = []
    for seed in seeds:
        X, y = (t.numpy() for t in xor(200, noise=0.25, seed=seed).tensors)
        h = train_until_converged(Perceptron(2), X, np.where(y > 0, 1.0, -1.0), 200, np.random.default_rng(seed))
        fewest.append(min(h))
    row["xor"] = {"fewest_mistakes_in_an_epoch": fewest, "converged": any(f == 0 for f in fewest)}
    (Xtr, ytr), _, (Xte, yte) = _digits()
    Y = signed_targets(ytr, 10)
    sides = ("nnzoo", "nnzoo_numpy_path", "sklearn")
    acc = {k: [] for k in sides}
    sec = {k: [] for k in sides}
    cpu = {k: [] for k in sides}              # process CPU time: less disturbed by the other processes' load

    def ours(seed, mode):
        with jit.mode(mode):
            p = Perceptron(64, 10)
            rng = np.random.default_rng(seed)
            t, c = time.perf_counter(), time.process_time()
            for _ in range(PERCEPTRON_EPOCHS):
                p.fit_epoch(Xtr, Y, order=rng.permutation(len(Xtr)))
            t, c = time.perf_counter() - t, time.process_time() - c
        with nnzoo.no_grad():
            return t, c, float((p.predict(nnzoo.tensor(Xte)).numpy() == yte).mean())

    def theirs(seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, c = time.perf_counter(), time.process_time()
            p = SkPerceptron(max_iter=PERCEPTRON_EPOCHS, tol=None, shuffle=True, random_state=seed).fit(Xtr, ytr)
            t, c = time.perf_counter() - t, time.process_time() - c
        return t, c, float(p.score(Xte, yte))

    runners = {"nnzoo": lambda seed: ours(seed, "compiled"), "nnzoo_numpy_path": lambda seed: ours(seed, "numpy"),
               "sklearn": theirs}
    for f in runners.values():                # warm-up: the kernel loaded from Numba's disk cache, first calls
        f(0)
    for seed in seeds:
        times = {k: [] for k in sides}
        for rep in range(PERCEPTRON_REPEATS):   # the sides interleaved, the order rotating
            order = list(sides[(seed + rep) % 3:]) + list(sides[:(seed + rep) % 3])
            for k in order:
                t, c, a = runners[k](seed)
                times[k].append((t, c))
                if rep == 0:
                    acc[k].append(a)
        for k in sides:
            sec[k].append(statistics.median(t for t, _ in times[k]))
            cpu[k].append(statistics.median(c for _, c in times[k]))
    a = {k: _stats(v) for k, v in acc.items()}
    s = {k: _stats(v) for k, v in sec.items()}
    c = {k: _stats(v) for k, v in cpu.items()}
    row["digits"] = {"epochs": PERCEPTRON_EPOCHS, "repeats_per_seed": PERCEPTRON_REPEATS,
                     "kernel_mode": jit.active_mode(), "accuracy": a, "seconds": s, "cpu_seconds": c,
                     "verdict": _verdict(a["nnzoo"], a["sklearn"], True, s["nnzoo"], s["sklearn"]),
                     "cpu_time_ratio": c["nnzoo"]["mean"] / c["sklearn"]["mean"],
                     "numpy_path_time_ratio": s["nnzoo_numpy_path"]["mean"] / s["sklearn"]["mean"],
                     "numpy_path_cpu_time_ratio": c["nnzoo_numpy_path"]["mean"] / c["sklearn"]["mean"],
                     "compiled_speedup_over_numpy_path": s["nnzoo_numpy_path"]["mean"] / s["nnzoo"]["mean"],
                     "compiled_cpu_speedup_over_numpy_path": c["nnzoo_numpy_path"]["mean"] / c["nnzoo"]["mean"],
                     "same_accuracy_compiled_and_numpy_path": acc["nnzoo"] == acc["nnzoo_numpy_path"]}
    return row


# ---- RBF ----------------------------------------------------------------------------------------------------

RBF_CONFIG = {"task": "all", "centres": 100, "moons_centres": 20, "width_scale": 1.0, "xor_width_scale": 0.5,
              "n": 400, "moons_noise": 0.2, "xor_noise": 0.25, "gd_epochs": 300, "gd_lr": 0.05, "mlp_epochs": 100,
              "lr": 3e-3, "batch_size": 64, "kmeans_iterations": 100, "split_seed": 0}


def rbf_row(seeds, out_dir):
    from sklearn.cluster import KMeans

    import nnzoo
    from nnzoo.recipes import rbf
    from nnzoo.zoo.rbf import kmeans
    row = {}
    per_task = {t: {k: [] for k in ("accuracy", "accuracy_gradient", "mlp_accuracy", "seconds",
                                    "seconds_gradient", "mlp_seconds")} for t in ("xor", "moons", "digits")}
    extra = {t: {} for t in per_task}
    for seed in seeds:
        config = dict(RBF_CONFIG, split_seed=seed)
        data = rbf.load_data(config)
        for task in per_task:
            out, _, _ = rbf._fit_task(task, config, data[task], seed, nnzoo.Generator().manual_seed(seed),
                                      out_dir, [], False)
            for k in per_task[task]:
                per_task[task][k].append(out[k])
            extra[task].update(parameters=out["parameters"], mlp_hidden=out["mlp_hidden"],
                               mlp_parameters=out["mlp_parameters"])
            if task == "xor":
                for k in (2, 4):
                    extra[task].setdefault(f"kmeans{k}_accuracy", []).append(out[f"kmeans{k}_accuracy"])
    for task, values in per_task.items():
        st = {k: _stats(v) for k, v in values.items()}
        row[task] = {**st, **extra[task],
                     "verdict_least_squares": _verdict(st["accuracy"], st["mlp_accuracy"], True, st["seconds"],
                                                       st["mlp_seconds"]),
                     "verdict_gradient": _verdict(st["accuracy_gradient"], st["mlp_accuracy"], True,
                                                  st["seconds_gradient"], st["mlp_seconds"])}
    (Xtr, _), _, _ = _digits()
    km = {"nnzoo_inertia": [], "sklearn_inertia": [], "nnzoo_seconds": [], "sklearn_seconds": []}
    for seed in seeds:
        def ours(seed=seed):
            t = time.perf_counter()
            _, _, inertia, _ = kmeans(nnzoo.tensor(Xtr), 100, generator=nnzoo.Generator().manual_seed(seed))
            km["nnzoo_seconds"].append(time.perf_counter() - t)
            km["nnzoo_inertia"].append(inertia)

        def theirs(seed=seed):
            t = time.perf_counter()
            m = KMeans(100, n_init=1, random_state=seed).fit(Xtr)
            km["sklearn_seconds"].append(time.perf_counter() - t)
            km["sklearn_inertia"].append(float(m.inertia_))
        for f in ((ours, theirs) if seed % 2 == 0 else (theirs, ours)):
            f()
    row["kmeans_digits_100"] = {k: _stats(v) for k, v in km.items()}
    return row


# ---- ELM ----------------------------------------------------------------------------------------------------

def _fashion():
    from nnzoo.recipes.elm import load_data
    return load_data({"dataset": "fashion_mnist", "limit": 0, "split_seed": 0})


def elm_row(seeds, fashion_hidden, digits_hidden):
    from sklearn.linear_model import RidgeClassifier

    import nnzoo
    from nnzoo.recipes.elm import standardise
    from nnzoo.recipes.rbf import train_mlp
    from nnzoo.zoo.elm import ELM
    row = {}
    tasks = [("digits", _digits(), digits_hidden, 30), ("fashion_mnist", _fashion(), fashion_hidden, 10)]
    for name, ((Xtr, ytr), _, (Xte, yte)), hidden_sizes, mlp_epochs in tasks:
        Xtr_s, Xte_s = standardise(Xtr, Xte)
        Xtr_t, Xte_t = nnzoo.tensor(Xtr_s), nnzoo.tensor(Xte_s)
        task = {}
        for hidden in hidden_sizes:
            r = {k: [] for k in ("elm_accuracy", "elm_seconds", "elm_solve_seconds", "features_seconds",
                                 "ridge_accuracy", "ridge_seconds", "same_predictions")}
            for seed in seeds:
                elm = ELM(Xtr.shape[1], hidden, 10, activation="sigmoid", alpha=1.0,
                          generator=nnzoo.Generator().manual_seed(seed))
                t = time.perf_counter()
                H = elm.features(Xtr_t)
                r["features_seconds"].append(time.perf_counter() - t)
                Hn, Ht = H.numpy(), elm.features(Xte_t).numpy()

                def ours(elm=elm, H=H, Ht=Ht, r=r, Xtr_t=Xtr_t, ytr=ytr, yte=yte):
                    t = time.perf_counter()
                    elm.fit(Xtr_t, ytr, features=H)
                    r["elm_solve_seconds"].append(time.perf_counter() - t)
                    r["elm_seconds"].append(r["features_seconds"][-1] + r["elm_solve_seconds"][-1])
                    r["elm_accuracy"].append(float(((Ht @ elm.output.weight.detach().numpy().T).argmax(1)
                                                    == yte).mean()))

                def theirs(Hn=Hn, Ht=Ht, r=r, ytr=ytr, yte=yte):
                    t = time.perf_counter()
                    ridge = RidgeClassifier(alpha=1.0, fit_intercept=False).fit(Hn, ytr)
                    r["ridge_seconds"].append(time.perf_counter() - t)
                    r["ridge_accuracy"].append(float((ridge.predict(Ht) == yte).mean()))
                    r["_ridge_pred"] = ridge.predict(Ht)
                for f in ((ours, theirs) if seed % 2 == 0 else (theirs, ours)):
                    f()
                ours_pred = (Ht @ elm.output.weight.detach().numpy().T).argmax(1)
                r["same_predictions"].append(float((ours_pred == r.pop("_ridge_pred")).mean()))
                H = Hn = Ht = None                # free the features before the next draw
                print(f"  elm {name} {hidden} seed {seed}: {r['elm_accuracy'][-1]:.4f} "
                      f"solve {r['elm_solve_seconds'][-1]:.2f}s vs ridge {r['ridge_seconds'][-1]:.2f}s", flush=True)
            st = {k: _stats(v) for k, v in r.items()}
            st["verdict_vs_ridge_classifier"] = _verdict(st["elm_accuracy"], st["ridge_accuracy"], True,
                                                         st["elm_solve_seconds"], st["ridge_seconds"])
            task[str(hidden)] = st
        mlp = {"accuracy": [], "seconds": []}
        for seed in seeds:
            model, seconds = train_mlp(Xtr_s, ytr, 256, 10, mlp_epochs, 1e-3, 128, seed)
            with nnzoo.no_grad():
                pred = np.concatenate([model(Xte_t[i:i + 4096]).argmax(dim=1).numpy()
                                       for i in range(0, len(Xte_s), 4096)])
            mlp["accuracy"].append(float((pred == yte).mean()))
            mlp["seconds"].append(seconds)
            print(f"  mlp {name} seed {seed}: {mlp['accuracy'][-1]:.4f} in {seconds:.1f}s", flush=True)
        task["mlp_256_backprop"] = {k: _stats(v) for k, v in mlp.items()}
        task["mlp_256_backprop"]["epochs"] = mlp_epochs
        for hidden in hidden_sizes:
            task[str(hidden)]["verdict_vs_mlp"] = _verdict(task[str(hidden)]["elm_accuracy"],
                                                           task["mlp_256_backprop"]["accuracy"], True,
                                                           task[str(hidden)]["elm_seconds"],
                                                           task["mlp_256_backprop"]["seconds"])
        row[name] = task
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rows", nargs="+", default=["perceptron", "rbf", "elm"], choices=["perceptron", "rbf", "elm"])
    ap.add_argument("--fashion-hidden", nargs="+", type=int, default=[1000, 4000])
    ap.add_argument("--digits-hidden", nargs="+", type=int, default=[1000, 2000, 4000])
    ap.add_argument("--out", default=RESULT)
    args = ap.parse_args(argv)
    import sklearn

    import nnzoo
    seeds = list(range(args.seeds))
    result = {"benchmark": "classic_supervised", "seeds": seeds, "python": platform.python_version(),
              "numpy": np.__version__, "sklearn": sklearn.__version__, "nnzoo": getattr(nnzoo, "__version__", None),
              "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ},
              "cpus": os.cpu_count(), "load_average_start": os.getloadavg()}
    if os.path.exists(args.out):                 # keep rows not rerun
        with open(args.out) as f:
            old = json.load(f)
        result.update({k: old[k] for k in ("perceptron", "rbf", "elm") if k in old and k not in args.rows})
    import tempfile
    start = time.perf_counter()
    for name in args.rows:
        t = time.perf_counter()
        print(f"{name} ...", flush=True)
        if name == "perceptron":
            result[name] = perceptron_row(seeds)
        elif name == "rbf":
            with tempfile.TemporaryDirectory() as d:
                import pathlib
                result[name] = rbf_row(seeds, pathlib.Path(d))
        else:
            result[name] = elm_row(seeds, args.fashion_hidden, args.digits_hidden)
        result[name]["wall_seconds"] = time.perf_counter() - t
        print(f"{name}: {time.perf_counter() - t:.0f} s", flush=True)
    result["wall_seconds"] = time.perf_counter() - start
    result["load_average_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
