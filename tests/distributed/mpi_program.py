"""The program the distributed tests start under ``mpirun -np N`` (one mpirun per mode, each ~1-2 s).

``python tests/distributed/mpi_program.py MODE``; rank 0 prints one line ``RESULT {json}``. Modes:

- ``checks``: every collective against a NumPy reference for each reduction and dtype, DDP training of the
  digits MLP (float64 and float32) and of the digits CNN (float64) for 20 steps against one process training
  on the concatenated batches (steps 10-19 accumulate two micro-batches, the first under ``no_sync()``),
  ``find_unused_parameters``, and a mismatched collective (different shapes) that must raise on every rank;
- ``raise``: rank 1 raises; ``kill``: rank 1 kills itself with SIGKILL; ``hang``: rank 1 never joins the
  collective and rank 0 has a 1.5 s timeout. All three must end the job (non-zero status), not hang.
"""
import json
import os
import signal
import sys
import time
from datetime import timedelta

import numpy as np

import nnzoo
import nnzoo.distributed as dist
from nnzoo import nn
from nnzoo.autograd.arrays import array
from nnzoo.nn.parallel import DistributedDataParallel as DDP

Op = dist.ReduceOp
DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "int32", "int64", "uint8", "bool"]
OPS = {"float": [Op.SUM, Op.AVG, Op.PRODUCT, Op.MIN, Op.MAX], "int": [Op.SUM, Op.PRODUCT, Op.MIN, Op.MAX, Op.BAND,
       Op.BOR, Op.BXOR], "bool": [Op.SUM, Op.PRODUCT, Op.MIN, Op.MAX]}


def npdtype(dtype):
    if dtype == "bfloat16":
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(dtype)


def kind(dtype):
    return "float" if dtype == "bfloat16" else {"f": "float", "i": "int", "u": "int", "b": "bool"}[np.dtype(dtype).kind]


def data(rank, dtype, shape=(3, 4)):
    """Rank ``rank``'s input: small integers (exact sums and products in every dtype)."""
    rng = np.random.default_rng(1000 + rank)
    values = rng.integers(0, 4, size=shape)
    return values.astype(npdtype(dtype))


def reference(op, xs):
    x = np.stack(xs)
    if x.dtype.name in ("float16", "bfloat16"):  # nnzoo reduces them in float32
        return reference(op, [a.astype(np.float32) for a in xs]).astype(x.dtype)
    if x.dtype == bool:
        return {Op.SUM: x.any(0), Op.MAX: x.any(0), Op.PRODUCT: x.all(0), Op.MIN: x.all(0)}[op]
    fn = {Op.SUM: lambda: x.sum(0), Op.AVG: lambda: x.sum(0) / len(xs), Op.PRODUCT: lambda: x.prod(0),
          Op.MIN: lambda: x.min(0), Op.MAX: lambda: x.max(0), Op.BAND: lambda: np.bitwise_and.reduce(x, 0),
          Op.BOR: lambda: np.bitwise_or.reduce(x, 0), Op.BXOR: lambda: np.bitwise_xor.reduce(x, 0)}[op]
    return fn().astype(x.dtype)


def collectives(rank, n, fails, dtypes=DTYPES):
    """Each collective and dtype against NumPy; a failure appends its description to ``fails``."""
    def check(name, got, want):
        got = got.numpy() if isinstance(got, nnzoo.Tensor) else got
        if got.shape != want.shape or got.dtype != want.dtype or not np.array_equal(got, want):
            fails.append(f"rank {rank}: {name}: got {got.ravel()[:6]} want {want.ravel()[:6]}")

    for dtype in dtypes:
        xs = [data(r, dtype) for r in range(n)]
        T = lambda a: nnzoo.tensor(a.copy())  # noqa: E731
        for op in OPS[kind(dtype)]:
            t = T(xs[rank])
            dist.all_reduce(t, op=op)
            check(f"all_reduce {op.name} {dtype}", t, reference(op, xs))
            t = T(xs[rank])
            dist.all_reduce(t, op=op, async_op=True).wait()
            check(f"all_reduce async {op.name} {dtype}", t, reference(op, xs))
            t = T(xs[rank])
            dist.reduce(t, dst=n - 1, op=op)
            check(f"reduce {op.name} {dtype}", t, reference(op, xs) if rank == n - 1 else xs[rank])
            out = T(xs[rank][:1])
            dist.reduce_scatter_tensor(out, T(np.concatenate([xs[rank][:1]] * n)), op=op)
            check(f"reduce_scatter_tensor {op.name} {dtype}", out, reference(op, [x[:1] for x in xs]))
        t = T(xs[rank])
        dist.broadcast(t, src=n - 1)
        check(f"broadcast {dtype}", t, xs[n - 1])
        outs = [T(np.zeros_like(xs[0])) for _ in range(n)]
        dist.all_gather(outs, T(xs[rank]))
        for r in range(n):
            check(f"all_gather {dtype}", outs[r], xs[r])
        big = T(np.zeros((3 * n, 4), npdtype(dtype)))
        dist.all_gather_into_tensor(big, T(xs[rank]))
        check(f"all_gather_into_tensor {dtype}", big, np.concatenate(xs))
        got = [T(np.zeros_like(xs[0])) for _ in range(n)] if rank == 0 else None
        dist.gather(T(xs[rank]), got, dst=0)
        if rank == 0:
            for r in range(n):
                check(f"gather {dtype}", got[r], xs[r])
        t = T(np.zeros_like(xs[0]))
        dist.scatter(t, [T(data(100 + r, dtype)) for r in range(n)] if rank == n - 1 else None, src=n - 1)
        check(f"scatter {dtype}", t, data(100 + rank, dtype))
        if kind(dtype) != "bool":
            chunks = [data(10 * rank + s, dtype) for s in range(n)]  # this rank's chunk for rank s
            out = T(np.zeros_like(xs[0]))
            dist.reduce_scatter(out, [T(c) for c in chunks])
            check(f"reduce_scatter {dtype}", out, reference(Op.SUM, [data(10 * r + rank, dtype) for r in range(n)]))
        ins = [T(data(10 * rank + s, dtype, (s + 1, 2))) for s in range(n)]
        outs = [T(np.zeros((rank + 1, 2), npdtype(dtype))) for _ in range(n)]
        dist.all_to_all(outs, ins)
        for r in range(n):
            check(f"all_to_all {dtype}", outs[r], data(10 * r + rank, dtype, (rank + 1, 2)))
        out = T(np.zeros((2 * n, 3), npdtype(dtype)))
        dist.all_to_all_single(out, T(data(rank, dtype, (2 * n, 3))))
        want = np.concatenate([data(r, dtype, (2 * n, 3))[2 * rank:2 * rank + 2] for r in range(n)])
        check(f"all_to_all_single {dtype}", out, want)
        # point to point: a ring
        t = T(np.zeros_like(xs[0]))
        work = dist.irecv(t, src=(rank - 1) % n)
        dist.send(T(xs[rank]), dst=(rank + 1) % n)
        work.wait()
        check(f"isend/irecv ring {dtype}", t, xs[(rank - 1) % n])
    dist.barrier()
    objs = []
    dist.all_gather_object(objs, {"rank": rank})
    if objs != [{"rank": r} for r in range(n)]:
        fails.append(f"all_gather_object: {objs}")
    lst = [rank, "x"] if rank == 0 else [None, None]
    dist.broadcast_object_list(lst, src=0)
    if lst != [0, "x"]:
        fails.append(f"broadcast_object_list: {lst}")
    sub = dist.new_group([0, 1] if n > 1 else [0])
    t = nnzoo.tensor([float(rank + 1)])
    if sub is dist.GroupMember.NON_GROUP_MEMBER:
        if rank < 2:
            fails.append("new_group: a member got NON_GROUP_MEMBER")
    else:
        dist.all_reduce(t, group=sub)
        if t.item() != (3.0 if n > 1 else 1.0) or dist.get_world_size(sub) != min(n, 2):
            fails.append(f"new_group all_reduce: {t.item()}")


_DIGITS = []


def digits_batches(steps, global_batch, dtype):
    if not _DIGITS:  # scikit-learn's copy of the 8x8 digits, read without importing scikit-learn (seconds)
        import importlib.util
        folder = os.path.dirname(importlib.util.find_spec("sklearn").origin)
        table = np.loadtxt(os.path.join(folder, "datasets", "data", "digits.csv.gz"), delimiter=",")
        _DIGITS.append((nnzoo.tensor(table[:, :-1] / 16), nnzoo.tensor(table[:, -1].astype(np.int64))))
    x, y = _DIGITS[0]
    x = x.to(dtype).reshape(-1, 1, 8, 8)
    rng = np.random.default_rng(0)
    idx = [rng.choice(len(y), global_batch, replace=False) for _ in range(steps)]
    return [(x[nnzoo.tensor(i)], y[nnzoo.tensor(i)]) for i in idx]


def build(model_name, dtype, seed):
    nnzoo.manual_seed(seed)
    if model_name == "mlp":
        from nnzoo.zoo.mlp import MLP
        model = MLP(64, (32, 32), 10)
    else:
        from nnzoo.zoo.lenet import DigitsCNN
        model = DigitsCNN(channels=(4, 8), hidden=16, dropout=0.0)
    return model.to(dtype)


def ddp_parity(rank, n, model_name, dtype, steps=20, per_rank=8):
    """Max |weight difference| between DDP on n ranks and one process on the concatenated batches."""
    dtype = getattr(nnzoo, dtype)
    batches = digits_batches(steps, per_rank * n * 2, dtype)
    loss_fn = nn.CrossEntropyLoss()
    reference = build(model_name, dtype, seed=0)
    model = DDP(build(model_name, dtype, seed=rank))  # rank 0's weights are broadcast
    if model_name == "cnn":  # batch norm on running statistics: each rank's batch statistics would differ
        model.eval()
        reference.eval()
    opts = [nnzoo.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (model, reference)]
    half = per_rank * n
    for step, (x, y) in enumerate(batches):
        micro = [(x[:half], y[:half])] if step < steps // 2 else [(x[:half], y[:half]), (x[half:], y[half:])]
        for opt in opts:
            opt.zero_grad()
        for k, (xb, yb) in enumerate(micro):
            mine = slice(rank * per_rank, (rank + 1) * per_rank)
            ctx = model.no_sync() if k < len(micro) - 1 else _null()
            with ctx:
                loss_fn(model(xb[mine]), yb[mine]).backward()
            loss_fn(reference(xb), yb).backward()
        for opt in opts:
            opt.step()
    diffs = [float(np.abs(array(p) - array(q)).max()) for p, q in zip(model.module.parameters(),
                                                                        reference.parameters())]
    # every rank's replica must equal rank 0's
    spread = nnzoo.tensor(max(float(np.abs(array(p)).sum()) for p in model.module.parameters()), dtype=nnzoo.float64)
    lo, hi = spread.clone(), spread.clone()
    dist.all_reduce(lo, op=Op.MIN)
    dist.all_reduce(hi, op=Op.MAX)
    return {"max_diff": max(diffs), "replica_spread": hi.item() - lo.item(), "buckets": model.bucket_sizes(),
            "keys": list(model.state_dict())[:2]}


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(3, 2)
        self.never = nn.Linear(3, 2)

    def forward(self, x, use_b):
        return self.a(x) + (self.b(x) if use_b else 0)


def unused(rank, n):
    """Rank 0 uses branch b, the others do not; 'never' is unused everywhere."""
    nnzoo.manual_seed(0)
    model = DDP(Branchy(), find_unused_parameters=True)
    x = nnzoo.ones(4, 3) * (rank + 1)
    model(x, use_b=(rank == 0)).sum().backward()
    b_grad = model.module.b.weight.grad
    want_b = np.full((2, 3), 4.0 * 1 / n)  # only rank 0's contribution (x = 1, 4 rows), averaged
    want_a = np.full((2, 3), 4.0 * sum(r + 1 for r in range(n)) / n)
    ok = (b_grad is not None and np.allclose(b_grad.numpy(), want_b) and np.allclose(model.module.a.weight.grad.numpy(),
                                                                                     want_a)
          and model.module.never.weight.grad is None)
    strict = DDP(Branchy())
    strict(x, use_b=False).sum().backward()
    try:
        strict(x, use_b=False)
        error = None
    except RuntimeError as e:
        error = str(e)
    return {"ok": bool(ok), "error_without_flag": error}


def mismatch(rank, n):
    t = nnzoo.zeros(2, 3) if rank == 0 else nnzoo.zeros(3, 2)
    try:
        dist.all_reduce(t)
    except ValueError as e:
        return str(e)
    return None


def handshake_cost(rank, n, reps=300):
    """Seconds per all_reduce of 1 KB with and without the shape check."""
    from nnzoo.distributed import _State
    t = nnzoo.zeros(256)
    out = {}
    for check in (True, False):
        _State.check = check
        dist.barrier()
        start = time.perf_counter()
        for _ in range(reps):
            dist.all_reduce(t)
        out["with_check" if check else "without_check"] = (time.perf_counter() - start) / reps
    _State.check = True
    return out


def trainer_checks(rank, n):
    """The Trainer on n processes: weights and logged means equal one process's on the concatenated batches;
    2 epochs + resume for 1 more equals 3 epochs straight; rank 0 alone keeps the checkpoints."""
    import shutil
    import tempfile

    from nnzoo.train import ModelCheckpoint, Trainer
    out = [tempfile.mkdtemp() if rank == 0 else None]
    dist.broadcast_object_list(out, src=0)
    out = out[0]
    batches = digits_batches(5, 8 * n, nnzoo.float64)
    mine = [(x[rank * 8:(rank + 1) * 8], y[rank * 8:(rank + 1) * 8]) for x, y in batches]
    val = [(x[:12], y[:12]) for x, y in batches[:2]]

    def trainer(distributed=None, out_dir=None):
        model = build("mlp", nnzoo.float64, seed=rank)  # DDP broadcasts rank 0's weights
        return Trainer(model, nn.CrossEntropyLoss(), nnzoo.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                       metrics="accuracy", progress=False, out_dir=out_dir, seed=0, distributed=distributed)

    first = trainer(out_dir=out)
    first.fit(mine, val, epochs=2)
    resumed = trainer(out_dir=out)
    resumed.fit(mine, val, epochs=3, resume=True)
    straight = trainer()
    straight.fit(mine, val, epochs=3)
    histories = []
    dist.all_gather_object(histories, {k: v for k, v in straight.history.items() if k != "time"})
    result = {"resume_diff": max(float(np.abs(array(p) - array(q)).max()) for p, q in
                                 zip(resumed.model.parameters(), straight.model.parameters())),
              "histories_equal": all(h == histories[0] for h in histories),
              "checkpoint_callbacks": sum(isinstance(cb, ModelCheckpoint) for cb in first.callbacks)}
    if rank == 0:
        nnzoo.manual_seed(0)
        one = trainer(distributed=False)
        one.model.load_state_dict(build("mlp", nnzoo.float64, seed=0).state_dict())
        one.fit(batches, val, epochs=3)
        result["weights_diff"] = max(float(np.abs(array(p) - array(q)).max()) for p, q in
                                     zip(one.model.parameters(), straight.model.parameters()))
        result["log_diff"] = max(abs(a - b) for k in ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
                                 for a, b in zip(one.history[k], straight.history[k]))
        result["files"] = sorted(os.listdir(out))
        shutil.rmtree(out)
    counts = []
    dist.all_gather_object(counts, result["checkpoint_callbacks"])
    result["checkpoint_callbacks"] = counts
    return result


def main():
    mode = sys.argv[1]
    timeout = timedelta(seconds=1.5) if mode == "hang" else None
    dist.init_process_group("mpi", timeout=timeout)
    rank, n = dist.get_rank(), dist.get_world_size()
    if mode == "checks":
        fails = []
        quick = "--quick" in sys.argv
        collectives(rank, n, fails, ["float64", "int64", "bool"] if quick else DTYPES)
        from nnzoo.data import DistributedSampler
        sampler = DistributedSampler(range(11))  # num_replicas and rank from the group
        if (sampler.num_replicas, sampler.rank) != (n, rank):
            fails.append(f"DistributedSampler defaults: {(sampler.num_replicas, sampler.rank)} on rank {rank} of {n}")
        result = {"fails": fails, "world": n}
        result["mlp64"] = ddp_parity(rank, n, "mlp", "float64")
        if not quick:
            result["mlp32"] = ddp_parity(rank, n, "mlp", "float32")
            result["cnn64"] = ddp_parity(rank, n, "cnn", "float64")
            result["unused"] = unused(rank, n)
            result["mismatch"] = mismatch(rank, n)
            result["handshake"] = handshake_cost(rank, n)
            result["trainer"] = trainer_checks(rank, n)
        gathered = []
        dist.all_gather_object(gathered, fails)
        result["fails"] = [f for part in gathered for f in part]
        if rank == 0:
            print("RESULT " + json.dumps(result), flush=True)
    elif mode == "raise":
        if rank == 1:
            raise RuntimeError("rank 1 fails on purpose")
        dist.all_reduce(nnzoo.ones(3))
    elif mode == "kill":
        if rank == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        dist.all_reduce(nnzoo.ones(3))
    elif mode == "hang":
        if rank == 1:
            time.sleep(30)
        dist.all_reduce(nnzoo.ones(3))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
