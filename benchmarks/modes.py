"""Compiled kernels against their NumPy references, in one process, paired round by round.

``python -m benchmarks.modes NAME... [--rounds 15] [--min-time 0.2]``

For each nnzoo workload, builds its step once and times it under ``jit.mode("compiled")`` and
``jit.mode("numpy")`` in alternating order (compiled first in even rounds), each repetition at least
``--min-time`` seconds; the figure is the median over rounds of numpy time / compiled time (above 1: the
compiled kernels are faster), with quartiles and range. Both modes share the process, its allocator and
its warm caches, so the ratio isolates what the kernels change. The ratios against PyTorch come from
``benchmarks.paired``.
"""
import argparse
import statistics
import sys
import time

from . import registry
from .runner import check_names
from .timing import calibrate


def _rep(step, n):
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n * 1e3


def compare(name, rounds, min_time):
    from nnzoo.kernels import jit
    step = registry.get(name).setup("nnzoo")
    with jit.mode("compiled"):
        step()  # compile (or load from the disk cache) before timing
        n = calibrate(step, min_time)
    with jit.mode("numpy"):
        step()
    times = {"compiled": [], "numpy": []}
    ratios = []
    for r in range(rounds):
        order = ("compiled", "numpy") if r % 2 == 0 else ("numpy", "compiled")
        got = {}
        for m in order:
            with jit.mode(m):
                got[m] = _rep(step, n)
            times[m].append(got[m])
        ratios.append(got["numpy"] / got["compiled"])
    q = statistics.quantiles(ratios, n=4, method="inclusive")
    return {"name": name, "compiled_ms": statistics.median(times["compiled"]),
            "numpy_ms": statistics.median(times["numpy"]), "ratio": statistics.median(ratios),
            "q1": q[0], "q3": q[2], "min": min(ratios), "max": max(ratios), "rounds": rounds}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="+")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--min-time", type=float, default=0.2)
    args = p.parse_args(argv)
    check_names(p, args.names)
    from nnzoo.kernels import jit
    if not jit.available():
        print("Numba is not installed: nothing compiled to compare (pip install nnzoo[kernels])", file=sys.stderr)
        return 2
    print("| workload | compiled ms/step | numpy ms/step | numpy/compiled: median (quartiles; range) |")
    print("|---|--:|--:|--:|")
    for name in args.names:
        r = compare(name, args.rounds, args.min_time)
        print(f"| {name} | {r['compiled_ms']:.3g} | {r['numpy_ms']:.3g} | {r['ratio']:.2f}x "
              f"({r['q1']:.2f}-{r['q3']:.2f}; {r['min']:.2f}-{r['max']:.2f}) |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
