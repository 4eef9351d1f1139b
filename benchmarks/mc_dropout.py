"""MC dropout against weight scaling on Fashion-MNIST: accuracy, calibration (ECE, 15 bins) and NLL over seeds.

For each seed the ``mc-dropout`` recipe trains its classifier (FashionCNN: conv 16-32, FC 128, dropout 0.5;
Adam 1e-3, batches of 128; the seed sets the initial weights, the shuffling and the dropout masks) and predicts
the 10,000 test images both ways: weight scaling (eval mode) and MC dropout (the mean softmax of T passes with
dropout on). The table is the mean and the standard deviation over seeds of each figure and of the paired
difference MC - weight scaling. Dropout's second prediction costs T passes of the head only (the conv trunk,
which holds no dropout, runs once; see ``nnzoo.zoo.mc_dropout``).

    python -m benchmarks.mc_dropout [--seeds 0 1 2] [--epochs 3 12] [--train-size 0] [--samples 30]

Results go to ``benchmarks/results/mc_dropout.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import tempfile
import time

from nnzoo.recipes import run_recipe
from nnzoo.recipes.mc_dropout import DEFAULTS

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "mc_dropout.json"
FIGURES = ("accuracy", "ece", "nll")


def _summary(values):
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


def run_setting(args, epochs):
    """The recipe trained ``epochs`` epochs for each seed: the runs and the table over seeds."""
    runs = []
    for seed in args.seeds:
        t = time.perf_counter()
        r = run_recipe("mc-dropout", out_dir=tempfile.mkdtemp(prefix=f"mc_dropout_s{seed}_"), seed=seed,
                       progress=False, overrides={"epochs": epochs, "train_size": args.train_size,
                                                  "mc_samples": args.samples, "mc_seed": seed})
        test = r["test"]
        runs.append({"seed": seed, "weight_scaling": test["weight_scaling"], "mc_dropout": test["mc_dropout"],
                     "best_epoch": r["best_epoch"], "seconds": time.perf_counter() - t})
        print(f"{epochs} epochs, seed {seed}: " + "; ".join(
            f"{name} " + ", ".join(f"{k} {test[name][k]:.4f}" for k in FIGURES)
            for name in ("weight_scaling", "mc_dropout")) + f" ({runs[-1]['seconds']:.0f}s)", flush=True)
    table = {name: {k: _summary([r[name][k] for r in runs]) for k in FIGURES}
             for name in ("weight_scaling", "mc_dropout")}
    table["mc_minus_weight_scaling"] = {k: _summary([r["mc_dropout"][k] - r["weight_scaling"][k] for r in runs])
                                        for k in FIGURES}
    for name in ("weight_scaling", "mc_dropout", "mc_minus_weight_scaling"):
        print(f"{epochs} epochs {name:>24}: " + ", ".join(
            f"{k} {table[name][k]['mean']:.4f} ± {table[name][k]['std']:.4f}" for k in FIGURES))
    return {"table": table, "runs": runs}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, nargs="+", default=[DEFAULTS["epochs"]],
                   help="one setting per value (a longer-trained, more confident model beside the recipe's)")
    p.add_argument("--train-size", type=int, default=0, help="training images (0: all 55,000)")
    p.add_argument("--samples", type=int, default=DEFAULTS["mc_samples"], help="T, MC dropout's passes")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    settings = {str(epochs): run_setting(args, epochs) for epochs in args.epochs}
    result = {"what": "MC dropout (mean softmax of T passes, dropout on) vs weight scaling (eval mode) on the "
                      "Fashion-MNIST test set; ECE with 15 equal-width bins",
              "settings": {"seeds": args.seeds, "epochs": args.epochs, "train_size": args.train_size or 55000,
                           "mc_samples": args.samples, "model": {k: DEFAULTS[k] for k in ("channels", "hidden",
                                                                                        "dropout")}},
              "by_epochs": settings,
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                          "loadavg_at_end": os.getloadavg()}}
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"written to {args.out}")
    return result


if __name__ == "__main__":
    main()
