"""DCGAN parity: nnzoo's DCGAN and the same architecture in PyTorch, trained for the same steps from the same
initial weights on the same batches and the same noise z, scored by the same Fréchet distance.

Both players are built in nnzoo (:class:`nnzoo.zoo.dcgan.DCGAN`, the paper's N(0, 0.02) initialisation, the run's
seed) and copied into PyTorch twins (the same ``nn.Sequential`` layers, so the same ``state_dict`` keys), float32
both. Each step's batch indices and z come from the recipe's :func:`nnzoo.recipes.dcgan.batch_plan` (NumPy) and are
fed to both; the step is PyTorch's DCGAN example's (D on real, D on G(z) detached, Adam; G on the same G(z), Adam;
Adam(2e-4, betas (0.5, 0.999)), BCE-with-logits). The two sides alternate step by step in one process, so the
machine's load falls on both alike; the time of each side's step is recorded (median and mean).

After training, each generator (eval mode) draws ``fid_samples`` images from the same z, and both sets go through
the same feature extractor, the penultimate layer of an ``mc-dropout`` classifier run (``--classifier FOLDER``;
without one, a 1-epoch classifier is trained first), against the 10,000 test images. The issue's target: nnzoo's
Fréchet distance within 10% of PyTorch's. GAN training is chaotic: float32 round-off differences grow until the
two runs are different samples of the same training process, so the benchmark records how far the weights have
drifted apart at a few steps, and (``--spread-seeds``) PyTorch's own Fréchet distance over other seeds (other
initial weights, batches and z), the spread that a 10% difference is to be read against.

    python -m benchmarks.dcgan_parity [--steps 2000] [--fid-samples 10000] [--classifier runs/mc-dropout]
        [--spread-seeds 2] [--seed 0]

Results go to ``benchmarks/results/dcgan_parity.json``.
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

import numpy as np
import torch

import nnzoo
from nnzoo.recipes import load_run, run_recipe
from nnzoo.recipes.dcgan import DEFAULTS, batch_plan, features, generate
from nnzoo.recipes.mc_dropout import fashion_images
from nnzoo.zoo.dcgan import DCGAN, dcgan_step, frechet_distance, gaussian_stats

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "dcgan_parity.json"


class TorchGenerator(torch.nn.Module):
    """The PyTorch twin of :class:`nnzoo.zoo.dcgan.Generator` (the same layers, keys and shapes)."""

    def __init__(self, nz, ngf):
        super().__init__()
        self.nz = nz
        nn = torch.nn
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, 2 * ngf, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * ngf), nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.main(z.reshape(z.shape[0], self.nz, 1, 1))


class TorchDiscriminator(torch.nn.Module):
    """The PyTorch twin of :class:`nnzoo.zoo.dcgan.Discriminator`."""

    def __init__(self, ndf):
        super().__init__()
        nn = torch.nn
        self.main = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ndf), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 7, 1, 0, bias=False))

    def forward(self, x):
        return self.main(x).reshape(-1)


def torch_twins(gan: DCGAN, nz: int, ngf: int, ndf: int):
    """PyTorch players holding copies of ``gan``'s weights and buffers."""
    tg, td = TorchGenerator(nz, ngf), TorchDiscriminator(ndf)
    for ours, theirs in ((gan.generator, tg), (gan.discriminator, td)):
        theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    return tg, td


def torch_step(G, D, opt_g, opt_d, real, z):
    """:func:`nnzoo.zoo.dcgan.dcgan_step` in PyTorch (PyTorch's DCGAN example's order)."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    opt_d.zero_grad()
    out_real = D(real)
    loss_real = bce(out_real, torch.ones_like(out_real))
    loss_real.backward()
    fake = G(z)
    out_fake = D(fake.detach())
    loss_fake = bce(out_fake, torch.zeros_like(out_fake))
    loss_fake.backward()
    opt_d.step()
    opt_g.zero_grad()
    out = D(fake)
    loss_g = bce(out, torch.ones_like(out))
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_real.item() + loss_fake.item(), "loss_g": loss_g.item()}


def torch_generate(G, n, nz, seed, batch_size=500):
    """:func:`nnzoo.recipes.dcgan.generate` in PyTorch: the same z for the same seed."""
    rng = np.random.default_rng(seed)
    G.eval()
    out = []
    with torch.no_grad():
        for i in range(0, n, batch_size):
            z = rng.standard_normal((min(batch_size, n - i), nz)).astype(np.float32)
            out.append(G(torch.from_numpy(z)).numpy())
    G.train()
    return np.concatenate(out)


def _drift(gan, tg, td):
    """max |w_nnzoo - w_torch| / max |w_torch| over the players' parameters."""
    worst = 0.0
    for ours, theirs in ((gan.generator, tg), (gan.discriminator, td)):
        ref = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            t = ref[name].detach().numpy()
            worst = max(worst, float(np.abs(p.detach().numpy() - t).max() / max(np.abs(t).max(), 1e-12)))
    return worst


def train_pair(train_x, steps, seed, hp, torch_only=False, log_every=250):
    """Train nnzoo's DCGAN and its PyTorch twin side by side (alternating steps). Returns (gan or None, tg,
    per-step seconds of each side, drift checkpoints, last losses)."""
    nnzoo.manual_seed(seed)
    gan = DCGAN(nz=hp["nz"], ngf=hp["ngf"], ndf=hp["ndf"])
    tg, td = torch_twins(gan, hp["nz"], hp["ngf"], hp["ndf"])
    betas = (hp["beta1"], 0.999)
    opt_g = nnzoo.optim.Adam(gan.generator.parameters(), lr=hp["lr"], betas=betas)
    opt_d = nnzoo.optim.Adam(gan.discriminator.parameters(), lr=hp["lr"], betas=betas)
    topt_g = torch.optim.Adam(tg.parameters(), lr=hp["lr"], betas=betas)
    topt_d = torch.optim.Adam(td.parameters(), lr=hp["lr"], betas=betas)
    times = {"nnzoo": [], "torch": []}
    drift, checkpoints = {}, {1, 10, 100, 1000, steps}
    start = time.perf_counter()
    for step, (idx, z) in enumerate(batch_plan(len(train_x), steps, hp["batch_size"], hp["nz"], seed), 1):
        real = np.ascontiguousarray(train_x[np.sort(idx)])
        order = ("nnzoo", "torch") if step % 2 else ("torch", "nnzoo")
        for side in order:
            if side == "nnzoo" and torch_only:
                continue
            t = time.perf_counter()
            if side == "nnzoo":
                ours = dcgan_step(gan.generator, gan.discriminator, opt_g, opt_d, nnzoo.from_numpy(real),
                                  nnzoo.from_numpy(z))
            else:
                theirs = torch_step(tg, td, topt_g, topt_d, torch.from_numpy(real), torch.from_numpy(z))
            times[side].append(time.perf_counter() - t)
        if not torch_only and step in checkpoints:
            drift[step] = _drift(gan, tg, td)
        if step % log_every == 0:
            mine = "" if torch_only else f"nnzoo loss_d {ours['loss_d']:.3f} loss_g {ours['loss_g']:.3f} | "
            print(f"  step {step}/{steps}: {mine}torch loss_d {theirs['loss_d']:.3f} loss_g {theirs['loss_g']:.3f} "
                  f"({time.perf_counter() - start:.0f}s)", flush=True)
    return (None if torch_only else gan), tg, times, drift


def _step_stats(ts):
    return {"median_ms": 1000 * statistics.median(ts), "mean_ms": 1000 * statistics.fmean(ts), "steps": len(ts)} \
        if ts else None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    p.add_argument("--fid-samples", type=int, default=DEFAULTS["fid_samples"])
    p.add_argument("--classifier", default="", help="an mc-dropout run folder (default: train one, 1 epoch)")
    p.add_argument("--classifier-train-size", type=int, default=0,
                   help="training images of the classifier trained here (0: all 55,000)")
    p.add_argument("--spread-seeds", type=int, default=2, help="extra PyTorch-only seeds for the spread")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    hp = {k: DEFAULTS[k] for k in ("batch_size", "lr", "beta1", "nz", "ngf", "ndf")}
    train_x, test_x = fashion_images(True)[0], fashion_images(False)[0]
    if args.classifier:
        _, clf_config, classifier = load_run(args.classifier)
        clf_info = {"run": args.classifier, "config": clf_config}
    else:
        folder = tempfile.mkdtemp(prefix="dcgan_parity_clf_")
        run = run_recipe("mc-dropout", out_dir=folder, progress=False,
                         overrides={"epochs": 1, "mc_samples": 2, "train_size": args.classifier_train_size})
        classifier, clf_info = run["model"], {"run": "trained here, 1 epoch", "config": run["config"]}
        clf_info["test_accuracy"] = run["test"]["accuracy"]
    real_stats = gaussian_stats(features(classifier, test_x))
    fid = lambda images: frechet_distance(*real_stats, *gaussian_stats(features(classifier, images)))  # noqa: E731

    print(f"dcgan parity: {args.steps} steps, seed {args.seed}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)", flush=True)
    gan, tg, times, drift = train_pair(train_x, args.steps, args.seed, hp)
    ours_fid = fid(generate(gan.generator, args.fid_samples, hp["nz"], args.seed + 2))
    theirs_fid = fid(torch_generate(tg, args.fid_samples, hp["nz"], args.seed + 2))
    spread = []
    for s in range(1, args.spread_seeds + 1):
        print(f"PyTorch alone, seed {args.seed + s}", flush=True)
        _, tg_s, _, _ = train_pair(train_x, args.steps, args.seed + s, hp, torch_only=True)
        spread.append({"seed": args.seed + s, "fid": fid(torch_generate(tg_s, args.fid_samples, hp["nz"], 2))})
    floor = fid(train_x[np.sort(np.random.default_rng(3).choice(len(train_x), 10000, replace=False))])
    ratio = ours_fid / theirs_fid
    t_ours, t_theirs = _step_stats(times["nnzoo"]), _step_stats(times["torch"])
    result = {
        "what": "DCGAN on Fashion-MNIST, nnzoo vs PyTorch from the same initial weights, batches and z; Fréchet "
                "distance with the penultimate features of nnzoo's mc-dropout classifier (10,000 test images vs "
                "fid_samples generated)",
        "hyper": {**hp, "steps": args.steps, "seed": args.seed, "fid_samples": args.fid_samples},
        "classifier": clf_info,
        "fid": {"nnzoo": ours_fid, "torch": theirs_fid, "ratio": ratio, "within_10_percent": abs(ratio - 1) <= 0.10,
                "torch_other_seeds": spread, "real_train_vs_test": floor},
        "weight_drift_max_relative": {str(k): v for k, v in sorted(drift.items())},
        "seconds_per_step": {"nnzoo": t_ours, "torch": t_theirs,
                             "ratio_median": t_ours["median_ms"] / t_theirs["median_ms"]},
        "machine": {"python": platform.python_version(), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                    "loadavg_at_end": os.getloadavg()},
    }
    print(json.dumps(result["fid"], indent=1), json.dumps(result["seconds_per_step"], indent=1), sep="\n")
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"written to {args.out}")
    return result


if __name__ == "__main__":
    main()
