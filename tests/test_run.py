"""``nnzoo run``: the import hook (torch -> nnzoo, torchvision -> nnzoo.vision), its errors naming missing torch
names, and tutorial-style programs (tests/programs/) run unchanged through the real command."""
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnzoo
from nnzoo.data.datasets.mnist import read_idx, write_idx
from nnzoo.run import MissingTorchModule, MissingTorchName, missing_torch_name, nnzoo_name, run_script, torch_is_nnzoo

PROGRAMS = pathlib.Path(__file__).parent / "programs"
SHARED_FASHION = pathlib.Path("/work/shared/data/fashion-mnist")


def _env():
    return dict(os.environ, NNZOO_NO_CORETYPE="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")


def nnzoo_run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "nnzoo", "run", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env=_env(), timeout=600)


def _script(tmp_path, text, name="prog.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# ---- the hook ---------------------------------------------------------------------------------------------

def test_names_map_to_nnzoo():
    assert nnzoo_name("torch") == "nnzoo"
    assert nnzoo_name("torch.nn.functional") == "nnzoo.nn.functional"
    assert nnzoo_name("torchvision.transforms") == "nnzoo.vision.transforms"
    assert nnzoo_name("torchtext") is None and nnzoo_name("torch_geometric") is None


def test_the_hook_resolves_torch_to_nnzoo_and_puts_the_real_modules_back():
    real = sys.modules.get("torch")
    with torch_is_nnzoo():
        import torch
        import torch.nn.functional as F
        import torchvision.transforms as T
        from torch.utils.data import DataLoader
        assert torch.Tensor is nnzoo.Tensor and F.relu is nnzoo.nn.functional.relu
        assert DataLoader is nnzoo.utils.data.DataLoader and T.ToTensor is nnzoo.vision.transforms.ToTensor
        assert torch.nn is sys.modules["torch.nn"]   # attribute reads and imports give the same alias
        torch.backends.cudnn.benchmark = True         # a flag set by the program stays on the alias
        assert torch.backends.cudnn.benchmark is True
        assert not hasattr(torch, "no_such_function")
    assert sys.modules.get("torch") is real


def test_missing_names_are_named_as_torch_names():
    with torch_is_nnzoo():
        import torch
        with pytest.raises(MissingTorchName, match=r"the program uses torch\.nn\.functional\.no_such_op, which nnzoo"):
            _ = torch.nn.functional.no_such_op
        with pytest.raises(ImportError, match=r"torch\.no_such_module, which nnzoo does not have yet"):
            import torch.no_such_module
        try:   # a program's own fallback still works: the error is an ImportError
            import torch.no_such_module
        except ImportError as e:
            assert isinstance(e, MissingTorchModule) and e.torch_name == "torch.no_such_module"
    assert missing_torch_name(ImportError("cannot import name 'grid_sample' from 'torch.nn.functional' (x)")) \
        == "torch.nn.functional.grid_sample"
    err = None
    try:
        nnzoo.ones(2).no_such_method()
    except AttributeError as e:
        err = e
    assert missing_torch_name(err) == "torch.Tensor.no_such_method"
    assert missing_torch_name(ImportError("cannot import name 'x' from 'numpy'")) is None
    assert missing_torch_name(ValueError("x")) is None


def test_run_script_is_python_script(tmp_path, capsys):
    (tmp_path / "helper_mod.py").write_text("VALUE = 42\n")
    prog = _script(tmp_path, """\
        import sys
        import torch
        import helper_mod
        print(__name__, sys.argv, helper_mod.VALUE, torch.tensor([1.0, 2.0]).sum().item())
        if __name__ == "__main__":
            print("main block")
        """)
    assert run_script(prog, ["--lr", "0.1"]) == 0
    out = capsys.readouterr().out
    assert out == f"__main__ ['{prog}', '--lr', '0.1'] 42 3.0\nmain block\n"


@pytest.mark.parametrize("body, status, line", [
    ("import torch\ntorch.nn.functional.no_such_op(torch.ones(1))\n", 1,
     "nnzoo run: the program uses torch.nn.functional.no_such_op, which nnzoo does not have yet"),
    ("from torch.nn.functional import no_such_op\n", 1,
     "nnzoo run: the program uses torch.nn.functional.no_such_op, which nnzoo does not have yet"),
    ("import torch.no_such_module\n", 1,
     "nnzoo run: the program uses torch.no_such_module, which nnzoo does not have yet"),
    ("import torch\ntorch.ones(2).no_such_method()\n", 1,
     "nnzoo run: the program uses torch.Tensor.no_such_method, which nnzoo does not have yet"),
    ("import sys\nsys.exit(3)\n", 3, None),
    ("import sys\nsys.exit('bye')\n", 1, "bye"),
])
def test_exit_status_and_the_one_line(tmp_path, capsys, body, status, line):
    assert run_script(_script(tmp_path, body), []) == status
    err = capsys.readouterr().err
    if line is not None:
        assert err == line + "\n"


def test_other_errors_print_the_programs_traceback(tmp_path, capsys):
    prog = _script(tmp_path, "import torch\n\ndef f():\n    return 1 / 0\n\nf()\n")
    assert run_script(prog, []) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n  File ") and "nnzoo/run.py" not in err
    assert err.rstrip().endswith("ZeroDivisionError: division by zero")


def test_the_command_line(tmp_path):
    prog = _script(tmp_path, "import sys, torch\nprint(sys.argv[1:], torch.zeros(2).shape)\n")
    done = nnzoo_run(prog.name, "--epochs", "1", "-x", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == "['--epochs', '1', '-x'] nnzoo.Size([2])\n"
    missing = nnzoo_run("no_such_script.py", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == "nnzoo run: can't open file 'no_such_script.py': No such file or directory\n"
    assert nnzoo_run(cwd=tmp_path).returncode == 2
    bad = _script(tmp_path, "import torch\nimport torch.no_such_module\n", "bad.py")
    done = nnzoo_run(bad.name, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == "nnzoo run: the program uses torch.no_such_module, which nnzoo does not have yet\n"


# ---- tutorial-style programs ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fashion_root(tmp_path_factory):
    """A small FashionMNIST in torchvision's layout: the shared copy's first images, or a learnable stand-in."""
    root = tmp_path_factory.mktemp("data")
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 640), ("t10k", 200)):
        images_file, labels_file = f"{split}-images-idx3-ubyte.gz", f"{split}-labels-idx1-ubyte.gz"
        if (SHARED_FASHION / images_file).is_file():
            images, labels = read_idx(SHARED_FASHION / images_file)[:n], read_idx(SHARED_FASHION / labels_file)[:n]
        else:
            labels = rng.integers(0, 10, n).astype(np.uint8)
            images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
            for i, c in enumerate(labels):
                images[i, 2 + 2 * c:4 + 2 * c, 4:24] = 255
        write_idx(raw / images_file, images)
        write_idx(raw / labels_file, labels)
    return root


def _losses(text, pattern=r"loss:? ([0-9.]+)"):
    return [float(v) for v in re.findall(pattern, text)]


def _fell(losses):
    third = max(1, len(losses) // 3)
    return len(losses) >= 2 and np.mean(losses[-third:]) < np.mean(losses[:third])


def test_quickstart(tmp_path, fashion_root):
    done = nnzoo_run(PROGRAMS / "quickstart_fashion.py", "--root", fashion_root, "--epochs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Shape of X [N, C, H, W]: nnzoo.Size([64, 1, 28, 28])" in done.stdout
    assert _fell(_losses(done.stdout)), done.stdout
    assert re.search(r'Predicted: ".+", Actual: ".+"', done.stdout)
    assert float(re.search(r"final accuracy ([0-9.]+)", done.stdout).group(1)) > 0.3


def test_cnn_with_augmentations_amp_and_a_whole_model_save(tmp_path, fashion_root):
    done = nnzoo_run(PROGRAMS / "cnn_augment_amp.py", fashion_root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _fell(_losses(done.stdout)), done.stdout
    assert int(re.search(r"test images: (\d+) %", done.stdout).group(1)) > 30


def test_polynomial_autograd_matches_torch(tmp_path):
    done = nnzoo_run(PROGRAMS / "polynomial_autograd.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    losses = _losses(done.stdout, r"\d+ loss ([0-9.]+)")
    assert len(losses) == 20 and losses[-1] < losses[0]
    # the same program under the real torch: the same data and updates, so the same fit up to float32 rounding
    torch_run = subprocess.run([sys.executable, str(PROGRAMS / "polynomial_autograd.py")], cwd=tmp_path,
                               capture_output=True, text=True, env=_env(), timeout=600)
    ours = float(re.search(r"final loss ([0-9.]+)", done.stdout).group(1))
    theirs_losses = _losses(torch_run.stdout, r"\d+ loss ([0-9.]+)")
    assert theirs_losses[-1] < theirs_losses[0] and ours < theirs_losses[0]


def test_char_lstm(tmp_path):
    done = nnzoo_run(PROGRAMS / "char_lstm.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _fell(_losses(done.stdout, r"loss ([0-9.]+)")), done.stdout
    assert re.search(r"sample: h.{40}\n", done.stdout)


def test_tensorboard_logging_and_onnx_export(tmp_path):
    done = nnzoo_run(PROGRAMS / "export_and_log.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _fell(_losses(done.stdout, r"loss ([0-9.]+)")), done.stdout
    assert "exported True logged True" in done.stdout
    import onnxruntime
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    assert session.run(None, {"x": np.zeros((3, 4), np.float32)})[0].shape == (3, 1)


def test_vision_tour(tmp_path):
    done = nnzoo_run(PROGRAMS / "vision_tour.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "['blue', 'red'] 8", "logits (4, 2)", "grid (3, 70, 70) saved (70, 70)",
        "pretrained: torchvision.models.resnet18"]
