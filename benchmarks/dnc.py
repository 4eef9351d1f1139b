"""The differentiable neural computer: repeat copy solved at DeepMind's small setting, the curriculum step, graph
traversal against an LSTM of the same parameter count, and the same DNC in PyTorch as the peer.

1. ``dnc-repeat-copy`` per seed (memory 16 x 16, 4 read heads, LSTM 64, 4 bits, lengths 1-2, repeats 1-2,
   batch 16, Adam 1e-3, gradient norm 50): sequences seen until fewer than 0.1 wrong bits per sequence on 512
   fresh sequences (checked every 250 steps), the wrong bits on 512 other fresh sequences, then the curriculum
   step (lengths 1-4, repeats 1-3) for a fixed number of steps.
2. ``dnc-graph`` per seed: the DNC and an LSTM with the same parameter count, trained for the same steps on
   the same batches; hop accuracy on 512 fresh graphs.
3. The peer: the same DNC written in PyTorch (the equations of ``nnzoo.zoo.dnc``), started from nnzoo's weights,
   trained on the same repeat-copy batches with the same Adam: the loss of both over the first steps (how
   closely PyTorch follows nnzoo in float32), and the time per step of each, measured alternately.

    python -m benchmarks.dnc [--seeds 0 1 2] [--copy-steps 6000] [--next-steps 2000] [--graph-steps 4000]

Results go to ``benchmarks/results/dnc.json`` (written after each run, so a cut-off run keeps what it measured).
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
from nnzoo.recipes import run_recipe
from nnzoo.recipes.dnc import REPEAT_DEFAULTS, build_repeat_copy, copy_loss, repeat_copy_batch

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "dnc.json"
EPS = 1e-6


def _summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


# ---- the PyTorch peer --------------------------------------------------------------------------------------------

class TorchDNC(torch.nn.Module):
    """nnzoo.zoo.dnc.DNC's equations in PyTorch, with the same parameter names (one write head)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        r, w = cfg.num_reads, cfg.word_size
        self.controller = torch.nn.LSTMCell(cfg.input_size + r * w, cfg.hidden_size)
        self.interface = torch.nn.Linear(cfg.hidden_size, r * w + 3 * w + 5 * r + 3)
        self.output = torch.nn.Linear(cfg.hidden_size + r * w, cfg.output_size)

    @staticmethod
    def content(memory, keys, strengths):
        dot = keys @ memory.transpose(1, 2)
        mn = torch.sqrt((memory * memory).sum(-1) + EPS)
        kn = torch.sqrt((keys * keys).sum(-1) + EPS)
        return torch.softmax(dot / (kn.unsqueeze(2) * mn.unsqueeze(1) + EPS) * strengths.unsqueeze(2), -1)

    @staticmethod
    def allocation(usage):
        usage = EPS + (1 - EPS) * usage
        sorted_usage, idx = torch.sort(usage, dim=-1)
        exclusive = torch.cumprod(torch.cat([torch.ones_like(sorted_usage[:, :1]), sorted_usage[:, :-1]], 1), 1)
        return torch.zeros_like(usage).scatter(1, idx, (1 - sorted_usage) * exclusive)

    def forward(self, x):
        cfg = self.cfg
        T, b, _ = x.shape
        n, w, r, hs, clip = cfg.memory_size, cfg.word_size, cfg.num_reads, cfg.hidden_size, cfg.clip_value
        z = lambda *s: torch.zeros(*s, dtype=x.dtype)  # noqa: E731
        h, c, reads, mem, usage, link, prec, rw, ww = (z(b, hs), z(b, hs), z(b, r, w), z(b, n, w), z(b, n),
                                                      z(b, n, n), z(b, n), z(b, r, n), z(b, n))
        off = 1 - torch.eye(n, dtype=x.dtype)
        oneplus = lambda v: 1 + torch.nn.functional.softplus(v)  # noqa: E731
        ys = []
        for t in range(T):
            h, c = self.controller(torch.cat([x[t], reads.reshape(b, -1)], 1), (h, c))
            h, c = h.clamp(-clip, clip), c.clamp(-clip, clip)
            rk, rs, wk, ws, er, wv, fg, ag, wg, rm = torch.split(self.interface(h),
                                                                 [r * w, r, w, 1, w, w, r, 1, 1, 3 * r], 1)
            wd = ww.detach()
            usage = (usage + wd - usage * wd) * torch.prod(1 - torch.sigmoid(fg).unsqueeze(2) * rw, 1)
            ga, gw = torch.sigmoid(ag), torch.sigmoid(wg)
            ww = gw * (ga * self.allocation(usage) + (1 - ga) * self.content(mem, wk.unsqueeze(1), oneplus(ws))[:, 0])
            mem = mem * (1 - ww.unsqueeze(2) * torch.sigmoid(er).unsqueeze(1)) + ww.unsqueeze(2) * wv.unsqueeze(1)
            link = ((1 - ww.unsqueeze(2) - ww.unsqueeze(1)) * link + ww.unsqueeze(2) * prec.unsqueeze(1)) * off
            prec = (1 - ww.sum(-1, keepdim=True)) * prec + ww
            modes = torch.softmax(rm.reshape(b, r, 3), -1)
            rw = (modes[..., 0:1] * (rw @ link) + modes[..., 1:2] * self.content(mem, rk.reshape(b, r, w), oneplus(rs))
                  + modes[..., 2:3] * (rw @ link.transpose(1, 2)))
            reads = rw @ mem
            ys.append(self.output(torch.cat([h, reads.reshape(b, -1)], 1)).clamp(-clip, clip))
        return torch.stack(ys), None


def peer(steps: int, timing_steps: int) -> dict:
    """PyTorch vs nnzoo on the same repeat-copy batches from the same weights: losses and time per step."""
    config = dict(REPEAT_DEFAULTS)
    nnzoo.manual_seed(0)
    ours = build_repeat_copy(config)
    theirs = TorchDNC(ours.config)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    opt_o = nnzoo.optim.Adam(ours.parameters(), lr=config["lr"])
    opt_t = torch.optim.Adam(theirs.parameters(), lr=config["lr"])
    rng = np.random.default_rng(0)
    batches = [repeat_copy_batch(rng, 16, 4, 1, 2, 1, 2) for _ in range(max(steps, timing_steps))]

    def step_o(b):
        out, _ = ours(nnzoo.from_numpy(b[0]))
        loss = copy_loss(out, nnzoo.from_numpy(b[1]), nnzoo.from_numpy(b[2]))
        opt_o.zero_grad()
        loss.backward()
        nnzoo.nn.utils.clip_grad_norm_(ours.parameters(), config["clip_grad_norm"])
        opt_o.step()
        return loss.item()

    def step_t(b):
        out, _ = theirs(torch.from_numpy(b[0]))
        xent = torch.nn.functional.binary_cross_entropy_with_logits(out, torch.from_numpy(b[1]), reduction="none")
        loss = (xent.sum(-1) * torch.from_numpy(b[2])).sum() / out.shape[1]
        opt_t.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(theirs.parameters(), config["clip_grad_norm"])
        opt_t.step()
        return loss.item()

    lo, lt, to, tt = [], [], [], []
    for i in range(max(steps, timing_steps)):     # alternate: nnzoo's step, then PyTorch's, on the same batch
        t0 = time.perf_counter()
        a = step_o(batches[i])
        t1 = time.perf_counter()
        b = step_t(batches[i])
        t2 = time.perf_counter()
        if i < steps:
            lo.append(a)
            lt.append(b)
        if i >= 5:                                 # past the first steps' warm-up
            to.append(t1 - t0)
            tt.append(t2 - t1)
    rel = [abs(a - b) / abs(b) for a, b in zip(lo, lt)]
    first_over = next((i for i, v in enumerate(rel) if v > 1e-3), None)
    return {"steps": steps, "nnzoo_loss": lo, "torch_loss": lt, "max_rel_diff": max(rel),
            "first_step_rel_diff_over_1e-3": first_over,
            "nnzoo_ms_per_step": 1e3 * statistics.median(to), "torch_ms_per_step": 1e3 * statistics.median(tt),
            "nnzoo_over_torch": statistics.median(to) / statistics.median(tt), "timed_steps": len(to),
            "torch_threads": torch.get_num_threads()}


# ---- the runs ------------------------------------------------------------------------------------------------------

def repeat_copy(seed: int, args) -> dict:
    t = time.perf_counter()
    c0 = time.process_time()
    r = run_recipe("dnc-repeat-copy", out_dir=tempfile.mkdtemp(prefix=f"dnc_copy_s{seed}_"), seed=seed,
                   progress=True, overrides={"steps": args.copy_steps, "next_steps": args.next_steps})
    test = dict(r["test"])
    h = r["history"]
    test["stage1_eval"] = h["stage1"]["eval"]
    test["stage2_eval"] = h["stage2"]["eval"]
    test.update({"seed": seed, "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c0,
                 "out_dir": r["out_dir"]})
    print(f"repeat copy seed {seed}: solved {test['solved']} after {test['sequences_seen']} sequences, "
          f"{test['bits_per_sequence']:.3f} bits/seq; curriculum {test['next_bits_per_sequence']:.3f} bits/seq "
          f"({test['seconds']:.0f}s)", flush=True)
    return test


def graph(seed: int, args) -> dict:
    t = time.perf_counter()
    c0 = time.process_time()
    r = run_recipe("dnc-graph", out_dir=tempfile.mkdtemp(prefix=f"dnc_graph_s{seed}_"), seed=seed,
                   progress=True, overrides={"steps": args.graph_steps})
    test = dict(r["test"])
    test["dnc_eval"] = r["history"]["dnc"]["eval"]
    test["lstm_eval"] = r["history"]["lstm"]["eval"]
    test.update({"seed": seed, "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c0,
                 "out_dir": r["out_dir"]})
    print(f"graph seed {seed}: DNC {test['accuracy']:.3f}, LSTM {test['lstm_accuracy']:.3f} "
          f"({test['parameters']} vs {test['lstm_parameters']} parameters, {test['seconds']:.0f}s)", flush=True)
    return test


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--copy-steps", type=int, default=6000)
    p.add_argument("--next-steps", type=int, default=1500)
    p.add_argument("--graph-steps", type=int, default=2500)
    p.add_argument("--peer-steps", type=int, default=100)
    p.add_argument("--timing-steps", type=int, default=100)
    p.add_argument("--parts", nargs="+", default=["peer", "copy", "graph"])
    args = p.parse_args()
    result = {"machine": platform.platform(), "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
              "args": vars(args), "copy": [], "graph": []}
    if RESULTS.is_file():               # keep the parts this run does not redo (the parts may run separately)
        old = json.loads(RESULTS.read_text())
        for part, keys in (("peer", ["peer"]), ("copy", ["copy"]), ("graph", ["graph"])):
            if part not in args.parts:
                result.update({k: old[k] for k in keys if k in old})
                result[f"{part}_args"] = old.get(f"{part}_args", old.get("args"))
            elif part != "peer":        # runs of other seeds stay, with the arguments they ran with
                result[part] = [r for r in old.get(part, []) if r["seed"] not in args.seeds]
    for part in args.parts:
        result[f"{part}_args"] = vars(args)

    def save():
        result["copy_summary"] = {k: _summary([r[k] for r in result["copy"]]) for k in
                                  ("sequences_seen", "bits_per_sequence", "next_bits_per_sequence")}
        result["copy_summary"]["solved"] = sum(r["solved"] for r in result["copy"])
        result["graph_summary"] = {k: _summary([r[k] for r in result["graph"]]) for k in
                                   ("accuracy", "lstm_accuracy", "sequence_accuracy", "lstm_sequence_accuracy")}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=1, default=float))

    if "peer" in args.parts:
        result["peer"] = peer(args.peer_steps, args.timing_steps)
        pr = result["peer"]
        print(f"peer: max relative loss difference over {pr['steps']} steps {pr['max_rel_diff']:.2e}; "
              f"nnzoo {pr['nnzoo_ms_per_step']:.1f} ms/step, torch {pr['torch_ms_per_step']:.1f} ms/step", flush=True)
        save()
    for seed in args.seeds:
        if "copy" in args.parts:
            result["copy"].append(repeat_copy(seed, args))
            save()
        if "graph" in args.parts:
            result["graph"].append(graph(seed, args))
            save()
    print(json.dumps({"copy": result["copy_summary"], "graph": result["graph_summary"]}, indent=1))


if __name__ == "__main__":
    main()
