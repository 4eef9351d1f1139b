"""Data-parallel training over MPI: all-reduce bandwidth, the DDP step's overhead, and a scaling model.

``.venv/bin/python -m benchmarks.distributed [--rounds 2] [--steps 20]`` starts, per round, one
``mpirun -np 2`` job for nnzoo (``nnzoo.distributed`` over mpi4py/MPICH) and one for the peer, PyTorch's
``torch.distributed`` with the gloo backend (the CPU backend PyTorch ships) in processes of their own,
alternating, and writes ``benchmarks/results/distributed.json``:

- ``allreduce``: seconds per all-reduce (sum, float32, in place) of 1 KB to 100 MB between the two processes of
  this machine: nnzoo's ``dist.all_reduce`` (with its shape handshake, and without), raw mpi4py
  ``Allreduce`` (the engine underneath) and torch's gloo; the bus bandwidth ``bytes / time`` (for 2 ranks the
  ring moves 2(N-1)/N = 1 x the buffer per rank);
- ``ddp``: per model (the digits CNN of ``nnzoo train cnn``, 32 samples a process; a wide MLP with 28 MB of
  gradients), the median step (forward, backward, all-reduce, SGD step) of one process alone (the other
  waiting) and of each of the 2 DDP processes; the time backward's end waits for the all-reduces (exposed
  communication), the time the same buckets take when all-reduced after backward (all of it exposed), so the
  share of the communication backward hides is ``1 - exposed / full``;
- ``model``: the ring all-reduce model ``T(N) = 2(N-1)/N * bytes / bandwidth + 2(N-1) * latency`` with latency
  and bandwidth fitted to nnzoo's measured curve (this machine's shared memory), and the weak-scaling efficiency
  ``t_step(1) / (t_step(1) + (1 - hidden) * T(N))`` of each model on N machines over shared memory, 10 Gb/s
  Ethernet and 100 Gb/s InfiniBand (assumed figures; see docs/distributed.md).

The machine has 2 cores shared with other users: the two libraries alternate round by round and the JSON
keeps every round; compare ratios within a round.
"""
# ruff: noqa: B023  (each loop iteration's closures run within that iteration)
from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "results" / "distributed.json"
SIZES = [10 ** k for k in range(3, 9)]  # bytes: 1 KB .. 100 MB
WIDE = 1536                              # the wide MLP: 3 x Linear(1536, 1536), 7.1M parameters, 28 MB
NETWORKS = {  # (latency s, bandwidth bytes/s) assumed for N machines (docs/distributed.md says why)
    "10GbE": (30e-6, 1.1e9),
    "100Gb InfiniBand": (3e-6, 11e9),
}


# ---- the workers (one per process of an mpirun job) -------------------------------------------------------
def _reps(nbytes):
    return max(3, min(200, int(2e7 / nbytes)))


def _times(fn, reps, sync):
    """(median, min) seconds of ``fn`` over ``reps`` calls, each after ``sync`` (a barrier)."""
    times = []
    for _ in range(reps):
        sync()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def worker_nnzoo(steps):
    import numpy as np
    from mpi4py import MPI

    import nnzoo
    import nnzoo.distributed as dist
    from nnzoo import nn
    from nnzoo.distributed import _State
    from nnzoo.nn.parallel import DistributedDataParallel as DDP
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    comm = MPI.COMM_WORLD
    out = {"allreduce": {}, "ddp": {}}
    for nbytes in SIZES:
        t = nnzoo.ones(nbytes // 4)
        raw = np.ones(nbytes // 4, dtype=np.float32)
        row = {}
        for name in ("nnzoo", "nnzoo_no_check", "mpi4py"):
            _State.check = name != "nnzoo_no_check"
            fn = (lambda: comm.Allreduce(MPI.IN_PLACE, raw)) if name == "mpi4py" else (lambda: dist.all_reduce(t))
            fn()
            row[name], row[name + "_min"] = _times(fn, _reps(nbytes), comm.Barrier)
        _State.check = True
        out["allreduce"][nbytes] = row
    for model_name in ("cnn", "wide"):
        nnzoo.manual_seed(0)
        if model_name == "cnn":
            from nnzoo.zoo.lenet import DigitsCNN
            model, x = DigitsCNN(), nnzoo.randn(32, 1, 8, 8)
        else:
            model = nn.Sequential(nn.Linear(WIDE, WIDE), nn.ReLU(), nn.Linear(WIDE, WIDE), nn.ReLU(),
                                  nn.Linear(WIDE, WIDE))
            x = nnzoo.randn(32, WIDE)
        y = nnzoo.randint(0, 10, (32,))
        loss_fn = nn.CrossEntropyLoss()
        single_opt = nnzoo.optim.SGD(model.parameters(), lr=0.01)

        def single_step():
            single_opt.zero_grad()
            loss_fn(model(x), y).backward()
            single_opt.step()
        ddp = DDP(model)
        opt = nnzoo.optim.SGD(ddp.parameters(), lr=0.01)
        exposed = []

        def ddp_step():
            opt.zero_grad()
            loss_fn(ddp(x), y).backward()
            exposed.append(ddp.comm_seconds)
            opt.step()
        buffers = [nnzoo.autograd.arrays.wrap(b.buffer) for b in ddp._buckets]

        def full_comm():
            for b in buffers:
                dist._all_reduce(b, dist.ReduceOp.SUM, None, False, check=False)
        single, both, full = [], [], []
        for _ in range(2):  # alternate: one process alone (the other waits), then both in DDP
            if rank == 0:
                single_step()
                for _ in range(steps):
                    start = time.perf_counter()
                    single_step()
                    single.append(time.perf_counter() - start)
            dist.barrier()
            ddp_step()
            exposed.clear()
            for _ in range(steps):
                dist.barrier()
                start = time.perf_counter()
                ddp_step()
                both.append(time.perf_counter() - start)
            for _ in range(steps):
                dist.barrier()
                start = time.perf_counter()
                full_comm()
                full.append(time.perf_counter() - start)
        out["ddp"][model_name] = {
            "grad_bytes": int(sum(b.nbytes() for b in ddp._buckets)), "buckets": ddp.bucket_sizes(),
            "single_step": statistics.median(single) if single else None, "ddp_step": statistics.median(both),
            "exposed_comm": statistics.median(exposed), "full_comm": statistics.median(full)}
    gathered = comm.gather(out, root=0)
    dist.destroy_process_group()
    return gathered


def worker_torch(steps):
    import torch
    import torch.distributed as tdist
    from torch import nn
    torch.set_num_threads(1)
    tdist.init_process_group("gloo", rank=int(os.environ["PMI_RANK"]), world_size=int(os.environ["PMI_SIZE"]))
    rank = tdist.get_rank()
    out = {"allreduce": {}, "ddp": {}}
    for nbytes in SIZES:
        t = torch.ones(nbytes // 4)
        fn = lambda: tdist.all_reduce(t)  # noqa: E731
        fn()
        median, best = _times(fn, _reps(nbytes), tdist.barrier)
        out["allreduce"][nbytes] = {"torch_gloo": median, "torch_gloo_min": best}
    for model_name in ("cnn", "wide"):
        torch.manual_seed(0)
        if model_name == "cnn":
            def stage(i, o):
                return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]
            model = nn.Sequential(*stage(1, 32), *stage(32, 64), nn.Flatten(), nn.Dropout(0.25), nn.Linear(256, 128),
                                  nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))
            x = torch.randn(32, 1, 8, 8)
        else:
            model = nn.Sequential(nn.Linear(WIDE, WIDE), nn.ReLU(), nn.Linear(WIDE, WIDE), nn.ReLU(),
                                  nn.Linear(WIDE, WIDE))
            x = torch.randn(32, WIDE)
        y = torch.randint(0, 10, (32,))
        loss_fn = nn.CrossEntropyLoss()
        single_opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def single_step():
            single_opt.zero_grad()
            loss_fn(model(x), y).backward()
            single_opt.step()
        ddp = nn.parallel.DistributedDataParallel(model)
        opt = torch.optim.SGD(ddp.parameters(), lr=0.01)

        def ddp_step():
            opt.zero_grad()
            loss_fn(ddp(x), y).backward()
            opt.step()
        single, both = [], []
        for _ in range(2):
            if rank == 0:
                single_step()
                for _ in range(steps):
                    start = time.perf_counter()
                    single_step()
                    single.append(time.perf_counter() - start)
            tdist.barrier()
            ddp_step()
            for _ in range(steps):
                tdist.barrier()
                start = time.perf_counter()
                ddp_step()
                both.append(time.perf_counter() - start)
        out["ddp"][model_name] = {"single_step": statistics.median(single) if single else None,
                                  "ddp_step": statistics.median(both)}
    gathered = [None] * tdist.get_world_size()
    tdist.all_gather_object(gathered, out)
    tdist.destroy_process_group()
    return gathered


# ---- the driver ----------------------------------------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_job(side, steps):
    mpirun = pathlib.Path(sys.executable).parent / "mpirun"
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port()), "PYTHONPATH": str(ROOT)}
    subprocess.run([str(mpirun), "-np", "2", sys.executable, "-m", "benchmarks.distributed", "--worker", side,
                    "--steps", str(steps), "--out", path], check=True, env=env, cwd=ROOT, timeout=900)
    with open(path) as f:
        result = json.load(f)
    os.unlink(path)
    return result


def fit_ring(sizes, times):
    """Latency and bandwidth of the 2-rank ring, T = bytes / bandwidth + 2 * latency, through the two ends of the
    curve: the bandwidth of the largest buffer (where big models' gradients live; beyond the caches) and the
    latency left in the smallest one. (A least-squares line cannot follow both: 100 KB-1 MB buffers travel
    through the caches 5-10x faster than 10-100 MB ones.)"""
    bandwidth = sizes[-1] / times[-1]
    return max((times[0] - sizes[0] / bandwidth) / 2, 0.0), bandwidth


def ring_time(n, nbytes, latency, bandwidth):
    if n == 1:
        return 0.0
    return 2 * (n - 1) / n * nbytes / bandwidth + 2 * (n - 1) * latency


def scaling_model(report):
    nz = report["nnzoo_rounds"]
    sizes = SIZES
    # NOTE: fitted to the fastest call of each size (both processes on a core): on the shared, loaded 2-core
    # machine the medians measure the other users' load more than MPI
    times = [min(r["allreduce"][str(s)]["nnzoo_no_check_min"] for r in nz) for s in sizes]
    latency, bandwidth = fit_ring(sizes, times)
    networks = {"this machine (shared memory, fitted)": (latency, bandwidth), **NETWORKS}
    model = {"fitted_latency_s": latency, "fitted_bandwidth_bytes_per_s": bandwidth, "networks": {}}
    for net, (lat, bw) in networks.items():
        per_model = {}
        for name in ("cnn", "wide"):
            d = [r["ddp"][name] for r in nz]
            step1 = statistics.median(x["single_step"] for x in d)
            hidden = max(0.0, min(1.0, 1 - statistics.median(x["exposed_comm"] / x["full_comm"] for x in d)))
            nbytes = d[0]["grad_bytes"]
            rows = {}
            for n in (1, 2, 4, 8, 16, 32, 64):
                comm = ring_time(n, nbytes, lat, bw) * (1 - hidden)
                rows[n] = {"step_s": step1 + comm, "efficiency": step1 / (step1 + comm),
                           "speedup": n * step1 / (step1 + comm)}
            per_model[name] = {"grad_bytes": nbytes, "single_step_s": step1, "hidden_share": hidden, "N": rows}
        model["networks"][net] = {"latency_s": lat, "bandwidth_bytes_per_s": bw, "models": per_model}
    return model


def summary(report):
    lines = ["all-reduce, 2 processes, fastest call over the rounds / median of the rounds' medians, us "
             "(bus bandwidth GB/s of the fastest):"]
    for s in SIZES:
        cells = []
        for side, key in (("nnzoo_rounds", "nnzoo"), ("nnzoo_rounds", "nnzoo_no_check"), ("nnzoo_rounds", "mpi4py"),
                          ("torch_rounds", "torch_gloo")):
            t = statistics.median(r["allreduce"][str(s)][key] for r in report[side])
            best = min(r["allreduce"][str(s)][key + "_min"] for r in report[side])
            cells.append(f"{key} {best * 1e6:.1f} / {t * 1e6:.1f} ({s / best / 1e9:.2f})")
        lines.append(f"{s:>10} B: " + "; ".join(cells))
    for name in ("cnn", "wide"):
        nz = [r["ddp"][name] for r in report["nnzoo_rounds"]]
        th = [r["ddp"][name] for r in report["torch_rounds"]]
        med = lambda rows, k: statistics.median(x[k] for x in rows)  # noqa: E731
        lines.append(f"{name}: nnzoo single {med(nz, 'single_step') * 1e3:.2f} ms, DDP {med(nz, 'ddp_step') * 1e3:.2f} "
                     f"ms, exposed comm {med(nz, 'exposed_comm') * 1e3:.2f} ms of {med(nz, 'full_comm') * 1e3:.2f} ms; "
                     f"torch single {med(th, 'single_step') * 1e3:.2f} ms, DDP {med(th, 'ddp_step') * 1e3:.2f} ms")
    m = report["model"]
    lines.append(f"fitted: latency {m['fitted_latency_s'] * 1e6:.1f} us, bandwidth "
                 f"{m['fitted_bandwidth_bytes_per_s'] / 1e9:.2f} GB/s")
    for net, v in m["networks"].items():
        for name, pm in v["models"].items():
            eff = ", ".join(f"N={n}: {r['efficiency']:.2f}" for n, r in pm["N"].items() if n > 1)
            lines.append(f"{net} / {name}: {eff}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", choices=["nnzoo", "torch"])
    parser.add_argument("--out")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", default=str(RESULT))
    parser.add_argument("--refit", action="store_true", help="recompute the model and summary of --json's rounds")
    args = parser.parse_args(argv)
    if args.refit:
        report = json.loads(pathlib.Path(args.json).read_text())
        report["model"] = scaling_model(report)
        report["summary"] = summary(report).split("\n")
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1))
        print("\n".join(report["summary"]))
        return 0
    if args.worker:
        gathered = worker_nnzoo(args.steps) if args.worker == "nnzoo" else worker_torch(args.steps)
        if gathered is not None and gathered[0] is not None and int(os.environ.get("PMI_RANK", "0")) == 0:
            per_rank = gathered
            merged = per_rank[0]
            for name, row in merged["ddp"].items():  # each rank's DDP step: the slower one counts
                row["ddp_step"] = max(r["ddp"][name]["ddp_step"] for r in per_rank)
            with open(args.out, "w") as f:
                json.dump(merged, f)
        return 0
    report = {"machine": {"cpus": os.cpu_count(), "load_at_start": os.getloadavg()}, "nnzoo_rounds": [],
              "torch_rounds": []}
    start = time.time()
    for _ in range(args.rounds):
        report["nnzoo_rounds"].append(run_job("nnzoo", args.steps))
        report["torch_rounds"].append(run_job("torch", args.steps))
    report["model"] = scaling_model(report)
    report["machine"]["load_at_end"] = os.getloadavg()
    report["seconds"] = time.time() - start
    text = summary(report)
    report["summary"] = text.split("\n")
    pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.json).write_text(json.dumps(report, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
