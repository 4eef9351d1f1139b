"""Neural Turing machine (issue 20): the copy task to < 0.1 bit per sequence within 30,000 sequences over 3 seeds,
generalisation to lengths 30-50, and the same NTM in PyTorch following nnzoo's loss from the same weights.

1. **Parity and speed**: the reference-size NTM (LSTM controller 100, memory 128 x 20, one read and one write
   head) in nnzoo and the same equations in PyTorch (:class:`TorchNTM`, the shift by ``torch.roll``), float64,
   the same initial weights and batches, RMSprop with gradient values clipped at 10: the two loss curves over
   ``--parity-steps`` (200) steps, max relative difference (target rtol 1e-3), at the reference setting (batch 1,
   lr 1e-4) and at the recipe's training setting (batch 8, lr 5e-4). The training setting is sensitive to
   rounding (measured: two PyTorch runs whose weights differ by a relative 1e-15 drift apart by 1e-3 within
   ~70 steps), so it is reported with that torch-against-torch control. Then the training setting in float32,
   the two sides timed alternately step by step (median ms per time step, ratio).
2. **Convergence**: ``nnzoo train ntm-copy`` (its defaults: batch ``batch_size`` sequences of one length, RMSprop)
   for each seed, up to 30,000 sequences, stopping at the first validation below 0.1 bit (the recipe's default;
   ``--set stop_at_target=false`` trains them all), validated every 1,000 on 160 sequences (8 of each length 1-20);
   ``sequences_to_target`` = the first count with validation < 0.1 bit per sequence; then the test set (320
   sequences, lengths 1-20) and 16 sequences of each length 30, 35, 40, 45, 50. Pictures of each run (learning
   curve, the paper's Figure 6 memory use, outputs on long sequences) go to ``benchmarks/results/ntm/seedN/``.

Results go to ``benchmarks/results/ntm.json``. One BLAS thread (the 2-core machine is shared).

    python -m benchmarks.ntm [--seeds 0 1 2] [--sequences 30000] [--parity-steps 200] [--skip-parity]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class TorchNTM(torch.nn.Module):
    """The NTM of ``nnzoo.zoo.ntm`` written in PyTorch (the shift by torch.roll), with nnzoo's parameter names (a
    state dict moves across); the peer of this benchmark and the oracle of tests/zoo/test_ntm.py."""

    def __init__(self, input_size, output_size, controller_size=100, memory_n=128, memory_m=20, read_heads=1,
                 write_heads=1, shift_range=1, controller="lstm"):
        super().__init__()
        self.n, self.m, self.r, self.w, self.s = memory_n, memory_m, read_heads, write_heads, shift_range
        self.kind = controller
        ctrl_in = input_size + read_heads * memory_m
        if controller == "lstm":
            self.controller = torch.nn.LSTMCell(ctrl_in, controller_size)
            self.h0 = torch.nn.Parameter(torch.zeros(1, controller_size))
            self.c0 = torch.nn.Parameter(torch.zeros(1, controller_size))
        else:
            self.controller = torch.nn.Linear(ctrl_in, controller_size)
        self.hw = memory_m + 3 + 2 * shift_range + 1
        heads = read_heads + write_heads
        self.heads = torch.nn.Linear(controller_size, heads * self.hw + write_heads * 2 * memory_m)
        self.output = torch.nn.Linear(controller_size + read_heads * memory_m, output_size)
        self.register_buffer("memory_bias", torch.zeros(memory_n, memory_m))
        self.register_buffer("read_bias", torch.zeros(read_heads, memory_m))

    def forward(self, x, out_len):
        F = torch.nn.functional
        b, m, r, heads = x.shape[1], self.m, self.r, self.r + self.w
        if self.kind == "lstm":
            h, c = self.h0.expand(b, -1), self.c0.expand(b, -1)
        reads = self.read_bias.reshape(1, -1).expand(b, -1)
        w_prev = torch.zeros(b, heads, self.n, dtype=x.dtype)
        mem = self.memory_bias.unsqueeze(0).expand(b, -1, -1)
        outs = []
        for t, xt in enumerate(list(x) + [torch.zeros_like(x[0])] * out_len):
            inp = torch.cat([xt, reads], 1)
            if self.kind == "lstm":
                h, c = self.controller(inp, (h, c))
            else:
                h = torch.tanh(self.controller(inp))
            p = self.heads(h)
            hp = p[:, :heads * self.hw].reshape(b, heads, self.hw)
            k, beta = hp[..., :m], F.softplus(hp[..., m:m + 1])
            g, s = torch.sigmoid(hp[..., m + 1:m + 2]), torch.softmax(hp[..., m + 2:-1], -1)
            gamma = 1 + F.softplus(hp[..., -1:])
            k_hat = k / (k.norm(dim=-1, keepdim=True) + 1e-8)
            m_hat = mem / (mem.norm(dim=-1, keepdim=True) + 1e-8)
            wc = torch.softmax(beta * torch.bmm(k_hat, m_hat.transpose(1, 2)), -1)
            wg = g * wc + (1 - g) * w_prev
            shifted = sum(s[..., j:j + 1] * torch.roll(wg, j - self.s, dims=-1) for j in range(2 * self.s + 1))
            sharp = (shifted + 1e-16) ** gamma
            w = sharp / sharp.sum(-1, keepdim=True)
            read = torch.bmm(w[:, :r], mem)
            ea = p[:, heads * self.hw:].reshape(b, self.w, 2 * m)
            erase, add = torch.sigmoid(ea[..., :m]), ea[..., m:]
            ww = w[:, r:].transpose(1, 2)
            keep = torch.ones_like(mem)
            for i in range(self.w):
                keep = keep * (1 - torch.bmm(ww[:, :, i:i + 1], erase[:, i:i + 1]))
            mem = mem * keep + torch.bmm(ww, add)
            reads, w_prev = read.reshape(b, r * m), w
            if t >= len(x):
                outs.append(self.output(torch.cat([h, reads], 1)))
        return torch.stack(outs)


def _train_pair(config: dict, steps: int, dtype: str, seed: int = 0, control: float = 0.0) -> dict:
    """nnzoo's NTM and :class:`TorchNTM` from the same weights on the same batches, RMSprop with gradient values
    clipped as the recipe, the two sides timed alternately per step. With ``control`` > 0 the nnzoo side is
    replaced by a second TorchNTM whose weights are multiplied by ``1 + control``: how far two runs of the same
    code drift apart from a rounding-sized difference (the sensitivity of the training dynamics)."""
    import nnzoo
    from nnzoo.recipes.ntm import build_model, make_optimizer, make_task
    task = make_task(config)
    nnzoo.manual_seed(seed)
    ours = build_model(config).to(getattr(nnzoo, dtype))
    state = {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in ours.state_dict().items()}

    def torch_ntm(scale=1.0):
        m = TorchNTM(task.input_size, task.output_size, config["controller_size"], config["memory_n"],
                     config["memory_m"]).to(getattr(torch, dtype))
        m.load_state_dict(state)
        with torch.no_grad():
            for q in m.parameters():
                q.mul_(scale)
        return m, torch.optim.RMSprop(m.parameters(), lr=config["lr"], momentum=config["momentum"],
                                      alpha=config["alpha"])
    theirs, opt_b = torch_ntm()
    if control:
        other, opt_c = torch_ntm(1 + control)
    else:
        opt_a = make_optimizer(config, ours)
    rng = np.random.default_rng(seed)
    la, lb, ta, tb = [], [], [], []
    for i in range(steps):
        x, y = task.batch(rng, config["batch_size"])
        x, y = x.astype(dtype), y.astype(dtype)
        for side in ((0, 1) if i % 2 == 0 else (1, 0)):
            t0 = time.perf_counter()
            if side == 0 and not control:
                loss = nnzoo.nn.functional.binary_cross_entropy_with_logits(
                    ours(nnzoo.tensor(x), y.shape[0]), nnzoo.tensor(y))
                opt_a.zero_grad()
                loss.backward()
                nnzoo.nn.utils.clip_grad_value_(ours.parameters(), config["clip_value"])
                opt_a.step()
            else:
                m, o = (theirs, opt_b) if side == 1 else (other, opt_c)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    m(torch.from_numpy(x), y.shape[0]), torch.from_numpy(y))
                o.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_value_(m.parameters(), config["clip_value"])
                o.step()
            (la if side == 0 else lb).append(loss.item())
            (ta if side == 0 else tb).append((time.perf_counter() - t0) / (x.shape[0] + y.shape[0]))
    rel = np.abs(np.array(la) - np.array(lb)) / np.abs(np.array(lb))
    first_over = np.flatnonzero(rel > 1e-3)
    return {"steps": steps, "dtype": dtype, "batch_size": config["batch_size"], "lr": config["lr"],
            "max_rel_diff": float(rel.max()),
            "first_step_over_1e-3": int(first_over[0]) + 1 if len(first_over) else None,
            "rel_diff_at": {str(k): float(rel[k - 1]) for k in (1, 25, 50, 75, 100, 150, 200) if k <= steps},
            "loss_first": lb[0], "loss_last": lb[-1],
            "ms_per_time_step": {"nnzoo" if not control else "torch_perturbed": 1e3 * statistics.median(ta),
                                 "torch": 1e3 * statistics.median(tb)},
            "time_ratio": statistics.median(ta) / statistics.median(tb)}


def parity(config: dict, steps: int, seed: int = 0) -> dict:
    """The 200-step loss agreement in float64 at the reference setting (batch 1, RMSprop lr 1e-4, momentum 0.9,
    alpha 0.95) and at the recipe's training setting, the latter with its torch-against-torch control; then the
    training setting in float32 for the timing (60 steps)."""
    out = {}
    reference = {**config, "batch_size": 1, "lr": 1e-4}
    for name, cfg, dtype, n, control in (("reference_float64", reference, "float64", steps, 0.0),
                                         ("training_float64", config, "float64", steps, 0.0),
                                         ("training_float64_torch_vs_torch_1e-15", config, "float64", steps, 1e-15),
                                         ("training_float32_timing", config, "float32", min(steps, 60), 0.0)):
        out[name] = r = _train_pair(cfg, n, dtype, seed, control)
        print(f"parity {name}: {n} steps, max rel diff {r['max_rel_diff']:.2e} (first over 1e-3 at step "
              f"{r['first_step_over_1e-3']}); ms per time step {r['ms_per_time_step']}", flush=True)
    return out


def convergence(seed: int, overrides: dict) -> dict:
    """One ``ntm-copy`` run through nnzoo's recipe runner; its figures in ``results/ntm/seed{seed}``."""
    from nnzoo.recipes import run_recipe
    out = os.path.join(HERE, "results", "ntm", f"seed{seed}")
    os.makedirs(out, exist_ok=True)
    r = run_recipe("ntm-copy", out_dir=out, overrides=overrides, seed=seed, progress=True)
    h = r["history"]
    return {"test": r["test"], "val": r["val"], "train_seconds": r["train_seconds"],
            "val_sequences": h["val_sequences"], "val_bits_per_sequence": h["val_bits_per_sequence"],
            "figures": [os.path.relpath(p, HERE) for p, _ in r["figures"]]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    p.add_argument("--sequences", type=int, default=30_000)
    p.add_argument("--parity-steps", type=int, default=200)
    p.add_argument("--skip-parity", action="store_true")
    p.add_argument("--set", nargs="*", default=[], help="more recipe settings, key=value (JSON values)")
    p.add_argument("--out", default=os.path.join(HERE, "results", "ntm.json"))
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    from nnzoo.recipes import recipe_config
    overrides = {"sequences": a.sequences}
    for item in a.set:
        k, v = item.split("=", 1)
        overrides[k] = json.loads(v)
    config = recipe_config("ntm-copy", overrides)
    results = {"config": config, "torch": torch.__version__, "machine": platform.machine(),
               "threads": "OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)", "parity": None, "seeds": {}}
    if os.path.isfile(a.out):                      # keep what an earlier run measured (e.g. parity only)
        with open(a.out) as f:
            old = json.load(f)
        results["parity"], results["seeds"] = old.get("parity"), old.get("seeds", {})

    def save():
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)
    if not a.skip_parity:
        results["parity"] = parity(config, a.parity_steps)
        save()
    for seed in a.seeds:
        results["seeds"][str(seed)] = convergence(seed, overrides)
        s = results["seeds"][str(seed)]
        print(f"seed {seed}: test {s['test']['bits_per_sequence']:.3f} bits/sequence, target at "
              f"{s['test']['sequences_to_target']} sequences, lengths 30-50 {s['test']['bits_per_sequence_long']:.2f}",
              flush=True)
        save()
    runs = [results["seeds"][k]["test"] for k in sorted(results["seeds"])]
    if runs:
        reached = [t["sequences_to_target"] for t in runs]
        results["summary"] = {
            "seeds": len(runs), "all_reached_target": all(r is not None for r in reached),
            "sequences_to_target": reached,
            "test_bits_per_sequence": [t["bits_per_sequence"] for t in runs],
            "long_bits_per_sequence": [t["bits_per_sequence_long"] for t in runs],
            "long_by_length": [t["bits_per_sequence_by_length"] for t in runs]}
        print(json.dumps(results["summary"], indent=1))
    save()
    return results


if __name__ == "__main__":
    main()
