"""First-step latency: a fresh process's import, setup and first training steps, nnzoo's and PyTorch's.

``python -m benchmarks.first_step NAME... [--repeats 3]``

Each measurement is a new process. Inside it: seconds to import the library, to build the workload (model,
data, optimizer), for the first step and for the second step (a warm step, for scale); outside it: the wall
time of the whole process from its start to its exit. For nnzoo with compiled kernels there are two
cases: a cold kernel cache (``NUMBA_CACHE_DIR`` a new empty folder, so every kernel the step uses is
compiled) and a warm one (the same folder again: the kernels load from disk). PyTorch has no such cache;
both sides run with the operating system's file cache warm (each side's first process is not timed).
The figure is the median over ``--repeats`` processes.
"""
import argparse
import json
import statistics
import sys
import tempfile
import time

from . import registry
from .runner import check_names, json_child


def child(name, side):
    t0 = time.perf_counter()
    if side == "torch":
        import torch  # noqa: F401
    else:
        import nnzoo  # noqa: F401
    t1 = time.perf_counter()
    step = registry.get(name).setup(side)
    t2 = time.perf_counter()
    step()
    t3 = time.perf_counter()
    step()
    t4 = time.perf_counter()
    return {"import_s": t1 - t0, "setup_s": t2 - t1, "first_step_s": t3 - t2, "second_step_s": t4 - t3}


def _run(name, side, env_extra):
    t0 = time.perf_counter()
    r = json_child("first_step", (name, side), registry.PROCESS_OF_SIDE[side], env_extra)
    r["process_s"] = time.perf_counter() - t0
    return r


def _median(runs):
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def measure(name, repeats):
    cases = {}
    _run(name, "torch", {})  # warm the OS file cache
    cases["torch"] = _median([_run(name, "torch", {}) for _ in range(repeats)])
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="nnzoo-numba-") as d:
            cold.append(_run(name, "nnzoo", {"NUMBA_CACHE_DIR": d}))
            warm.append(_run(name, "nnzoo", {"NUMBA_CACHE_DIR": d}))
    cases["nnzoo cold kernel cache"] = _median(cold)
    cases["nnzoo warm kernel cache"] = _median(warm)
    cases["nnzoo NNZOO_KERNELS=numpy"] = _median([_run(name, "nnzoo", {"NNZOO_KERNELS": "numpy"})
                                                  for _ in range(repeats)])
    return cases


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--child", nargs=2, metavar=("NAME", "SIDE"), help=argparse.SUPPRESS)
    p.add_argument("--json")
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    if not args.names:
        p.error("name at least one workload")
    check_names(p, args.names)
    out = {}
    print("| workload | process | import s | setup s | first step s | second step s | whole process s |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for name in args.names:
        out[name] = measure(name, args.repeats)
        for case, r in out[name].items():
            print(f"| {name} | {case} | {r['import_s']:.2f} | {r['setup_s']:.2f} | {r['first_step_s']:.2f} | "
                  f"{r['second_step_s']:.3f} | {r['process_s']:.2f} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
