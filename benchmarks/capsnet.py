"""CapsNet on Fashion-MNIST: nnzoo's capsule network, the same network in PyTorch, and a CNN baseline.

Stages (each writes its part of ``benchmarks/results/capsnet.json`` as soon as it is done):

1. ``timing``: one training step (batch 64) of nnzoo's CapsNet and of the PyTorch twin on the same batch,
   alternately, ``--timing-rounds`` rounds of ``--timing-steps`` steps each; the ratio per round.
2. ``nnzoo``: the ``capsnet`` recipe at the benchmark's widths for ``--epochs`` epochs on the 55,000 training
   images (5,000 held out; the epoch of best validation accuracy kept), tested on the 10,000 test images; its
   folder (``--run-dir``) holds the pictures, the paper's Figure 4 among them.
3. ``cnn``: a CNN of similar parameter count (``FashionCNN``: conv 32-64, FC 512, dropout 0.25; 1.6 M
   parameters against the CapsNet's 1.9 M, of which 1.4 M are the decoder's) trained the same way: Adam, the
   same learning rate and decay, batch, epochs, split and order of batches.
4. ``continued`` (only when named): the ``nnzoo`` stage's kept weights trained ``--more-epochs`` further by the
   recipe's loop, the learning rate continuing its decay (a fresh Adam state).
5. ``torch``: the same CapsNet in PyTorch from the same initial weights and the same order of batches for
   ``--torch-epochs`` epochs: its validation accuracy per epoch beside nnzoo's.

    OPENBLAS_NUM_THREADS=1 python -m benchmarks.capsnet [--epochs 5] [--torch-epochs 2] [--stages ...]
    OPENBLAS_NUM_THREADS=1 python -m benchmarks.capsnet --stages continued --more-epochs 3
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import time

import numpy as np
import torch

import nnzoo
from nnzoo.recipes import run_recipe
from nnzoo.recipes.capsnet import DEFAULTS, build_model, load_data

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "capsnet.json"
RUN_DIR = pathlib.Path(__file__).resolve().parent / "results" / "capsnet_run"
WIDTHS = dict(conv_channels=32, primary_types=8, primary_dim=8, out_dim=16)


# ---- the PyTorch twin ------------------------------------------------------------------------------------------

def _squash(s, eps=1e-8):
    sq = (s * s).sum(-1, keepdim=True)
    return s * (sq / (1 + sq) / torch.sqrt(sq + eps))


class TorchCapsNet(torch.nn.Module):
    """nnzoo's CapsNet written in PyTorch (routing with broadcast sums, as Procedure 1 reads), weights copied."""

    def __init__(self, net):
        super().__init__()
        c = net.config
        self.c, self.n, self.grid = c, net.num_primary, net.grid
        self.conv1 = torch.nn.Conv2d(1, c.conv_channels, c.kernel_size)
        self.primary = torch.nn.Conv2d(c.conv_channels, c.primary_types * c.primary_dim, c.kernel_size, stride=2)
        h1, h2 = c.decoder_hidden
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(c.num_classes * c.out_dim, h1), torch.nn.ReLU(), torch.nn.Linear(h1, h2),
            torch.nn.ReLU(), torch.nn.Linear(h2, 784), torch.nn.Sigmoid())
        self.W = torch.nn.Parameter(torch.zeros(net.W.shape))
        self.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in net.state_dict().items()})

    def forward(self, x, target=None):
        c, B = self.c, x.shape[0]
        p = self.primary(torch.relu(self.conv1(x))).reshape(B, c.primary_types, c.primary_dim, self.grid, self.grid)
        u = _squash(p.permute(0, 1, 3, 4, 2).reshape(B, self.n, c.primary_dim))
        u_hat = (u.transpose(0, 1) @ self.W).transpose(0, 1).reshape(B, self.n, c.num_classes, c.out_dim)
        b = torch.zeros(u_hat.shape[:3])
        for r in range(c.routing_iterations):
            cc = torch.softmax(b, dim=2)
            v = _squash((cc.unsqueeze(-1) * u_hat).sum(1))
            if r < c.routing_iterations - 1:
                b = b + (u_hat * v.unsqueeze(1)).sum(-1)
        lengths = v.norm(dim=-1)
        labels = target if target is not None else lengths.argmax(1)
        mask = torch.nn.functional.one_hot(labels, c.num_classes).to(v.dtype).unsqueeze(-1)
        return lengths, self.decoder((v * mask).flatten(1))

    def loss(self, x, y):
        lengths, recon = self(x, y)
        t = torch.nn.functional.one_hot(y, self.c.num_classes).float()
        margin = (t * torch.relu(0.9 - lengths) ** 2 + 0.5 * (1 - t) * torch.relu(lengths - 0.1) ** 2).sum(1).mean()
        return margin + self.c.recon_weight * ((recon - x.flatten(1)) ** 2).sum(1).mean(), lengths


def _torch_accuracy(model, x, y, batch=500):
    with torch.no_grad():
        pred = np.concatenate([model(torch.from_numpy(x[i:i + batch]))[0].argmax(1).numpy()
                               for i in range(0, len(x), batch)])
    return float(np.mean(pred == y))


# ---- stages ----------------------------------------------------------------------------------------------------

def _config(args):
    return {**DEFAULTS, **WIDTHS, "epochs": args.epochs, "train_size": args.train_size, "max_minutes": 0.0}


def stage_timing(args, data):
    (x, y), _, _ = data
    nnzoo.manual_seed(0)
    net = build_model(_config(args))
    twin = TorchCapsNet(net)
    opt = nnzoo.optim.Adam(net.parameters(), lr=1e-3)
    topt = torch.optim.Adam(twin.parameters(), lr=1e-3)
    xb, yb = x[:64], y[:64]

    def nnzoo_step():
        loss, _, _ = net.loss(nnzoo.from_numpy(xb), nnzoo.from_numpy(yb))
        opt.zero_grad()
        loss.backward()
        opt.step()

    def torch_step():
        loss, _ = twin.loss(torch.from_numpy(xb), torch.from_numpy(yb))
        topt.zero_grad()
        loss.backward()
        topt.step()

    nnzoo_step(), torch_step()     # warm-up (compiled kernels, allocator)
    rounds = []
    for _ in range(args.timing_rounds):
        row = {}
        for name, step in (("nnzoo", nnzoo_step), ("torch", torch_step)):
            t = time.perf_counter()
            for _ in range(args.timing_steps):
                step()
            row[f"{name}_ms_per_step"] = (time.perf_counter() - t) / args.timing_steps * 1e3
        row["ratio_nnzoo_over_torch"] = row["nnzoo_ms_per_step"] / row["torch_ms_per_step"]
        rounds.append(row)
        print("timing:", {k: round(v, 2) for k, v in row.items()}, flush=True)
    ratios = [r["ratio_nnzoo_over_torch"] for r in rounds]
    return {"batch": 64, "steps_per_round": args.timing_steps, "rounds": rounds,
            "ratio_median": float(np.median(ratios)), "torch_threads": torch.get_num_threads()}


def stage_nnzoo(args, data):
    t = time.perf_counter()
    r = run_recipe("capsnet", out_dir=args.run_dir, seed=args.seed, progress=True, overrides=_config(args))
    keep = ("epochs", "best_epoch", "val", "test", "steps", "images_seen", "train_seconds", "ms_per_image",
            "parameters")
    out = {k: r[k] for k in keep}
    out["val_accuracy_per_epoch"] = r["history"]["val_accuracy"]
    out["epoch_seconds"] = r["history"]["time"]
    out["wall_seconds"] = time.perf_counter() - t
    out["figures"] = [p for p, _ in r["figures"]]
    return out


def stage_cnn(args, data):
    from nnzoo.zoo.mc_dropout import FashionCNN
    (x, y), (xv, yv), (xt, yt) = data
    nnzoo.manual_seed(args.seed)
    model = FashionCNN(channels=(32, 64), hidden=512, dropout=0.25)
    opt = nnzoo.optim.Adam(model.parameters(), lr=DEFAULTS["lr"])
    sched = nnzoo.optim.lr_scheduler.ExponentialLR(opt, gamma=DEFAULTS["lr_decay"])
    loss_fn = nnzoo.nn.CrossEntropyLoss()
    rng, bs = np.random.default_rng(args.seed), DEFAULTS["batch_size"]

    def accuracy(xs, ys):
        model.eval()
        with nnzoo.no_grad():
            pred = np.concatenate([model(nnzoo.from_numpy(xs[i:i + 500])).argmax(dim=1).numpy()
                                   for i in range(0, len(xs), 500)])
        return float(np.mean(pred == ys))

    start, val_acc, best, best_state = time.perf_counter(), [], -1.0, None
    for _ in range(args.epochs):
        model.train()
        order = rng.permutation(len(x))
        for i in range(0, len(x), bs):
            idx = order[i:i + bs]
            loss = loss_fn(model(nnzoo.from_numpy(x[idx])), nnzoo.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        val_acc.append(accuracy(xv, yv))
        print(f"cnn epoch {len(val_acc)}: val accuracy {val_acc[-1]:.4f}", flush=True)
        if val_acc[-1] > best:
            best, best_state = val_acc[-1], {k: v.clone() for k, v in model.state_dict().items()}
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    return {"model": "FashionCNN(channels=(32, 64), hidden=512, dropout=0.25)",
            "parameters": sum(p.numel() for p in model.parameters()), "epochs": args.epochs,
            "val_accuracy_per_epoch": val_acc, "best_epoch": int(np.argmax(val_acc)) + 1,
            "test_accuracy": accuracy(xt, yt), "train_seconds": seconds}


def stage_torch(args, data):
    (x, y), (xv, yv), (xt, yt) = data
    nnzoo.manual_seed(args.seed)           # the recipe's initial weights: run_recipe seeds, then builds
    twin = TorchCapsNet(build_model(_config(args)))
    opt = torch.optim.Adam(twin.parameters(), lr=DEFAULTS["lr"])
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=DEFAULTS["lr_decay"])
    rng, bs = np.random.default_rng(args.seed), DEFAULTS["batch_size"]
    start, val_acc, running, steps = time.perf_counter(), [], [], 0
    for epoch in range(args.torch_epochs):
        order = rng.permutation(len(x))
        total = count = 0.0
        for i in range(0, len(x), bs):
            idx = order[i:i + bs]
            loss, _ = twin.loss(torch.from_numpy(x[idx]), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps, total, count = steps + 1, total + loss.item() * len(idx), count + len(idx)
            if steps % 100 == 0:   # the epoch's running mean loss, as the recipe prints it
                running.append([epoch + 1, steps, total / count])
                print(f"torch epoch {epoch + 1} step {steps}: loss {total / count:.4f}", flush=True)
        sched.step()
        val_acc.append(_torch_accuracy(twin, xv, yv))
        print(f"torch epoch {epoch + 1}: val accuracy {val_acc[-1]:.4f}", flush=True)
    return {"epochs": args.torch_epochs, "val_accuracy_per_epoch": val_acc, "running_loss": running,
            "test_accuracy_last_epoch": _torch_accuracy(twin, xt, yt), "train_seconds": time.perf_counter() - start,
            "torch_threads": torch.get_num_threads()}


def stage_continued(args, data):
    """The ``nnzoo`` stage's kept weights trained ``--more-epochs`` further by the recipe's own loop (a fresh Adam,
    the learning rate continuing its decay: lr x lr_decay^epochs_done), the best validation epoch kept."""
    from nnzoo.recipes.capsnet import fit
    done = json.loads(pathlib.Path(args.out).read_text())["nnzoo"]["epochs"]
    config = {**_config(args), "epochs": args.more_epochs, "lr": DEFAULTS["lr"] * DEFAULTS["lr_decay"] ** done}
    model = build_model(config)
    model.load_state_dict(nnzoo.load(pathlib.Path(args.run_dir) / "best.safetensors"))
    out_dir = pathlib.Path(args.run_dir + "_continued")
    out_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    r = fit(model, config, data, out_dir, seed=args.seed + 1, progress=True)
    return {"epochs_before": done, "more_epochs": r["epochs"], "total_epochs": done + r["epochs"],
            "lr_at_start": config["lr"], "best_epoch": done + r["best_epoch"], "val": r["val"], "test": r["test"],
            "val_accuracy_per_epoch": r["history"]["val_accuracy"], "epoch_seconds": r["history"]["time"],
            "train_seconds": r["train_seconds"], "wall_seconds": time.perf_counter() - t,
            "figures": [p for p, _ in r["figures"]],
            "note": "a fresh Adam state (the recipe saves no optimizer state); the batch order from seed + 1"}


STAGES = {"timing": stage_timing, "nnzoo": stage_nnzoo, "continued": stage_continued, "cnn": stage_cnn,
          "torch": stage_torch}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--torch-epochs", type=int, default=2)
    p.add_argument("--more-epochs", type=int, default=3, help="the continued stage's further epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-size", type=int, default=0, help="training images (0: all 55,000; a smoke test)")
    p.add_argument("--timing-rounds", type=int, default=3)
    p.add_argument("--timing-steps", type=int, default=5)
    p.add_argument("--stages", nargs="+", default=["timing", "nnzoo", "cnn", "torch"], choices=list(STAGES))
    p.add_argument("--run-dir", default=str(RUN_DIR))
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    out = pathlib.Path(args.out)
    result = json.loads(out.read_text()) if out.is_file() else {}
    result.update({"what": "CapsNet (Sabour et al. 2017) on Fashion-MNIST at reduced widths: nnzoo vs the same "
                           "network in PyTorch (same initial weights and batches) and a CNN of similar size",
                   "settings": {**_config(args), "seed": args.seed, "torch_epochs": args.torch_epochs,
                                "train_images": args.train_size or 55000, "val_images": 5000, "test_images": 10000}})
    data = load_data(_config(args))
    for name in args.stages:
        t = time.perf_counter()
        result[name] = STAGES[name](args, data)
        result[name]["stage_wall_seconds"] = time.perf_counter() - t
        result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                             "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                             "loadavg": os.getloadavg(), "torch": torch.__version__}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        print(f"stage {name} done in {result[name]['stage_wall_seconds']:.0f} s; written to {out}", flush=True)


if __name__ == "__main__":
    main()
