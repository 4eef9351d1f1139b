"""Peak memory of a training workload, nnzoo's and PyTorch's, each in a fresh process.

``python -m benchmarks.memory NAME... [--steps 5]``

Each side runs in its own process: import its library (for nnzoo with the compiled kernels, Numba too, so
its code is not counted as the workload's), then reset the kernel's high-water mark of the process's
resident memory (``/proc/self/clear_refs``, Linux), build the workload (model, data, optimizer) and run
``--steps`` training steps; the figure is the high-water mark minus the resident memory before building:
the memory the workload itself took at its peak (parameters, activations, gradients, optimizer state, and
whatever the library's allocator keeps). The whole process's peak (``VmHWM`` with the libraries loaded) is
reported too.
"""
import argparse
import json
import os
import sys

from . import registry
from .runner import check_names, json_child


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(name, side, steps):
    if side == "torch":
        import torch  # noqa: F401
    else:
        import nnzoo  # noqa: F401
        from nnzoo.kernels import jit
        mode = jit.active_mode()  # imports numba when it is installed and selected
    before = _status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident size
    step = registry.get(name).setup(side)
    for _ in range(steps):
        step()
    peak = _status_kb("VmHWM")
    return {"name": name, "side": side, "workload_mb": (peak - before) / 1024, "process_peak_mb": peak / 1024,
            "kernels": mode if side != "torch" else None}


def measure(name, side, steps):
    return json_child("memory", (name, side, "--steps", steps), registry.PROCESS_OF_SIDE[side])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--child", nargs=2, metavar=("NAME", "SIDE"), help=argparse.SUPPRESS)
    p.add_argument("--json")
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.steps)))
        return 0
    if not args.names:
        p.error("name at least one workload")
    check_names(p, args.names)
    if not os.path.exists("/proc/self/clear_refs"):
        print("needs Linux's /proc/self/clear_refs", file=sys.stderr)
        return 2
    rows = []
    print("| workload | nnzoo workload peak MB | torch workload peak MB | torch/nnzoo | nnzoo process peak MB "
          "| torch process peak MB |")
    print("|---|--:|--:|--:|--:|--:|")
    for name in args.names:
        n, t = measure(name, "nnzoo", args.steps), measure(name, "torch", args.steps)
        rows.append({"nnzoo": n, "torch": t})
        print(f"| {name} | {n['workload_mb']:.1f} | {t['workload_mb']:.1f} | "
              f"{t['workload_mb'] / max(n['workload_mb'], 1e-9):.2f}x | {n['process_peak_mb']:.0f} | "
              f"{t['process_peak_mb']:.0f} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
