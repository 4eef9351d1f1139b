"""The child process: time one side of one workload and write the result as JSON.

``python -m benchmarks.worker NAME SIDE --out PATH [--reps N] [--warmup N] [--min-time S]``
``python -m benchmarks.worker NAME SIDE --serve [--warmup N] [--min-time S]`` (for ``benchmarks.paired``)

The runner starts one fresh child per (workload, side). The nnzoo process (sides ``nnzoo`` and ``numpy``)
must never import torch and the torch process never nnzoo; the child checks this and fails otherwise.
"""
import argparse
import json
import os
import sys
import time
import traceback

from . import machine, registry, timing

FORBIDDEN = {"nnzoo": "torch", "torch": "nnzoo"}  # process kind -> module it must not load


def run(name, side, reps, warmup, min_time):
    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    wl = registry.get(name)
    step = wl.setup(side)
    setup_s = time.perf_counter() - t0
    stats = timing.measure(step, reps=reps, warmup=warmup, min_time=min_time)
    process = _check_process(name, side)
    facts = machine.torch_facts() if process == "torch" else (
        machine.nnzoo_facts() if "nnzoo" in sys.modules else machine.numpy_facts())
    return {"workload": name, "side": side, "process": process, "pid": os.getpid(), "ok": True,
            "setup_s": setup_s, **stats,
            "loadavg_1min": [load_start, os.getloadavg()[0]], "facts": facts, "env": machine.env_facts()}


def _check_process(name, side):
    process = registry.PROCESS_OF_SIDE[side]
    bad = FORBIDDEN[process]
    if bad in sys.modules:
        raise RuntimeError(f"the {process} process imported {bad}: workload {name!r}, side {side!r} "
                           "must import only its own library")
    return process


def serve(name, side, warmup, min_time, stdin=sys.stdin, stdout=sys.stdout):
    """Paired mode: set up, warm up and calibrate, say ``ready``, then time one repetition per ``go``
    line read from ``stdin`` (answering its ms per step) until ``quit``; the process's facts come last.

    The parent (``benchmarks.paired``) alternates two such processes, so both sides meet the same
    moments of a machine whose speed drifts."""
    def say(obj):
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()

    step = registry.get(name).setup(side)
    for _ in range(warmup):
        step()
    n = timing.calibrate(step, min_time)
    process = _check_process(name, side)
    say({"ready": True, "steps_per_rep": n, "pid": os.getpid()})
    for line in stdin:
        if line.strip() == "go":
            say({"ms": timing._run(step, n) / n * 1e3})
        elif line.strip() == "quit":
            break
    _check_process(name, side)
    facts = machine.torch_facts() if process == "torch" else (
        machine.nnzoo_facts() if "nnzoo" in sys.modules else machine.numpy_facts())
    say({"facts": facts, "env": machine.env_facts()})


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    p.add_argument("name")
    p.add_argument("side", choices=registry.SIDES)
    p.add_argument("--out")
    p.add_argument("--serve", action="store_true", help="paired mode (see serve())")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--min-time", type=float, default=0.05)
    a = p.parse_args(argv)
    if a.serve:
        serve(a.name, a.side, a.warmup, a.min_time)
        return 0
    if not a.out:
        p.error("--out is required (unless --serve)")
    try:
        result = run(a.name, a.side, a.reps, a.warmup, a.min_time)
        code = 0
    except Exception as e:
        result = {"workload": a.name, "side": a.side, "ok": False,
                  "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        code = 1
    with open(a.out, "w") as f:
        json.dump(result, f)
    return code


if __name__ == "__main__":
    sys.exit(main())
