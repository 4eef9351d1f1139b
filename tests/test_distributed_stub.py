"""nnzoo.distributed: the stub of a build without distributed support (issue 22 builds the real one)."""
import pytest

import nnzoo
import nnzoo.distributed as dist
from nnzoo.run import run_script


def test_availability_questions_answer_false():
    assert nnzoo.distributed is dist
    assert dist.is_available() is False and dist.is_initialized() is False
    assert not (dist.is_nccl_available() or dist.is_gloo_available() or dist.is_mpi_available())
    assert dist.group.WORLD is None and dist.GroupMember.WORLD is None
    assert dist.ReduceOp.SUM != dist.ReduceOp.MAX and dist.Backend("GLOO") == dist.Backend.GLOO == "gloo"


def test_torchelastic_launch_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert dist.is_torchelastic_launched() is False
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "1")
    assert dist.is_torchelastic_launched() is True


@pytest.mark.parametrize("name", ["init_process_group", "destroy_process_group", "new_group", "all_reduce",
                                  "barrier", "get_rank", "get_world_size", "broadcast", "all_gather"])
def test_calls_raise_naming_the_missing_backend(name):
    with pytest.raises(RuntimeError, match=rf"torch\.distributed\.{name}: nnzoo has no distributed backend yet "
                                           r"\(issue 22\)"):
        getattr(dist, name)(backend="gloo") if name == "init_process_group" else getattr(dist, name)()


def test_a_program_that_imports_it_and_calls_it_only_under_torchrun(tmp_path, monkeypatch, capsys):
    """nanoGPT's pattern: the names imported at the top, called only when RANK is set."""
    prog = tmp_path / "prog.py"
    prog.write_text(
        "import os\n"
        "import torch\n"
        "import torch.distributed as dist\n"
        "from torch.distributed import init_process_group, destroy_process_group\n"
        "ddp = int(os.environ.get('RANK', -1)) != -1\n"
        "if ddp:\n"
        "    init_process_group(backend='gloo')\n"
        "print('available', dist.is_available(), 'initialized', dist.is_initialized())\n"
        "if ddp:\n"
        "    destroy_process_group()\n")
    monkeypatch.delenv("RANK", raising=False)
    assert run_script(prog) == 0
    assert "available False initialized False" in capsys.readouterr().out
    monkeypatch.setenv("RANK", "0")
    assert run_script(prog) == 1
    assert "nnzoo has no distributed backend yet (issue 22)" in capsys.readouterr().err
