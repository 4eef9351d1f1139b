"""nnzoo.multiprocessing: Tensor.share_memory_/is_shared, Module.share_memory, tensors crossing processes in
shared memory under fork and spawn (Hogwild: a child's optimizer steps seen by the parent, checked against the
same steps in PyTorch), spawn/start_processes and their errors, and a spawned child under ``nnzoo run``."""
import copy
import multiprocessing
import operator
import os
import pickle
import subprocess
import sys
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest
import torch
import torch.multiprocessing as torch_mp

import nnzoo
import nnzoo.multiprocessing as mp
from nnzoo import nn

fork_only = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
_FAST_START = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def test_the_surface_is_torch_multiprocessing():
    assert nnzoo.multiprocessing is mp
    missing = [name for name in torch_mp.__all__ if not hasattr(mp, name)]
    assert missing == []
    assert mp.get_all_sharing_strategies() == torch_mp.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() == torch_mp.get_sharing_strategy()
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    mp.set_sharing_strategy("file_descriptor")
    with pytest.raises(AssertionError):
        mp.set_sharing_strategy("bogus")
    assert mp.cpu_count() == os.cpu_count() and mp.get_start_method() in mp.get_all_start_methods()


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "bfloat16"])
def test_share_memory_keeps_values_dtype_shape(dtype):
    base = nnzoo.arange(12.0).reshape(3, 4).t()   # not contiguous
    t = base.to(getattr(nnzoo, dtype))
    want, vc = t.numpy().copy(), t._version
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared() and t.is_contiguous()
    assert t.dtype == getattr(nnzoo, dtype) and tuple(t.shape) == want.shape
    np.testing.assert_array_equal(t.numpy(), want)
    assert t._version == vc
    arr = t.numpy()
    assert t.share_memory_().numpy() is arr   # already shared: nothing moves
    assert t[1:].is_shared() and t.detach().is_shared()


def test_share_memory_of_empty_and_0d():
    assert nnzoo.zeros(0, 3).share_memory_().is_shared()
    t = nnzoo.tensor(2.5).share_memory_()
    assert t.is_shared() and t.item() == 2.5 and t.dim() == 0


def test_module_share_memory_moves_parameters_buffers_and_grads():
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    m(nnzoo.randn(4, 3)).sum().backward()
    params = list(m.parameters())
    values = [p.detach().numpy().copy() for p in params]
    assert m.share_memory() is m
    assert list(m.parameters()) == params   # the same Parameter objects (an optimizer keeps them)
    assert all(p.is_shared() and p.grad.is_shared() for p in params)
    assert all(b.is_shared() for b in m.buffers())
    for p, v in zip(params, values):
        np.testing.assert_array_equal(p.detach().numpy(), v)


def test_plain_pickle_still_refuses_tensors_and_non_leaves_are_refused():
    with pytest.raises(TypeError):
        pickle.dumps(nnzoo.ones(2))
    x = nnzoo.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Cowardly refusing"):
        ForkingPickler.dumps(x)


def test_forking_pickler_round_trip_shares_memory():
    p = nn.Parameter(nnzoo.arange(6.0).reshape(2, 3))
    q = pickle.loads(ForkingPickler.dumps(p[:, 1:].detach()))   # a view: its offset and strides travel
    np.testing.assert_array_equal(q.numpy(), [[1.0, 2.0], [4.0, 5.0]])
    r = pickle.loads(ForkingPickler.dumps(p))
    assert type(r) is nn.Parameter and r.requires_grad and p.is_shared() and r.is_shared()
    with nnzoo.no_grad():
        r.mul_(10)
    np.testing.assert_array_equal(p.detach().numpy(), 10 * np.arange(6.0).reshape(2, 3))


def _sgd_steps(model, x, y, steps, lr):
    opt = nnzoo.optim.SGD(model.parameters(), lr=lr, momentum=0.5)
    for _ in range(steps):
        opt.zero_grad()
        nnzoo.nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def _torch_reference(model, x, y, steps, lr):
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    opt = torch.optim.SGD(ref.parameters(), lr=lr, momentum=0.5)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(ref(torch.from_numpy(x.numpy())), torch.from_numpy(y.numpy())).backward()
        opt.step()
    return ref.state_dict()


@fork_only
def test_hogwild_fork_child_steps_are_seen_by_the_parent():
    nnzoo.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double().share_memory()
    x, y = nnzoo.randn(16, 4, dtype=nnzoo.float64), nnzoo.randn(16, 2, dtype=nnzoo.float64)
    want = _torch_reference(copy.deepcopy(model), x, y, steps=5, lr=0.1)
    p = mp.get_context("fork").Process(target=_sgd_steps, args=(model, x, y, 5, 0.1))
    p.start()
    p.join()
    assert p.exitcode == 0
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(value.numpy(), want[name].numpy(), rtol=1e-10, atol=1e-12)


@fork_only
def test_fork_without_share_memory_trains_a_copy():
    model = nn.Linear(3, 1).double()
    before = model.weight.detach().numpy().copy()
    x, y = nnzoo.ones(4, 3, dtype=nnzoo.float64), nnzoo.zeros(4, 1, dtype=nnzoo.float64)
    p = mp.get_context("fork").Process(target=_sgd_steps, args=(model, x, y, 3, 0.1))
    p.start()
    p.join()
    assert p.exitcode == 0
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)


def test_spawn_child_writes_into_the_parents_tensor():
    """Under "spawn" the arguments are pickled: the tensor's descriptor travels, so the memory is shared."""
    ctx = mp.get_context("spawn")
    t, p = nnzoo.zeros(3), nn.Parameter(nnzoo.ones(2), requires_grad=False)
    procs = [ctx.Process(target=nnzoo.Tensor.fill_, args=(t, 7.0)),
             ctx.Process(target=nnzoo.Tensor.mul_, args=(p, 3.0))]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    assert [proc.exitcode for proc in procs] == [0, 0]
    assert t.is_shared() and t.tolist() == [7.0, 7.0, 7.0]
    assert p.tolist() == [3.0, 3.0]


@fork_only
def test_queue_sends_shared_tensors_both_ways():
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    t = nnzoo.arange(4.0)
    p = ctx.Process(target=_add_from_queue, args=(q,))
    p.start()
    q.put(t)
    p.join()
    assert p.exitcode == 0 and t.tolist() == [10.0, 11.0, 12.0, 13.0]


def _add_from_queue(q):
    x = q.get()
    x += 10


def test_spawn_runs_fn_with_the_index_and_args():
    assert mp.spawn(operator.add, args=(1,), nprocs=2) is None
    ctx = mp.start_processes(operator.add, args=(1,), nprocs=2, join=False, start_method=_FAST_START)
    assert isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 2
    while not ctx.join():
        pass


def test_spawn_raises_the_childs_exception():
    with pytest.raises(mp.ProcessRaisedException, match="ZeroDivisionError") as info:
        mp.spawn(operator.truediv, args=(0,), nprocs=2)
    assert info.value.error_index in (0, 1)


def test_spawn_reports_an_exit_code():
    with pytest.raises(mp.ProcessExitedException, match="exit code 1") as info:
        mp.spawn(os._exit, nprocs=2)   # process i exits with code i
    assert info.value.error_index == 1 and info.value.exit_code == 1


def test_spawn_warns_for_other_start_methods():
    with pytest.warns(FutureWarning, match="only supports start_method=spawn"):
        mp.spawn(operator.add, args=(1,), nprocs=1, start_method="forkserver" if _FAST_START == "spawn" else "fork")


HOGWILD = """\
import torch
import torch.nn as nn
import torch.multiprocessing as mp


def train(model, steps):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3)
    for _ in range(steps):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()


if __name__ == "__main__":
    mp.set_start_method("spawn", force=True)
    torch.manual_seed(0)
    model = nn.Linear(3, 1).double()
    model.share_memory()
    print("before", model.weight.tolist(), model.bias.tolist())
    p = mp.Process(target=train, args=(model, 5))
    p.start()
    p.join()
    print("exitcode", p.exitcode)
    print("after", model.weight.tolist(), model.bias.tolist())
"""


def test_nnzoo_run_hogwild_with_spawn(tmp_path):
    """The spawned child re-runs the program (``import torch``) with torch mapped to nnzoo, and trains the
    parent's model: the parent sees the weights of 5 SGD steps, computed here again by PyTorch."""
    (tmp_path / "hogwild.py").write_text(HOGWILD)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "nnzoo", "run", "hogwild.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in done.stdout.splitlines()}
    assert lines["exitcode"] == "0"
    w0, b0 = (torch.tensor(v, dtype=torch.float64) for v in eval(lines["before"].replace("] [", "], [")))
    ref = torch.nn.Linear(3, 1).double()
    with torch.no_grad():
        ref.weight.copy_(w0)
        ref.bias.copy_(b0)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    x = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3)
    for _ in range(5):
        opt.zero_grad()
        ref(x).pow(2).mean().backward()
        opt.step()
    w, b = eval(lines["after"].replace("] [", "], ["))
    np.testing.assert_allclose(w, ref.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, ref.bias.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert not np.allclose(w, w0.numpy())
