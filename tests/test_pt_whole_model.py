"""Whole models saved by real PyTorch (``torch.save(model, "m.pt")``) loading in nnzoo.

With ``weights_only=False`` (the user's consent to run code, as in PyTorch) PyTorch's classes in the pickle
become nnzoo's (``torch.nn.modules.linear.Linear`` -> ``nnzoo.nn.Linear``), their ``__dict__`` rebuilt, and
the model gives torch's outputs; the user's own class comes from the program (``__main__`` under ``nnzoo
run``: here a stand-in module holding the nnzoo twin of the torch class). With the default
``weights_only=True`` such a file is refused with torch's kind of message, unless the classes are marked safe.
Every file here is written by the installed torch in the test; expected outputs are torch's own.
"""
import io as pyio
import pickle
import subprocess
import sys
import textwrap
import types
import warnings
import zipfile

import numpy as np
import pytest
import torch

import nnzoo
import nnzoo.io
from nnzoo.serialization import torch_modules

USER_MODULE = "nnzoo_test_user_models"  # where the pickle finds the user's class (a program's __main__)


def _user_class(lib):
    """The user's model, written once for both libraries: a CNN with BatchNorm (buffers) and a ReLU."""
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.nn.Conv2d(3, 4, 3, padding=1)
            self.bn = lib.nn.BatchNorm2d(4)
            self.fc = lib.nn.Linear(4 * 5 * 5, 3)
            self.scale = 0.5  # a plain attribute of the user's own

        def forward(self, x):
            x = lib.relu(self.bn(self.conv(x)))
            return self.fc(x.flatten(1)) * self.scale

    Net.__module__, Net.__qualname__ = USER_MODULE, "Net"
    return Net


@pytest.fixture
def user_module(monkeypatch):
    """The user's class, importable under USER_MODULE: torch's while saving, nnzoo's while loading."""
    mod = types.ModuleType(USER_MODULE)
    monkeypatch.setitem(sys.modules, USER_MODULE, mod)
    return mod


def _torch_models():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    lstm = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True)
    return mlp, lstm


def _save(obj, path):
    torch.save(obj, path)
    return path


def _same(got, want, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=atol)


def test_torch_saved_mlp_cnn_and_lstm_load_and_give_torchs_outputs(tmp_path, user_module):
    mlp, lstm = _torch_models()
    user_module.Net = _user_class(torch)
    cnn = user_module.Net()
    cnn.train()(torch.randn(6, 3, 5, 5))  # running statistics that differ from the initial ones
    cnn.eval()
    paths = {name: _save(m, tmp_path / f"{name}.pt") for name, m in (("mlp", mlp), ("cnn", cnn), ("lstm", lstm))}

    user_module.Net = _user_class(nnzoo)  # what the program defines when it loads (nnzoo run: torch is nnzoo)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to drop: the models have no hooks
        got = {name: nnzoo.load(p, weights_only=False) for name, p in paths.items()}
    assert type(got["mlp"]) is nnzoo.nn.Sequential and repr(got["mlp"]) == repr(mlp)
    assert type(got["lstm"]) is nnzoo.nn.LSTM and repr(got["lstm"]) == repr(lstm)
    assert type(got["cnn"]) is user_module.Net and got["cnn"].scale == 0.5 and not got["cnn"].training
    for name, model in (("mlp", mlp), ("cnn", cnn), ("lstm", lstm)):
        want, back = model.state_dict(), got[name].state_dict()
        assert list(back) == list(want), name
        for k in want:  # bit for bit, buffers (running_mean, num_batches_tracked) included
            assert back[k].numpy().tobytes() == want[k].numpy().tobytes() and back[k].dtype.name == \
                str(want[k].dtype).removeprefix("torch."), (name, k)
        assert all(type(p) is nnzoo.nn.Parameter and p.requires_grad for p in got[name].parameters()), name

    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    _same(got["mlp"](nnzoo.tensor(x)), mlp(torch.tensor(x)))
    img = np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(np.float32)
    _same(got["cnn"](nnzoo.tensor(img)), cnn(torch.tensor(img)))  # eval: BatchNorm uses the loaded buffers
    seq = np.random.default_rng(2).standard_normal((2, 7, 3)).astype(np.float32)
    (out, (h, c)), (tout, (th, tc)) = got["lstm"](nnzoo.tensor(seq)), lstm(torch.tensor(seq))
    for a, b in ((out, tout), (h, th), (c, tc)):
        _same(a, b)
    # the loaded model trains: gradients reach the loaded parameters
    got["cnn"].train()
    got["cnn"](nnzoo.tensor(img)).sum().backward()
    assert got["cnn"].conv.weight.grad is not None and got["cnn"].bn.running_mean is not None


def test_weights_only_refuses_a_torch_model_with_torchs_kind_of_message(tmp_path):
    mlp, _ = _torch_models()
    path = _save(mlp, tmp_path / "mlp.pt")
    with pytest.raises(nnzoo.io.WeightsOnlyError) as err:
        nnzoo.load(path)
    msg = str(err.value)
    assert isinstance(err.value, pickle.UnpicklingError)
    assert "its pickle names torch.nn.modules.container.Sequential, which weights_only loading does not allow" \
        in msg
    assert "nnzoo.nn.container.Sequential with weights_only=False" in msg and "add_safe_globals" in msg
    assert "only if you trust the file" in msg
    # torch says the same kind of thing for the same file
    with pytest.raises(pickle.UnpicklingError, match="weights_only"):
        torch.load(path, weights_only=True)


def test_weights_only_loads_a_torch_model_whose_classes_are_marked_safe(tmp_path):
    mlp, lstm = _torch_models()
    paths = [_save(mlp, tmp_path / "mlp.pt"), _save(lstm, tmp_path / "lstm.pt")]
    unsafe = nnzoo.serialization.get_unsafe_globals_in_checkpoint(paths[0])
    assert unsafe == ["torch.nn.modules.activation.ReLU", "torch.nn.modules.container.Sequential",
                      "torch.nn.modules.linear.Linear"]
    marked = [nnzoo.nn.Sequential, nnzoo.nn.Linear, nnzoo.nn.ReLU, nnzoo.nn.LSTM]
    with nnzoo.serialization.safe_globals(marked):  # torch.nn.Linear etc. in a program under nnzoo run
        assert nnzoo.serialization.get_unsafe_globals_in_checkpoint(paths[0]) == []
        got_mlp, got_lstm = (nnzoo.load(p) for p in paths)
    with nnzoo.serialization.safe_globals(marked[:2]):  # ReLU not marked: refused, named by torch's name
        with pytest.raises(nnzoo.io.WeightsOnlyError, match=r"torch\.nn\.modules\.activation\.ReLU"):
            nnzoo.load(paths[0])
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    _same(got_mlp(nnzoo.tensor(x)), mlp(torch.tensor(x)))
    seq = np.random.default_rng(1).standard_normal((2, 4, 3)).astype(np.float32)
    _same(got_lstm(nnzoo.tensor(seq))[0], lstm(torch.tensor(seq))[0])


def test_a_torch_class_nnzoo_lacks_is_refused_by_name(tmp_path):
    path = _save(torch.nn.Sequential(torch.nn.EmbeddingBag(10, 3)), tmp_path / "bag.pt")
    if torch_modules.resolve("torch.nn.modules.sparse", "EmbeddingBag") is not None:
        pytest.skip("nnzoo has EmbeddingBag now: pick another class it lacks")
    with pytest.raises(TypeError, match=r"torch\.nn\.modules\.sparse\.EmbeddingBag\) that nnzoo has no "
                                        r"equivalent for"):
        nnzoo.load(path, weights_only=False)


def test_full_backward_hooks_survive_loading(tmp_path):
    model = torch.nn.Linear(2, 2)
    model.register_full_backward_hook(print)  # a builtin: picklable by name
    got = nnzoo.load(_save(model, tmp_path / "hooked.pt"), weights_only=False)
    assert list(got._backward_hooks.values()) == [print] and got._is_full_backward_hook is True


def test_hooks_nnzoo_lacks_are_dropped_with_a_warning(tmp_path):
    model = torch.nn.Linear(2, 2)
    model._register_state_dict_hook(print)
    path = _save(model, tmp_path / "hooked.pt")
    with pytest.warns(UserWarning, match="_state_dict_hooks"):
        got = nnzoo.load(path, weights_only=False)
    assert type(got) is nnzoo.nn.Linear and not hasattr(got, "_state_dict_hooks")


def test_resolve_walks_the_name_under_nnzoo():
    assert torch_modules.resolve("torch.nn.modules.rnn", "LSTM") is nnzoo.nn.LSTM
    assert torch_modules.resolve("torch.nn.modules.batchnorm", "BatchNorm2d") is nnzoo.nn.BatchNorm2d
    assert torch_modules.resolve("torch.nn.functional", "relu") is nnzoo.nn.functional.relu
    assert torch_modules.resolve("torch._C._nn", "gelu") is nnzoo.nn.functional.gelu  # F.gelu pickles so
    assert torch_modules.resolve("torch", "float32") is nnzoo.float32
    assert torch_modules.resolve("torch.nn.modules.sparse", "NoSuchLayer") is None
    assert torch_modules.resolve("os", "system") is None and torch_modules.resolve("torch.__main__", "x") is None


@pytest.mark.parametrize("name", ["Linear", "Conv1d", "Conv2d", "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d",
                                  "LayerNorm", "GroupNorm", "Embedding", "LSTM", "GRU", "RNN", "Dropout",
                                  "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "ReLU", "GELU", "Flatten",
                                  "MultiheadAttention", "TransformerEncoderLayer", "Sequential", "ModuleList"])
def test_a_torch_layers_fields_cover_its_nnzoo_namesakes(name):
    """No nnzoo __init__ runs when a torch model loads: the nnzoo layer must need no field torch lacks."""
    args = {"Linear": (3, 4), "Conv1d": (3, 4, 3), "Conv2d": (3, 4, 3), "ConvTranspose2d": (3, 4, 3),
            "BatchNorm1d": (4,), "BatchNorm2d": (4,), "LayerNorm": (4,), "GroupNorm": (2, 4), "Embedding": (10, 4),
            "LSTM": (3, 4), "GRU": (3, 4), "RNN": (3, 4), "MaxPool2d": (2,), "AvgPool2d": (2,),
            "AdaptiveAvgPool2d": (1,), "MultiheadAttention": (8, 2), "TransformerEncoderLayer": (8, 2)}.get(name, ())
    theirs, ours = getattr(torch.nn, name)(*args), getattr(nnzoo.nn, name)(*args)
    cls = type(ours)
    needed = {k for k in ours.__dict__ if not isinstance(getattr(cls, k, None), property)}
    assert needed <= set(theirs.__dict__), sorted(needed - set(theirs.__dict__))


def test_bytesio_round_trip_is_torchs_zip_format():
    buf = pyio.BytesIO()
    nnzoo.save({"w": nnzoo.arange(3.0), "step": 3}, buf)
    assert zipfile.is_zipfile(pyio.BytesIO(buf.getvalue()))
    got = torch.load(pyio.BytesIO(buf.getvalue()), weights_only=True)
    assert torch.equal(got["w"], torch.arange(3.0)) and got["step"] == 3
    back = nnzoo.load(pyio.BytesIO(buf.getvalue()))
    assert np.array_equal(back["w"].numpy(), np.arange(3.0, dtype=np.float32)) and back["step"] == 3


PROGRAM = """
import sys
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3))

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.conv(x))))

x = torch.linspace(-1, 1, 2 * 36).reshape(2, 1, 6, 6)
if sys.argv[1] == "save":
    torch.manual_seed(0)
    model = Net()
    model(x)
    model.eval()
    torch.save(model, "model.pt")
else:
    model = torch.load("model.pt", weights_only=False)
    assert type(model) is Net
with torch.no_grad():
    print(" ".join(f"{v:.6f}" for v in model(x).flatten().tolist()))
"""


def test_a_program_loads_the_model_it_saved_with_real_torch_under_nnzoo_run(tmp_path):
    (tmp_path / "prog.py").write_text(textwrap.dedent(PROGRAM))
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    saved = subprocess.run([sys.executable, "prog.py", "save"], cwd=tmp_path, capture_output=True, text=True,
                           env=env, timeout=300)
    assert saved.returncode == 0, saved.stderr
    loaded = subprocess.run([sys.executable, "-m", "nnzoo", "run", "prog.py", "load"], cwd=tmp_path,
                            capture_output=True, text=True, env={**env, "NNZOO_NO_CORETYPE": "1"}, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    want = [float(v) for v in saved.stdout.split()]
    np.testing.assert_allclose([float(v) for v in loaded.stdout.split()], want, rtol=1e-5, atol=1e-6)
