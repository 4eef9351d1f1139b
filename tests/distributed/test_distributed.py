"""nnzoo.distributed over MPI and DistributedDataParallel: the checks that need several processes run
``tests/distributed/mpi_program.py`` under ``mpirun -np 2`` (and 3) in a subprocess with a timeout; the
expectations (NumPy references, one process on the concatenated batches, PyTorch's sampler) are computed inside
that program. Skipped, saying why, where mpirun or mpi4py is missing."""
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

import nnzoo
import nnzoo.distributed as dist
from nnzoo import nn
from nnzoo.run import run_script

HERE = pathlib.Path(__file__).parent
PROGRAM = HERE / "mpi_program.py"
ROOT = HERE.parent.parent


def _mpirun():
    found = pathlib.Path(sys.executable).parent / "mpirun"
    return str(found) if found.exists() else shutil.which("mpirun")


needs_mpi = pytest.mark.skipif(
    _mpirun() is None or importlib.util.find_spec("mpi4py") is None,
    reason="needs mpirun and mpi4py (pip install 'nnzoo[distributed]': mpi4py and the MPICH wheel)")


def mpirun(n, *args, timeout=120):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    launcher = [] if n is None else [_mpirun(), "-np", str(n)]  # None: plain python, no launcher
    proc = subprocess.run([*launcher, sys.executable, str(PROGRAM), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)
    return proc, time.perf_counter() - start


def result_of(proc):
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT "):])


# ---- one process: the API without a launcher -----------------------------------------------------------
def test_import_nnzoo_does_not_import_mpi4py():
    code = "import sys, nnzoo, nnzoo.distributed, nnzoo.nn.parallel; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("backend", ["nccl", "gloo", "cpu:gloo,cuda:nccl", "ucc"])
def test_other_backends_say_what_nnzoo_offers(backend):
    with pytest.raises(ValueError, match=r"not available in nnzoo; nnzoo.distributed offers the 'mpi' backend only.*"
                                         r"mpirun -np N"):
        dist.init_process_group(backend)
    assert not dist.is_initialized()


def test_names_before_init_group():
    assert dist.is_available() is (importlib.util.find_spec("mpi4py") is not None)
    assert not dist.is_nccl_available() and not dist.is_gloo_available()
    assert dist.group.WORLD is None and dist.GroupMember.WORLD is None and not dist.is_initialized()
    assert dist.ReduceOp.SUM != dist.ReduceOp.MAX and dist.Backend("MPI") == dist.Backend.MPI == "mpi"
    for call in (dist.get_rank, dist.get_world_size, dist.barrier, lambda: dist.all_reduce(nnzoo.ones(1))):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))


def test_torchelastic_launch_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert dist.is_torchelastic_launched() is False
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "1")
    assert dist.is_torchelastic_launched() is True


def test_a_program_that_calls_it_only_under_a_launcher(tmp_path, monkeypatch, capsys):
    """nanoGPT's pattern: the names imported at the top, init_process_group called only when RANK is set."""
    prog = tmp_path / "prog.py"
    prog.write_text(
        "import os\n"
        "import torch.distributed as dist\n"
        "from torch.distributed import init_process_group, destroy_process_group\n"
        "ddp = int(os.environ.get('RANK', -1)) != -1\n"
        "if ddp:\n"
        "    init_process_group(backend='nccl')\n"
        "print('initialized', dist.is_initialized())\n")
    monkeypatch.delenv("RANK", raising=False)
    assert run_script(prog) == 0
    assert "initialized False" in capsys.readouterr().out
    monkeypatch.setenv("RANK", "0")
    assert run_script(prog) == 1
    assert "nnzoo.distributed offers the 'mpi' backend only" in capsys.readouterr().err


@needs_mpi
def test_one_process_without_launcher_is_a_world_of_one():
    """Started as plain `python`, the job is one process; torchrun's WORLD_SIZE=2 without mpirun is refused."""
    proc, _ = mpirun(None, "checks", "--quick")
    result = result_of(proc)
    assert result["world"] == 1 and result["fails"] == [] and result["mlp64"]["max_diff"] < 1e-10
    code = "import nnzoo.distributed as d; d.init_process_group()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env={**os.environ, "WORLD_SIZE": "2", "RANK": "0"})
    assert out.returncode != 0 and "MPI started this process as rank 0 of 1" in out.stderr
    assert "not started by mpirun" in out.stderr


# ---- several processes -----------------------------------------------------------------------------------
@needs_mpi
def test_two_processes_collectives_ddp_sampler_and_mismatch():
    proc, _ = mpirun(2, "checks")
    r = result_of(proc)
    assert r["world"] == 2
    assert r["fails"] == []  # every collective, reduction and dtype equals NumPy's
    # DDP on 2 x 8 samples = one process on the 16 concatenated (steps 10-19: no_sync accumulation)
    assert r["mlp64"]["max_diff"] < 1e-10 and r["cnn64"]["max_diff"] < 1e-10
    assert r["mlp32"]["max_diff"] < 1e-6
    assert all(r[k]["replica_spread"] == 0 for k in ("mlp64", "mlp32", "cnn64"))
    assert r["mlp64"]["keys"] == ["module.net.1.weight", "module.net.1.bias"]
    assert r["unused"]["ok"], r["unused"]
    assert "find_unused_parameters=True" in r["unused"]["error_without_flag"]
    assert "b.weight" in r["unused"]["error_without_flag"]
    assert "mismatched collective" in r["mismatch"] and "(2, 3)" in r["mismatch"] and "(3, 2)" in r["mismatch"]
    # the Trainer: as one process on the concatenated batches (weights and the logged means), resume exact,
    # files on rank 0 only
    t = r["trainer"]
    assert t["weights_diff"] < 1e-10 and t["log_diff"] < 1e-10 and t["histories_equal"]
    assert t["resume_diff"] == 0.0
    assert t["checkpoint_callbacks"] == [1, 0] and t["files"] == ["best.safetensors", "history.json",
                                                                   "last.safetensors"]


@needs_mpi
def test_nnzoo_train_under_mpirun(tmp_path):
    """`mpirun -np 2 nnzoo train logreg`: rank 0 alone writes the folder; result.json says 2 processes.
    (Resume and the averaged logs are checked on the Trainer above, in one launch.)"""
    nnzoo_cli = pathlib.Path(sys.executable).parent / "nnzoo"
    command = [str(nnzoo_cli)] if nnzoo_cli.exists() else [sys.executable, "-m", "nnzoo"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([_mpirun(), "-np", "2", *command, "train", "logreg", "--set", "epochs=2", "--out",
                           str(tmp_path), "--no-progress"], capture_output=True, text=True, timeout=180, env=env,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["processes"] == 2 and result["epochs"] == 2 and result["test"]["accuracy"] > 0.8
    assert json.loads((tmp_path / "history.json").read_text())["epoch"] == [1, 2]


@needs_mpi
def test_nnzoo_run_nproc_starts_a_torchrun_style_program(tmp_path):
    prog = tmp_path / "ddp.py"
    prog.write_text(
        "import os\n"
        "import torch\n"
        "import torch.distributed as dist\n"
        "from torch.nn.parallel import DistributedDataParallel as DDP\n"
        "assert int(os.environ.get('RANK', -1)) != -1  # torchrun's variables are set\n"
        "dist.init_process_group(backend='mpi')\n"
        "torch.manual_seed(dist.get_rank())\n"
        "model = DDP(torch.nn.Linear(3, 1))\n"
        "model(torch.ones(2, 3) * (dist.get_rank() + 1)).sum().backward()\n"
        "g = model.module.weight.grad[0, 0].item()\n"
        # one string: the ranks share stdout, and print's separate arguments could interleave between them
        "print(' '.join(['rank', os.environ['RANK'], 'of', os.environ['WORLD_SIZE'], 'grad', str(g)]), flush=True)\n"
        "dist.destroy_process_group()\n")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "nnzoo", "run", "--nproc", "2", str(prog)], capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the weight gradient: rank r's 2 rows of (r + 1) sum to 2 (r + 1); averaged over the ranks: (2 + 4) / 2
    assert "rank 0 of 2 grad 3.0" in proc.stdout and "rank 1 of 2 grad 3.0" in proc.stdout, proc.stdout


@needs_mpi
def test_three_processes():
    proc, _ = mpirun(3, "checks", "--quick")
    r = result_of(proc)
    assert r["world"] == 3 and r["fails"] == [] and r["mlp64"]["max_diff"] < 1e-10


@needs_mpi
@pytest.mark.parametrize("mode,message", [
    ("raise", "rank 1 of 2 stopped on an uncaught RuntimeError; aborting every rank"),
    ("kill", "Killed (signal 9)"),
    ("hang", "all_reduce (shape check) on rank 0 of 2 timed out after"),
])
def test_a_failing_rank_ends_the_job(mode, message):
    """A rank that raises, is killed, or never joins: the job ends with an error within seconds, no hang."""
    proc, seconds = mpirun(2, mode, timeout=60)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert seconds < 30
