"""DataLoader worker processes: the same batches in the same order as num_workers=0, PyTorch's seeds and
WorkerInfo, IterableDataset sharding (against torch's loader), errors and killed workers surfacing, timeouts,
persistent workers, and clean shutdown. Every test runs under an alarm, so a hang fails instead of blocking."""
import os
import random
import signal
import time

import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.data import DataLoader, Dataset, TensorDataset, _worker, get_worker_info

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGALRM") or not hasattr(os, "fork"),
                                reason="the worker tests use fork and SIGALRM (POSIX)")


@pytest.fixture(autouse=True)
def _deadline():
    def fail(*_):
        raise TimeoutError("the test hung")
    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


class Samples(Dataset):
    """Items of mixed types: a float tensor, an int, a NumPy array and a dict (what collate must rebuild)."""

    def __len__(self):
        return 23

    def __getitem__(self, i):
        return nnzoo.full((2, 3), float(i)), i, np.arange(3, dtype=np.int16) + i, {"name": f"s{i}", "v": i / 2}


def _flat(batch):
    """A batch as plain Python values (tensors as (dtype, shape, values)) for exact comparison."""
    if isinstance(batch, nnzoo.Tensor):
        return (str(batch.dtype), tuple(batch.shape), batch.tolist())
    if isinstance(batch, dict):
        return {k: _flat(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_flat(b) for b in batch)
    return batch


def _epochs(loader, n=2):
    return [[_flat(b) for b in loader] for _ in range(n)]


def test_batches_equal_num_workers_0_in_content_and_order():
    for kw in ({"batch_size": 4, "shuffle": True}, {"batch_size": 5, "drop_last": True}, {"batch_size": None}):
        nnzoo.manual_seed(7)
        ref = _epochs(DataLoader(Samples(), **kw))
        nnzoo.manual_seed(7)  # the base seed each iter() draws keeps the default stream in step with workers or not
        got = _epochs(DataLoader(Samples(), num_workers=2, **kw))
        assert got == ref
    g0, g2 = nnzoo.Generator().manual_seed(3), nnzoo.Generator().manual_seed(3)
    ref = _epochs(DataLoader(Samples(), batch_size=3, shuffle=True, generator=g0))
    assert _epochs(DataLoader(Samples(), batch_size=3, shuffle=True, generator=g2, num_workers=3,
                              prefetch_factor=1)) == ref


def test_tensor_dataset_and_unordered_delivery():
    ds = TensorDataset(nnzoo.arange(60.0).reshape(20, 3), nnzoo.arange(20))
    ref = [_flat(b) for b in DataLoader(ds, batch_size=6)]
    assert [_flat(b) for b in DataLoader(ds, batch_size=6, num_workers=2)] == ref
    unordered = [_flat(b) for b in DataLoader(ds, batch_size=6, num_workers=2, in_order=False)]
    assert sorted(map(repr, unordered)) == sorted(map(repr, ref))


class Seeds(Dataset):
    """Each item reports its worker's info and the first draw of each RNG in the worker."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return {"id": info.id, "num_workers": info.num_workers, "seed": info.seed, "same": info.dataset is self,
                "init": os.environ.get("NNZOO_TEST_INIT", ""), "np": np.random.random_sample(),
                "nnzoo": nnzoo.rand(1).item(), "py": random.random()}


def _init(worker_id):
    os.environ["NNZOO_TEST_INIT"] = f"init{worker_id}"  # in the worker's own environment
    np.random.random_sample(), nnzoo.rand(1), random.random()


def test_worker_info_seeds_and_init_fn_as_pytorch():
    from torch.utils.data._utils.worker import _generate_state
    assert get_worker_info() is None  # the main process
    rows = [{k: v.item() if isinstance(v, nnzoo.Tensor) else v for k, v in b.items()}
            for b in DataLoader(Seeds(), batch_size=None, num_workers=2, worker_init_fn=_init)]
    assert [r["id"] for r in rows] == [0, 1, 0, 1]  # round robin
    base = {r["seed"] - r["id"] for r in rows}
    assert len(base) == 1  # seed = base_seed + worker_id
    base = base.pop()
    for r in rows[:2]:  # the first item of each worker: the draws right after worker_init_fn's
        wid = r["id"]
        assert r["num_workers"] == 2 and r["same"] and r["init"] == f"init{wid}"
        np_rng = np.random.RandomState(_generate_state(base, wid))  # PyTorch's NumPy seed
        py_rng = random.Random(base + wid)
        nnzoo.manual_seed(base + wid)
        expect_np, expect_py, expect_nz = (np_rng.random_sample(), np_rng.random_sample()), \
            (py_rng.random(), py_rng.random()), (nnzoo.rand(1).item(), nnzoo.rand(1).item())
        assert (r["np"], r["py"], r["nnzoo"]) == (expect_np[1], expect_py[1], expect_nz[1])
    with pytest.raises(dataclass_error()):
        get_worker_info_copy().id = 3


def dataclass_error():
    import dataclasses
    return dataclasses.FrozenInstanceError


def get_worker_info_copy():
    return _worker.WorkerInfo(id=0, num_workers=1, seed=0, dataset=None)


def _sharded(lib, shard):
    class Stream(lib.utils.data.IterableDataset):
        def __iter__(self):
            info = lib.utils.data.get_worker_info()
            if info is None or not shard:
                return iter(range(11))
            return iter(range(info.id, 11, info.num_workers))

    loader = lib.utils.data.DataLoader(Stream(), batch_size=2, num_workers=2)
    return [b.tolist() for b in loader]


@pytest.mark.parametrize("shard", [True, False], ids=["sharded", "copied"])
def test_iterable_dataset_in_workers_like_torch(shard):
    assert _sharded(nnzoo, shard) == _sharded(torch, shard)


class Fails(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"item {i} is broken")
        return i


def test_worker_exception_surfaces_with_its_traceback():
    with pytest.raises(ValueError) as info:
        list(DataLoader(Fails(), batch_size=2, num_workers=2))
    msg = str(info.value)
    assert msg.startswith("Caught ValueError in DataLoader worker process 0.\nOriginal Traceback (most recent call")
    assert "item 5 is broken" in msg and "__getitem__" in msg


class Dies(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3 and get_worker_info() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


def test_killed_worker_is_detected_without_hanging():
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(DataLoader(Dies(), batch_size=2, num_workers=2))
    assert time.perf_counter() - t0 < 10


class Slow(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(3 if i == 1 else 0)
        return i


def test_timeout():
    it = iter(DataLoader(Slow(), batch_size=None, num_workers=1, timeout=0.5))
    assert next(it) == 0
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0\.5 seconds"):
        next(it)
    it._shutdown_workers()


class Pids(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return i, os.getpid()


def test_persistent_workers_are_reused_and_a_pass_can_be_abandoned():
    loader = DataLoader(Pids(), batch_size=2, num_workers=2, persistent_workers=True)
    first = list(loader)
    it = iter(loader)
    next(it)  # abandon this pass after one batch
    second = list(loader)
    assert [b[0].tolist() for b in first] == [b[0].tolist() for b in second] == [[0, 1], [2, 3], [4, 5]]
    pids = {p for b in first + second for p in b[1].tolist()}
    assert len(pids) == 2 and os.getpid() not in pids
    workers = loader._iterator._workers
    assert all(w.is_alive() for w in workers)
    del loader, it
    for w in workers:
        w.join(timeout=5)
    assert not any(w.is_alive() for w in workers)
    other = list(DataLoader(Pids(), batch_size=2, num_workers=2))  # not persistent: new workers
    assert not pids & {p for b in other for p in b[1].tolist()}


def test_workers_stop_and_shared_files_are_freed():
    ds = TensorDataset(nnzoo.ones(64, 100))
    it = iter(DataLoader(ds, batch_size=8, num_workers=2, prefetch_factor=3))
    assert it._tasks_outstanding == 6  # prefetch_factor * num_workers batches asked for ahead
    next(it)
    workers, prefix = it._workers, it._shm_prefix
    time.sleep(0.2)  # the prefetched batches wait in shared memory
    del it
    assert not any(w.is_alive() for w in workers)
    if os.path.isdir("/dev/shm"):
        assert not [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]
    it = iter(DataLoader(ds, batch_size=8, num_workers=2))
    batches = list(it)
    assert len(batches) == 8 and not any(w.is_alive() for w in it._workers)


def test_a_batch_that_does_not_pickle_raises_instead_of_hanging():
    loader = DataLoader(list(range(4)), batch_size=2, num_workers=1, collate_fn=lambda b: (b, lambda: None))
    with pytest.raises(Exception, match=r"(?s)Caught \w+ in DataLoader worker process 0\..*pickle"):
        list(loader)
