"""The autoencoder recipes (issue 18): the linear autoencoder against PCA, each recipe's test figures and runtime,
and the plain autoencoder trained in nnzoo and in PyTorch side by side.

1. ``linear-ae`` with its defaults (Fashion-MNIST, k = 10, full-batch float64 L-BFGS): the principal angles between
   the decoder's column space and scikit-learn's PCA top-10 components (target: all < 0.05 rad) and the test
   reconstruction MSE against PCA's on the same centred data (target: within 1%); scikit-learn's fit time beside it.
2. ``ae``, ``dae`` (gaussian and masking), ``sae`` (KL and L1) and ``conv-ae`` with their defaults: ``test`` of
   result.json, wall and CPU seconds of the whole run.
3. The peer: the ``ae`` network (784-256-32-256-784, ReLU, sigmoid output, Adam 1e-3, batch 128) trained in nnzoo
   and in PyTorch from the same initial weights on the same batches, the two alternating epoch by epoch (each
   epoch timed on its own side); test MSE of both and the time ratio.

Results go to ``benchmarks/results/autoencoders.json`` (written after each part).

    python -m benchmarks.autoencoders [--parts linear ae dae sae conv peer] [--peer-epochs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import tempfile
import time

import numpy as np

RESULTS = pathlib.Path(__file__).parent / "results" / "autoencoders.json"


def _write(results):
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


def _run(name, overrides=None, seed=0):
    from nnzoo.recipes import run_recipe
    with tempfile.TemporaryDirectory() as out:
        wall, cpu = time.perf_counter(), time.process_time()
        r = run_recipe(name, out_dir=out, overrides=overrides or {}, progress=False, seed=seed)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"recipe": name, "overrides": overrides or {}, "test": r["test"], "val": r["val"],
            "best_epoch": r.get("best_epoch"), "train_seconds": r.get("train_seconds"), "wall_seconds": wall,
            "cpu_seconds": cpu}


def linear_vs_pca(seed=0):
    """Part 1: the linear-ae recipe's figures, and scikit-learn's PCA timed on the same centred training set."""
    from sklearn.decomposition import PCA

    from nnzoo.recipes import recipe_config
    from nnzoo.recipes.autoencoder import load_images
    row = _run("linear-ae", seed=seed)
    row["seed"] = seed
    train, _, _ = load_images(recipe_config("linear-ae"))
    x = train.reshape(len(train), -1).astype(np.float64)
    x -= x.mean(0)
    t = time.perf_counter()
    PCA(10, svd_solver="covariance_eigh").fit(x)
    row["sklearn_pca_seconds"] = time.perf_counter() - t
    t = row["test"]
    row["targets"] = {"max_principal_angle < 0.05": t["max_principal_angle"] < 0.05,
                      "mse within 1% of PCA": abs(t["mse_ratio"] - 1) <= 0.01}
    return row


def peer(epochs):
    """Part 3: nnzoo and PyTorch train the ae network from the same weights on the same batches."""
    import torch

    import nnzoo
    from nnzoo.nn import functional as F
    from nnzoo.recipes import recipe_config
    from nnzoo.recipes.autoencoder import load_images
    from nnzoo.zoo.autoencoder import Autoencoder, AutoencoderConfig
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    train, _, test = load_images(recipe_config("ae"))
    train, test = train.reshape(len(train), -1), test.reshape(len(test), -1)
    nnzoo.manual_seed(0)
    ours = Autoencoder(AutoencoderConfig(in_features=784, hidden=(256,), latent=32))
    nn = torch.nn
    theirs = nn.Module()
    theirs.encoder = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 32), nn.ReLU())
    theirs.decoder = nn.Sequential(nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy()) for k, v in ours.state_dict().items()})
    opt_ours = nnzoo.optim.Adam(ours.parameters(), lr=1e-3)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    seconds = {"nnzoo": [], "torch": []}
    for epoch in range(epochs):
        order = rng.permutation(len(train))
        batches = [order[i:i + 128] for i in range(0, len(order), 128)]
        sides = ("nnzoo", "torch") if epoch % 2 == 0 else ("torch", "nnzoo")
        for side in sides:
            t = time.perf_counter()
            for idx in batches:
                if side == "nnzoo":
                    x = nnzoo.tensor(train[idx])
                    loss = F.mse_loss(ours.decoder(ours.encoder(x)), x)
                    opt_ours.zero_grad()
                    loss.backward()
                    opt_ours.step()
                else:
                    x = torch.from_numpy(train[idx])
                    loss = torch.nn.functional.mse_loss(theirs.decoder(theirs.encoder(x)), x)
                    opt_theirs.zero_grad()
                    loss.backward()
                    opt_theirs.step()
            seconds[side].append(time.perf_counter() - t)
    with nnzoo.no_grad():
        mse_ours = float(np.mean((ours.decoder(ours.encoder(nnzoo.tensor(test))).numpy() - test) ** 2))
    with torch.no_grad():
        mse_theirs = float(np.mean((theirs.decoder(theirs.encoder(torch.from_numpy(test))).numpy() - test) ** 2))
    return {"network": "784-256-32-256-784 ReLU, sigmoid output, Adam 1e-3, batch 128", "epochs": epochs,
            "train_images": len(train), "test_mse": {"nnzoo": mse_ours, "torch": mse_theirs},
            "test_mse_ratio": mse_ours / mse_theirs, "epoch_seconds": seconds,
            "time_ratio_nnzoo_over_torch": sum(seconds["nnzoo"]) / sum(seconds["torch"])}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", nargs="+", default=["linear", "ae", "dae", "sae", "conv", "peer"])
    p.add_argument("--peer-epochs", type=int, default=3)
    p.add_argument("--linear-seeds", type=int, nargs="+", default=[0], help="seeds of the linear-ae runs")
    args = p.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "load_average_at_start": os.getloadavg(),
                          "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                          "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    runs = {"ae": [("ae", None)], "dae": [("dae", None), ("dae", {"corruption": "masking"})],
            "sae": [("sae", None), ("sae", {"sparsity": "l1"})], "conv": [("conv-ae", None)]}
    for part in args.parts:
        print(f"== {part}", flush=True)
        if part == "linear":
            rows = [linear_vs_pca(seed) for seed in args.linear_seeds]
            results["linear_ae_vs_pca"] = rows[0] if len(rows) == 1 else rows
        elif part == "peer":
            results["ae_vs_torch"] = peer(args.peer_epochs)
        else:
            for name, overrides in runs[part]:
                key = name + ("" if not overrides else "[" + ",".join(f"{k}={v}" for k, v in overrides.items()) + "]")
                results.setdefault("recipes", {})[key] = _run(name, overrides)
        results["machine"]["load_average_at_end"] = os.getloadavg()
        _write(results)
        print(json.dumps(results, indent=1)[-1500:], flush=True)


if __name__ == "__main__":
    main()
