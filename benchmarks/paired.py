"""Paired timing: two live processes, nnzoo's and PyTorch's, take turns on the machine.

``python -m benchmarks.paired NAME... [--pairs 3] [--rounds 20] [--gap 0.3] [--against DIR]``

The plain runner times each side in fresh processes one after the other; on this VM the speed of the
same step drifts by up to 2x over tens of seconds, so two back-to-back processes can meet different
machines. Here both processes are set up first (each warmed up and calibrated alone), then, round after
round, one repetition of nnzoo and one of PyTorch run back to back, in alternating order, with ``--gap``
seconds of idleness before each (so the other process's BLAS/OpenMP threads have stopped spinning: the
CPU time the idle process used during each turn is recorded and should be ~0). Each round gives one
ratio torch/nnzoo from two repetitions taken a fraction of a second apart; the summary is the median
ratio over all rounds of all pairs (a fresh pair of processes per ``--pairs``), with a percentile-
bootstrap 95% confidence interval of that median, quartiles and range, and each side's median ms per
step.

``--against DIR`` pairs this checkout's nnzoo with the nnzoo of another checkout instead of PyTorch (e.g. a
``git worktree`` of the commit before a change): the ratio is then base/new, above 1 when this checkout is
faster. Both sides run the nnzoo worker, each from its own checkout (its own ``benchmarks`` code too).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from . import machine, registry
from .runner import ROOT, check_names, child_env, coretype_setting

SIDES = ("nnzoo", "torch")


def _cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Side:
    """One serving worker process."""

    def __init__(self, name, side, args, coretype, root=ROOT):
        worker_side = "nnzoo" if side == "base" else side
        cmd = [sys.executable, "-m", "benchmarks.worker", name, worker_side, "--serve", "--warmup",
               str(args.warmup), "--min-time", str(args.min_time)]
        self.side = side
        env = child_env(registry.PROCESS_OF_SIDE[worker_side], coretype)
        if root != ROOT:
            env["PYTHONPATH"] = env["PYTHONPATH"].replace(ROOT, root, 1)
        self.proc = subprocess.Popen(cmd, cwd=root, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        ready = self._read()
        self.steps_per_rep = ready["steps_per_rep"]

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.side} worker exited early (code {self.proc.wait()})")
        return json.loads(line)

    def rep(self):
        self.proc.stdin.write("go\n")
        return self._read()["ms"]

    def close(self):
        self.proc.stdin.write("quit\n")
        facts = self._read()
        self.proc.stdin.close()
        self.proc.wait()
        return facts


def _sides(args):
    return ("nnzoo", "base") if args.against else SIDES


def run_pair(name, args, coretype):
    pair = _sides(args)  # (nnzoo, torch), or (nnzoo, base) against another checkout
    roots = {"base": args.against}
    sides = {s: Side(name, s, args, coretype, roots.get(s, ROOT)) for s in pair}  # set up one after the other
    ms = {s: [] for s in pair}
    idle_cpu = []  # CPU seconds the waiting process used while the other one ran
    try:
        for r in range(args.rounds):
            order = pair if r % 2 == 0 else pair[::-1]
            for s in order:
                other = sides[pair[1 - pair.index(s)]]
                time.sleep(args.gap)
                before = _cpu_seconds(other.proc.pid)
                ms[s].append(sides[s].rep())
                idle_cpu.append(_cpu_seconds(other.proc.pid) - before)
    finally:
        facts = {s: p.close() for s, p in sides.items()}
    return {"ms": ms, "steps_per_rep": {s: p.steps_per_rep for s, p in sides.items()},
            "idle_process_cpu_s_max": max(idle_cpu), "facts": facts}


def bootstrap_ci(values, level=0.95, resamples=4000, seed=0):
    """A percentile-bootstrap confidence interval for the median of ``values``."""
    import numpy as np
    rng = np.random.default_rng(seed)
    v = np.asarray(values, dtype=float)
    medians = np.median(v[rng.integers(0, len(v), (resamples, len(v)))], axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(medians, tail)), float(np.percentile(medians, 100 - tail))


def summarize(pairs, sides=SIDES):
    ratios = [t / n for p in pairs for n, t in zip(p["ms"]["nnzoo"], p["ms"][sides[1]])]
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    lo, hi = bootstrap_ci(ratios)
    out = {"ratio_median": statistics.median(ratios), "ratio_ci95": [lo, hi], "ratio_q1": q1, "ratio_q3": q3,
           "ratio_min": min(ratios), "ratio_max": max(ratios), "rounds": len(ratios),
           "share_of_rounds_nnzoo_faster": sum(r > 1 for r in ratios) / len(ratios)}
    for s in sides:
        out[f"{s}_median_ms"] = statistics.median(v for p in pairs for v in p["ms"][s])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.paired", description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="+", help="workloads (see python -m benchmarks --list)")
    p.add_argument("--pairs", type=int, default=3, help="fresh pairs of processes (default 3)")
    p.add_argument("--rounds", type=int, default=20, help="rounds per pair (default 20)")
    p.add_argument("--gap", type=float, default=0.3, help="idle seconds before each repetition (default 0.3)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--min-time", type=float, default=0.05)
    p.add_argument("--against", metavar="DIR",
                   help="pair with the nnzoo of another checkout (e.g. a git worktree) instead of PyTorch")
    p.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "results", "paired.json"))
    args = p.parse_args(argv)
    check_names(p, args.names)
    if args.against:
        args.against = os.path.abspath(args.against)
        if not os.path.isdir(os.path.join(args.against, "benchmarks")):
            p.error(f"argument --against: {args.against} is not an nnzoo checkout (no benchmarks/ folder)")
    other = "base" if args.against else "torch"
    coretype, why = coretype_setting(False)
    report = {"machine": machine.machine_facts(ROOT), "coretype": [coretype, why], "settings": vars(args),
              "workloads": {}}
    print(f"| workload | nnzoo ms/step | {other} ms/step | {other}/nnzoo: median of rounds [95% CI] "
          "(quartiles; range) | rounds nnzoo faster |")
    print("|---|--:|--:|--:|--:|")
    for name in args.names:
        pairs = [run_pair(name, args, coretype) for _ in range(args.pairs)]
        s = summarize(pairs, _sides(args))
        report["workloads"][name] = {"summary": s, "pairs": pairs}
        print(f"| {name} | {s['nnzoo_median_ms']:.3g} | {s[other + '_median_ms']:.3g} | {s['ratio_median']:.2f}x "
              f"[{s['ratio_ci95'][0]:.2f}, {s['ratio_ci95'][1]:.2f}] ({s['ratio_q1']:.2f}-{s['ratio_q3']:.2f}; "
              f"{s['ratio_min']:.2f}-{s['ratio_max']:.2f}) | "
              f"{s['share_of_rounds_nnzoo_faster']:.0%} of {s['rounds']} |", flush=True)
        idle = max(pr["idle_process_cpu_s_max"] for pr in pairs)
        print(f"<!-- {name}: the waiting process used at most {idle * 1e3:.0f} ms of CPU during a turn -->")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
