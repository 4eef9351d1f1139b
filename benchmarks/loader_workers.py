"""DataLoader worker processes: one epoch over a dataset whose ``__getitem__`` costs ~5 ms of Python/NumPy work,
loaded by nnzoo's DataLoader with 0 and with 2 workers, and by torch's DataLoader (the peer) on the same items,
also with 0 and 2 workers.

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.loader_workers [--rounds 7]``

Each round times the four loaders one after the other (the order rotated every round), a full epoch each,
worker start-up and shutdown included (``persistent_workers=False``: what a training loop pays per epoch);
results are medians over the rounds with the min and max, and the speed-up of 2 workers over 0 is the median of
the per-round ratios (paired, so a load change between rounds cancels). The load average before and after is
recorded: the machine is shared, and a busy machine both slows every side and gives the workers a larger share of
the CPUs than the single main process gets. Every round also checks that the batches of 2 workers equal those of
0 workers (content and order).

The item's work is a fixed amount, calibrated once at the start to ~5 ms of CPU time in the main process: a loop of
small NumPy ops on a 256-vector (Python-bound, as decoding and augmentation code is), then a tensor of the result.
``item_wall_ms_measured`` over ``item_cpu_ms_measured`` shows how contended the machine was (1.0 when idle).
Writes benchmarks/results/loader_workers.json.
"""
import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

import nnzoo
from nnzoo.data import DataLoader, Dataset

RESULT = Path(__file__).parent / "results" / "loader_workers.json"


def work(i: int, reps: int) -> np.ndarray:
    """The item's ~5 ms: ``reps`` rounds of small NumPy ops (each a few microseconds of interpreter overhead)."""
    x = np.random.default_rng(i).standard_normal(256).astype(np.float32)
    for _ in range(reps):
        x = np.tanh(x * np.float32(1.01) + np.float32(0.01))
        x -= x.mean()
    return x


class Expensive(Dataset):
    """``n`` items of ``work``; each item is (a float32 tensor of 256, its index)."""

    def __init__(self, n: int, reps: int, tensor=nnzoo.from_numpy) -> None:
        self.n, self.reps, self.tensor = n, reps, tensor

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return self.tensor(work(i, self.reps)), i


def calibrate(target_ms: float) -> tuple[int, float, float]:
    """The repetitions that make one item cost ``target_ms`` of CPU time (process time: on a loaded machine the
    wall time of the same work varies with the other processes), with the CPU and wall ms measured for them."""
    reps = 50
    while True:
        c0 = time.process_time()
        for i in range(5):
            work(i, reps)
        ms = (time.process_time() - c0) / 5 * 1e3
        if ms > target_ms / 4:
            break
        reps *= 2
    reps = max(1, round(reps * target_ms / ms))
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(40):
        work(i, reps)
    return reps, (time.process_time() - c0) / 40 * 1e3, (time.perf_counter() - t0) / 40 * 1e3


def epoch(loader) -> tuple[float, list]:
    t0 = time.perf_counter()
    batches = [(x.numpy().copy(), y.numpy().copy()) for x, y in loader]
    return time.perf_counter() - t0, batches


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--items", type=int, default=240)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--item-ms", type=float, default=5.0)
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)

    load_before = os.getloadavg()
    reps, item_ms, item_wall_ms = calibrate(args.item_ms)
    ds_nz = Expensive(args.items, reps)
    ds_torch = Expensive(args.items, reps, tensor=torch.from_numpy)
    sides = {
        "nnzoo_0": lambda: DataLoader(ds_nz, batch_size=args.batch_size, num_workers=0),
        "nnzoo_2": lambda: DataLoader(ds_nz, batch_size=args.batch_size, num_workers=2),
        "torch_0": lambda: torch.utils.data.DataLoader(ds_torch, batch_size=args.batch_size, num_workers=0),
        "torch_2": lambda: torch.utils.data.DataLoader(ds_torch, batch_size=args.batch_size, num_workers=2),
    }
    names = list(sides)
    times = {k: [] for k in names}
    identical = True
    for r in range(args.rounds):
        out = {}
        for k in names[r % 4:] + names[:r % 4]:  # rotate who goes first
            t, out[k] = epoch(sides[k]())
            times[k].append(t)
        identical &= len(out["nnzoo_0"]) == len(out["nnzoo_2"]) and all(
            np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(out["nnzoo_0"], out["nnzoo_2"]))
        print(f"round {r}: " + ", ".join(f"{k} {times[k][-1]:.2f}s" for k in names), flush=True)

    def stats(v):
        return {"median_s": round(statistics.median(v), 4), "min_s": round(min(v), 4), "max_s": round(max(v), 4)}

    def speedup(a, b):
        ratios = [x / y for x, y in zip(times[a], times[b])]
        return {"median": round(statistics.median(ratios), 3), "min": round(min(ratios), 3),
                "max": round(max(ratios), 3)}

    result = {
        "task": f"one epoch of {args.items} items, batch_size {args.batch_size}, ~{args.item_ms:g} ms of "
                "Python/NumPy work per item (fixed repetitions calibrated in the main process)",
        "item_cpu_ms_measured": round(item_ms, 3), "item_wall_ms_measured": round(item_wall_ms, 3),
        "reps_per_item": reps, "rounds": args.rounds,
        "ideal_epoch_s": round(args.items * item_ms / 1e3, 3),
        "epoch": {k: stats(v) for k, v in times.items()},
        "speedup_2_workers_over_0": {"nnzoo": speedup("nnzoo_0", "nnzoo_2"), "torch": speedup("torch_0", "torch_2")},
        "nnzoo_2_workers_vs_torch_2_workers": speedup("torch_2", "nnzoo_2"),
        "batches_identical_to_num_workers_0": bool(identical),
        "machine": {"cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()],
                    "nnzoo": nnzoo.__version__, "torch": torch.__version__, "numpy": np.__version__,
                    "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")},
        "raw_epoch_s": {k: [round(x, 4) for x in v] for k, v in times.items()},
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    shown = ("item_cpu_ms_measured", "item_wall_ms_measured", "speedup_2_workers_over_0",
             "batches_identical_to_num_workers_0", "machine")
    print(json.dumps({k: result[k] for k in shown}, indent=2))
    return result


if __name__ == "__main__":
    main()
