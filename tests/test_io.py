"""Checkpoints: nnzoo.io.save / nnzoo.io.load in the safetensors format (PyTorch's .pt format: test_pt_files.py).

Round trips of flat and nested objects, interop both ways with ``safetensors.torch`` and real torch
tensors, atomic writes (an injected failure and a real SIGKILL in the middle of a save), clear errors on
damaged files, and torch-style ``map_location``. Expected values come from the saved objects themselves
or from torch / safetensors reading the same file.

Integrity: every byte of a checkpoint flipped in turn (and a few hundred random flips) gives a
CheckpointError or the identical content, never changed values; damaged tensor data names the tensor;
deep nesting on both sides; files that are neither safetensors nor torch.save's (torch.jit.save, a plain
pickle, an .npz) get a message saying what they are, and a pickle payload in any file is never run.
"""
import hashlib
import io as pyio
import json
import math
import os
import pathlib
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
import safetensors
import safetensors.numpy
import safetensors.torch
import torch

import nnzoo
import nnzoo.io

REPO = pathlib.Path(__file__).resolve().parents[1]
ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _rand(shape, dtype, seed=0):
    """A NumPy array of ``dtype`` with varied values (incl. negatives, nan/inf for floats)."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("float"):
        a = rng.standard_normal(shape).astype(dtype)
        if a.size >= 3:
            a.flat[:3] = [np.nan, np.inf, -np.inf]
        return a
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def assert_same_obj(got, want, path="obj"):
    """``got`` equals ``want`` exactly: same container types, same dict key types and order, tensors with
    the same dtype/shape/values (nan == nan), floats bit-for-bit (sign of zero, nan)."""
    if isinstance(want, nnzoo.Tensor):
        assert type(got) is nnzoo.Tensor, f"{path}: {type(got)}"
        assert got.dtype is want.dtype, f"{path}: dtype {got.dtype} != {want.dtype}"
        assert tuple(got.shape) == tuple(want.shape), f"{path}: shape {tuple(got.shape)} != {tuple(want.shape)}"
        np.testing.assert_array_equal(got.numpy(), want.detach().numpy(), err_msg=path)
        assert not got.requires_grad and got.is_leaf
        return
    assert type(got) is type(want), f"{path}: type {type(got)} != {type(want)}"
    if isinstance(want, dict):
        assert [(type(k), k) for k in got] == [(type(k), k) for k in want], f"{path}: keys differ"
        for k in want:
            assert_same_obj(got[k], want[k], f"{path}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{path}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same_obj(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        same_sign = math.copysign(1, got) == math.copysign(1, want)
        assert (math.isnan(got) and math.isnan(want)) or (got == want and same_sign), f"{path}: {got!r} != {want!r}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def _optimizer_like():
    """The shape of an Adam state_dict: int keys, tensors and ints in the state, lists/tuples/None/floats
    /strings/bools in the param groups."""
    return {
        "state": {
            0: {"step": nnzoo.tensor(3.0), "exp_avg": nnzoo.randn(4, 3), "exp_avg_sq": nnzoo.rand(4, 3)},
            1: {"step": nnzoo.tensor(3.0), "exp_avg": nnzoo.randn(3), "exp_avg_sq": nnzoo.rand(3)},
            5: {"momentum_buffer": None, "step": 7},
        },
        "param_groups": [
            {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
             "maximize": False, "foreach": None, "params": [0, 1]},
            {"lr": 0.1, "betas": (0.5, 0.75), "eps": 1e-6, "weight_decay": -0.0, "amsgrad": True,
             "maximize": False, "foreach": None, "params": [5], "name": "head", "nan": float("nan"),
             "inf": float("inf"), "ninf": -float("inf"), "big": 2 ** 70},
        ],
    }


# ---- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_flat_roundtrip_every_dtype(tmp_path, dtype):
    sd = {"w": nnzoo.tensor(_rand((5, 4), dtype)), "scalar": nnzoo.tensor(_rand((), dtype)),
          "empty": nnzoo.tensor(_rand((0, 3), dtype)), "v": nnzoo.tensor(_rand((7,), dtype, seed=1))}
    nnzoo.io.save(sd, tmp_path / "sd.safetensors")
    got = nnzoo.io.load(tmp_path / "sd.safetensors")
    assert_same_obj(got, sd)
    got["w"].add_(1) if dtype != "bool" else got["w"].fill_(True)  # loaded tensors own writable memory
    np.testing.assert_array_equal(sd["w"].numpy(), _rand((5, 4), dtype))


def test_flat_state_dict_keeps_key_order_and_str_paths(tmp_path):
    sd = {"layers.1.weight": nnzoo.randn(2, 2), "layers.0.weight": nnzoo.randn(2, 2),
          "bn.num_batches_tracked": nnzoo.tensor(4), "a": nnzoo.ones(1)}
    for path in (str(tmp_path / "a.safetensors"), tmp_path / "b.safetensors"):  # str and PathLike
        nnzoo.io.save(sd, path)
        assert_same_obj(nnzoo.io.load(path), sd)


def test_nested_optimizer_like_roundtrip(tmp_path):
    osd = _optimizer_like()
    obj = {"model": {"fc.weight": nnzoo.randn(3, 4), "fc.bias": nnzoo.zeros(3)}, "optimizer": osd,
           "epoch": 3, "best": 0.25, "tag": "run-1", "done": False, "nothing": None,
           "history": [1.5, 2, (3, "x"), [], {}, ()], (1, "tuple-key"): "tk", 2.5: "float-key", None: 0,
           True: "bool-key", "np": {"f": np.float64(0.5), "i": np.int32(7), "b": np.bool_(True)}}
    nnzoo.io.save(obj, tmp_path / "ckpt.safetensors")
    got = nnzoo.io.load(tmp_path / "ckpt.safetensors")
    want = dict(obj, np={"f": 0.5, "i": 7, "b": True})  # NumPy scalars come back as Python scalars
    assert_same_obj(got, want)
    assert isinstance(got["optimizer"]["state"][0]["step"], nnzoo.Tensor)
    assert list(got["optimizer"]["state"]) == [0, 1, 5]


def test_top_level_tensor_list_and_numpy_arrays(tmp_path):
    t = nnzoo.arange(6).reshape(2, 3)
    nnzoo.io.save(t, tmp_path / "t.st")
    assert_same_obj(nnzoo.io.load(tmp_path / "t.st"), t)
    objs = [t, (t, 1), nnzoo.tensor(2.0)]
    nnzoo.io.save(objs, tmp_path / "l.st")
    assert_same_obj(nnzoo.io.load(tmp_path / "l.st"), objs)
    arr = np.arange(4, dtype=np.int16)
    nnzoo.io.save({"a": arr}, tmp_path / "n.st")  # NumPy arrays are saved like tensors
    assert_same_obj(nnzoo.io.load(tmp_path / "n.st"), {"a": nnzoo.tensor(arr)})


class _NamedBytes(pyio.BytesIO):
    """An in-memory file named like a safetensors file (a nameless BytesIO gets torch's format)."""
    name = "in-memory.safetensors"


def test_file_objects(tmp_path):
    obj = {"model": {"w": nnzoo.randn(2, 3)}, "step": 4}
    buf = _NamedBytes()
    nnzoo.io.save(obj, buf)
    assert not zipfile.is_zipfile(pyio.BytesIO(buf.getvalue()))  # safetensors
    buf.seek(0)
    assert_same_obj(nnzoo.io.load(buf), obj)
    nameless = pyio.BytesIO()  # torch.save(obj, buffer): torch's zip format
    nnzoo.io.save(obj, nameless)
    assert zipfile.is_zipfile(pyio.BytesIO(nameless.getvalue()))
    nameless.seek(0)
    assert_same_obj(nnzoo.io.load(nameless), obj)
    with open(tmp_path / "f.st", "wb") as fh:
        nnzoo.io.save(obj, fh)
    with open(tmp_path / "f.st", "rb") as fh:
        assert_same_obj(nnzoo.io.load(fh), obj)


def test_non_contiguous_tensors_saved_by_value(tmp_path):
    base = nnzoo.arange(24, dtype=nnzoo.float64).reshape(4, 6)
    views = {"t": base.t(), "step": base[:, ::2], "block": base[1:3, 2:5],
             "expanded": base[1:2].expand(3, 6),
             "col": base[:, 1]}
    assert not any(v.is_contiguous() for v in views.values())
    nnzoo.io.save(views, tmp_path / "v.st")
    got = nnzoo.io.load(tmp_path / "v.st")
    assert_same_obj(got, views)
    assert all(g.is_contiguous() for g in got.values())


def test_shared_tensors_are_saved_as_copies(tmp_path):
    # Documented: aliasing is not preserved (safetensors has no views); each occurrence is a copy.
    w = nnzoo.randn(3, 3)
    obj = {"a": w, "b": w, "view": w[0], "nested": {"again": w}}
    nnzoo.io.save(obj, tmp_path / "s.st")
    got = nnzoo.io.load(tmp_path / "s.st")
    assert_same_obj(got, obj)
    got["a"].zero_()
    np.testing.assert_array_equal(got["b"].numpy(), w.numpy())
    np.testing.assert_array_equal(got["view"].numpy(), w.numpy()[0])


def test_parameters_and_grad_tensors_saved_as_plain_data(tmp_path):
    w = nnzoo.randn(2, 2, requires_grad=True)
    y = w * 2
    nnzoo.io.save({"w": w, "y": y}, tmp_path / "g.st")
    got = nnzoo.io.load(tmp_path / "g.st")
    np.testing.assert_array_equal(got["w"].numpy(), w.detach().numpy())
    np.testing.assert_array_equal(got["y"].numpy(), y.detach().numpy())
    assert not got["w"].requires_grad and got["y"].grad_fn is None


def test_path_name_collisions_get_unique_tensor_names(tmp_path):
    obj = {"a.b": nnzoo.ones(1), "a": {"b": nnzoo.zeros(1)}, "__metadata__": nnzoo.full((1,), 2.0)}
    nnzoo.io.save(obj, tmp_path / "c.st")
    assert_same_obj(nnzoo.io.load(tmp_path / "c.st"), obj)


# ---- interop with PyTorch -----------------------------------------------------------------------
def _torch_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(),
                               torch.nn.Linear(5, 3))


def test_torch_safetensors_file_loads_into_nnzoo(tmp_path):
    model = _torch_model()
    model.train()(torch.randn(8, 4))  # move the BatchNorm running stats away from their init
    sd = model.state_dict()
    extra = {"u8": torch.arange(5, dtype=torch.uint8), "i8": torch.tensor([-3, 4], dtype=torch.int8),
             "i16": torch.tensor([-300], dtype=torch.int16), "i32": torch.tensor(7, dtype=torch.int32),
             "f16": torch.randn(3).half(), "f64": torch.randn(2, 2).double(), "b": torch.tensor([True, False])}
    safetensors.torch.save_file({**{k: v.contiguous() for k, v in sd.items()}, **extra},
                                tmp_path / "torch.safetensors")
    got = nnzoo.io.load(tmp_path / "torch.safetensors")
    want = {**sd, **extra}
    assert sorted(got) == sorted(want)
    for k, v in want.items():
        assert type(got[k]) is nnzoo.Tensor
        assert str(got[k].dtype).split(".")[-1] == str(v.dtype).split(".")[-1], k
        assert tuple(got[k].shape) == tuple(v.shape), k
        np.testing.assert_array_equal(got[k].numpy(), v.numpy(), err_msg=k)
    # the loaded weights give the torch model's outputs (Linear -> eval BatchNorm -> ReLU -> Linear)
    model.eval()
    x = torch.randn(6, 4)
    want_out = model(x).detach().numpy()
    h = nnzoo.tensor(x.numpy()) @ got["0.weight"].t() + got["0.bias"]
    h = (h - got["1.running_mean"]) / (got["1.running_var"] + 1e-5).sqrt() * got["1.weight"] + got["1.bias"]
    h = h.relu()
    out = h @ got["3.weight"].t() + got["3.bias"]
    np.testing.assert_allclose(out.numpy(), want_out, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_nnzoo_file_reads_in_torch(tmp_path, dtype):
    sd = {"layer.weight": nnzoo.tensor(_rand((3, 2), dtype)), "layer.bias": nnzoo.tensor(_rand((2,), dtype)),
          "count": nnzoo.tensor(_rand((), dtype)), "tr": nnzoo.tensor(_rand((2, 3), dtype)).t()}
    nnzoo.io.save(sd, tmp_path / "n.safetensors")
    got = safetensors.torch.load_file(tmp_path / "n.safetensors")
    assert sorted(got) == sorted(sd)
    for k, v in sd.items():
        assert str(got[k].dtype).split(".")[-1] == dtype
        np.testing.assert_array_equal(got[k].numpy(), v.numpy(), err_msg=k)


def test_nnzoo_state_dict_loads_into_torch_model(tmp_path):
    model = _torch_model()
    ours = {k: nnzoo.tensor(np.random.default_rng(1).standard_normal(tuple(v.shape)).astype(v.numpy().dtype))
            if v.is_floating_point() else nnzoo.tensor(v.numpy() + 3) for k, v in model.state_dict().items()}
    nnzoo.io.save(ours, tmp_path / "m.safetensors")
    ours["1.running_var"] = ours["1.running_var"].abs()
    nnzoo.io.save(ours, tmp_path / "m.safetensors")  # overwrite: the second save replaces the first
    model.load_state_dict(safetensors.torch.load_file(tmp_path / "m.safetensors"), strict=True)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), ours[k].numpy(), err_msg=k)
    # metadata is what safetensors.torch writes, plus our structure
    with safetensors.safe_open(tmp_path / "m.safetensors", framework="pt") as f:
        assert f.metadata()["format"] == "pt" and "nnzoo" in f.metadata()


def test_nested_checkpoint_tensor_names_readable_by_torch(tmp_path):
    obj = {"model": {"fc.weight": nnzoo.randn(2, 2)}, "optimizer": _optimizer_like(), "epoch": 1}
    nnzoo.io.save(obj, tmp_path / "ckpt.st")
    got = safetensors.torch.load_file(tmp_path / "ckpt.st")
    np.testing.assert_array_equal(got["model.fc.weight"].numpy(), obj["model"]["fc.weight"].numpy())
    np.testing.assert_array_equal(got["optimizer.state.0.exp_avg"].numpy(),
                                  obj["optimizer"]["state"][0]["exp_avg"].numpy())


# ---- atomic writes ------------------------------------------------------------------------------
def _only(tmp_path, *names):
    assert sorted(os.listdir(tmp_path)) == sorted(names), f"stray files: {os.listdir(tmp_path)}"


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_mid_write_keeps_old_file_and_removes_temp(tmp_path, monkeypatch, exc):
    old = {"w": nnzoo.zeros(3), "epoch": 1}
    nnzoo.io.save(old, tmp_path / "ckpt.st")
    real = safetensors.numpy.save_file

    def half_then_fail(tensors, filename, metadata=None):
        real(tensors, filename, metadata=metadata)  # the temp file is written ...
        with open(filename, "r+b") as fh:  # ... partly (as if cut off) ...
            fh.truncate(os.path.getsize(filename) // 2)
        assert os.path.dirname(os.path.abspath(filename)) == str(tmp_path)  # ... next to the target
        raise exc  # ... and the write dies

    monkeypatch.setattr(safetensors.numpy, "save_file", half_then_fail)
    with pytest.raises(type(exc)):
        nnzoo.io.save({"w": nnzoo.ones(1000), "epoch": 2}, tmp_path / "ckpt.st")
    assert_same_obj(nnzoo.io.load(tmp_path / "ckpt.st"), old)
    _only(tmp_path, "ckpt.st")


def test_failure_in_fsync_or_replace_keeps_old_file(tmp_path, monkeypatch):
    old = {"w": nnzoo.zeros(3)}
    nnzoo.io.save(old, tmp_path / "ckpt.st")
    for name in ("fsync", "replace"):
        with monkeypatch.context() as m:
            def boom(*a, _name=name, **k):
                raise OSError(f"injected {_name} failure")
            m.setattr(nnzoo.io.os, name, boom)
            with pytest.raises(OSError, match="injected"):
                nnzoo.io.save({"w": nnzoo.ones(3)}, tmp_path / "ckpt.st")
        assert_same_obj(nnzoo.io.load(tmp_path / "ckpt.st"), old)
        _only(tmp_path, "ckpt.st")


def test_unsaveable_object_fails_before_touching_files(tmp_path):
    nnzoo.io.save({"w": nnzoo.zeros(3)}, tmp_path / "ckpt.st")
    before = (tmp_path / "ckpt.st").read_bytes()
    with pytest.raises(TypeError, match=r"nnzoo.save: cannot save an object of type object .*obj\['opt'\]\[0\]"):
        nnzoo.io.save({"w": nnzoo.ones(3), "opt": [object()]}, tmp_path / "ckpt.st")
    with pytest.raises(TypeError, match="type set"):
        nnzoo.io.save({"s": {1, 2}}, tmp_path / "ckpt.st")
    with pytest.raises(TypeError, match="dict key"):
        nnzoo.io.save({(nnzoo.ones(1),): 1}, tmp_path / "ckpt.st")
    cyc = {"a": []}
    cyc["a"].append(cyc)
    with pytest.raises(ValueError, match="cycle"):
        nnzoo.io.save(cyc, tmp_path / "ckpt.st")
    assert (tmp_path / "ckpt.st").read_bytes() == before
    _only(tmp_path, "ckpt.st")


def test_saved_file_has_normal_permissions(tmp_path):
    nnzoo.io.save({"w": nnzoo.zeros(1)}, tmp_path / "p.st")
    with open(tmp_path / "ref", "w"):
        pass
    assert os.stat(tmp_path / "p.st").st_mode & 0o777 == os.stat(tmp_path / "ref").st_mode & 0o777


_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import nnzoo, nnzoo.io
    big = {f"layer{i}.weight": nnzoo.tensor(np.full((1000, 5000), i, dtype=np.float32)) for i in range(10)}
    big["epoch"] = 2  # 10 x 20 MB = 200 MB
    print("ready", flush=True)
    nnzoo.io.save(big, sys.argv[1])
    print("done", flush=True)
""")


def _size(entry):
    try:
        return entry.stat().st_size
    except FileNotFoundError:  # renamed in the meantime
        return 0


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_save_kill_load(tmp_path):
    """A process SIGKILLed in the middle of saving a 200 MB checkpoint leaves the old one loadable."""
    target = tmp_path / "ckpt.safetensors"
    old = {"layer0.weight": nnzoo.randn(4, 4), "epoch": 1}
    nnzoo.io.save(old, target)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    killed_mid_write = 0
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(target)], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and proc.poll() is None:
                if any(e.name.endswith(".tmp") and _size(e) > 0 for e in os.scandir(tmp_path)):
                    proc.send_signal(signal.SIGKILL)  # as soon as bytes reach the temporary file
                    break
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        got = nnzoo.io.load(target)  # never damaged, whatever the moment of the kill
        stray = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        if proc.returncode == -signal.SIGKILL and stray:
            killed_mid_write += 1
            assert_same_obj(got, old)  # the rename had not happened: the old checkpoint, intact
            assert stray[0].startswith(".ckpt.safetensors.")
            for n in stray:
                os.unlink(tmp_path / n)
            break
        assert got["epoch"] == 2  # the save completed before the kill: the new checkpoint, complete
        np.testing.assert_array_equal(got["layer9.weight"].numpy(), np.full((1000, 5000), 9, np.float32))
        nnzoo.io.save(old, target)
    assert killed_mid_write, "could not interrupt a 200 MB save in 3 attempts"
    _only(tmp_path, "ckpt.safetensors")


# ---- damaged files and errors -------------------------------------------------------------------
def _good_bytes():
    buf = _NamedBytes()
    nnzoo.io.save({"model": {"w": nnzoo.randn(8, 8)}, "epoch": 3}, buf)
    return buf.getvalue()


@pytest.mark.parametrize("cut", [0, 3, 8, 20, "header-1", "end-1", "half"])
def test_truncated_file_raises_clear_error(tmp_path, cut):
    data = _good_bytes()
    n = int.from_bytes(data[:8], "little")
    cut = {"header-1": 8 + n - 1, "end-1": len(data) - 1, "half": len(data) // 2}.get(cut, cut)
    (tmp_path / "ckpt.safetensors").write_bytes(data[:cut])
    with pytest.raises(RuntimeError, match=r"nnzoo.load: '.*ckpt.safetensors' is not a valid nnzoo/safetensors "
                                           r"checkpoint \(.+\)"):
        nnzoo.io.load(tmp_path / "ckpt.safetensors")
    with pytest.raises(RuntimeError, match="not a valid nnzoo/safetensors checkpoint"):
        nnzoo.io.load(pyio.BytesIO(data[:cut]))


@pytest.mark.parametrize("content", [b"hello, this is not a checkpoint" * 10, b"\x00" * 64,
                                     b"\x10\x00\x00\x00\x00\x00\x00\x00{not json!!!!!!}",
                                     b"\x08\x00\x00\x00\x00\x00\x00\x00[1,2,3] ",
                                     b"PK\x03\x04" + b"\x00" * 100])  # the start of a torch.save zip
def test_garbage_file_raises_clear_error(tmp_path, content):
    (tmp_path / "junk.pt").write_bytes(content)
    with pytest.raises(RuntimeError, match=r"nnzoo.load: '.*junk.pt' is not a valid nnzoo/safetensors checkpoint"):
        nnzoo.io.load(tmp_path / "junk.pt")




def test_damaged_nnzoo_metadata(tmp_path):
    arrays = {"w": np.ones(2, np.float32)}
    for bad in ["{", '{"version": 99, "obj": null}', '{"version": 1, "obj": {"T": "missing"}}',
                '{"version": 1, "obj": {"Q": 1}}', '{"version": 1}', "[1]"]:
        safetensors.numpy.save_file(arrays, tmp_path / "m.st", metadata={"nnzoo": bad})
        with pytest.raises(RuntimeError, match=r"nnzoo.load: '.*m.st' has damaged nnzoo metadata"):
            nnzoo.io.load(tmp_path / "m.st")


def test_unsupported_dtype_and_missing_file(tmp_path):
    safetensors.torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, tmp_path / "bf16.st")
    with pytest.raises(TypeError, match=r"nnzoo.load: '.*bf16.st': tensor 'w' has the safetensors dtype 'BF16'"):
        nnzoo.io.load(tmp_path / "bf16.st")
    with pytest.raises(FileNotFoundError):
        nnzoo.io.load(tmp_path / "nope.st")


def test_map_location_and_weights_only(tmp_path):
    sd = {"w": nnzoo.randn(2)}
    nnzoo.io.save(sd, tmp_path / "w.st")
    for ok in (None, "cpu", torch.device("cpu")):
        assert_same_obj(nnzoo.io.load(tmp_path / "w.st", map_location=ok), sd)
    assert_same_obj(nnzoo.io.load(tmp_path / "w.st", "cpu", weights_only=False), sd)
    assert_same_obj(nnzoo.io.load(tmp_path / "w.st", weights_only=True, mmap=True), sd)
    for bad in ("cuda", "cuda:0", torch.device("cuda:1"), {"cuda:0": "cpu"}, lambda s, loc: s):
        with pytest.raises(RuntimeError, match=r"nnzoo\.load: map_location=.* is not supported"):
            nnzoo.io.load(tmp_path / "w.st", map_location=bad)


# ---- integrity: digests -------------------------------------------------------------------------
def _header(data):
    """The safetensors header of ``data`` (parsed here, independently of nnzoo.io) and where data starts."""
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]), 8 + n


def _mixed_checkpoint():
    """A small nested checkpoint with tensors of several dtypes and sizes (one empty)."""
    def t(shape, dtype, seed=0):
        return nnzoo.tensor(_rand(shape, dtype, seed))

    return {"model": {"fc.weight": t((3, 4), "float32"), "fc.bias": t((3,), "float64"),
                      "bn.num_batches_tracked": nnzoo.tensor(np.int64(12)), "empty": nnzoo.zeros(0, 2)},
            "optimizer": {"state": {0: {"step": nnzoo.tensor(3.0), "exp_avg": t((3, 4), "float16", 1)}},
                          "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0]}]},
            "mask": t((5,), "bool", 2), "codes": t((4,), "uint8", 3),
            "epoch": 3, "best": 0.25, "tag": "run-1"}


def _saved(obj):
    buf = _NamedBytes()
    nnzoo.io.save(obj, buf)
    return buf.getvalue()


def test_format_v2_records_sha256_of_each_tensor_and_of_the_metadata(tmp_path):
    obj = _mixed_checkpoint()
    nnzoo.io.save(obj, tmp_path / "c.st")
    data = (tmp_path / "c.st").read_bytes()
    header, start = _header(data)
    meta = header["__metadata__"]
    assert meta["format"] == "pt"
    assert meta["nnzoo_sha256"] == hashlib.sha256(meta["nnzoo"].encode()).hexdigest()
    doc = json.loads(meta["nnzoo"])
    assert doc["version"] == 2
    from_torch = safetensors.torch.load_file(tmp_path / "c.st")  # still an ordinary safetensors file
    assert sorted(doc["tensors"]) == sorted(from_torch) == sorted(k for k in header if k != "__metadata__")
    for name, rec in doc["tensors"].items():
        begin, end = header[name]["data_offsets"]
        assert rec == {"dtype": header[name]["dtype"], "shape": header[name]["shape"],
                       "sha256": hashlib.sha256(data[start + begin:start + end]).hexdigest()}
        assert rec["sha256"] == hashlib.sha256(from_torch[name].numpy().tobytes()).hexdigest()
    assert_same_obj(nnzoo.io.load(tmp_path / "c.st"), obj)


def _flip(data, pos, mask):
    out = bytearray(data)
    out[pos] ^= mask
    return bytes(out)


def test_flipped_byte_in_each_tensor_names_the_tensor(tmp_path):
    obj = _mixed_checkpoint()
    data = _saved(obj)
    header, start = _header(data)
    tensors = {k: v["data_offsets"] for k, v in header.items() if k != "__metadata__"}
    assert sum(end - begin for begin, end in tensors.values()) == len(data) - start  # no gaps between them
    checked = 0
    for name, (begin, end) in tensors.items():
        for pos in {start + begin, start + (begin + end) // 2, start + end - 1} if end > begin else ():
            bad = _flip(data, pos, 0x01)
            (tmp_path / "bad.st").write_bytes(bad)
            for src in (tmp_path / "bad.st", pyio.BytesIO(bad)):
                with pytest.raises(nnzoo.io.CheckpointError,
                                   match=rf"nnzoo.load: '[^']*(bad.st|<file object>)' is damaged: the data of "
                                         rf"tensor '{name}' does not match the SHA-256 digest"):
                    nnzoo.io.load(src)
            checked += 1
            # verify=False skips exactly this check: the changed bytes load (the documented trade-off)
            assert isinstance(nnzoo.io.load(tmp_path / "bad.st", verify=False), dict)
            assert safetensors.numpy.load(bad)[name].tobytes() != safetensors.numpy.load(data)[name].tobytes()
    assert checked >= 3 * (len(tensors) - 1)


def test_threaded_hashing_gives_the_same_digests(tmp_path, monkeypatch):
    """Large checkpoints are hashed on several threads (here forced on a small one): same digests, same
    tensor named when its data is damaged."""
    obj = {f"w{i}": nnzoo.tensor(_rand((50, 40 + i), "float32", seed=i)) for i in range(6)}
    serial = _saved(obj)
    monkeypatch.setattr(nnzoo.io, "_THREADED_HASH_BYTES", 0)
    monkeypatch.setattr(nnzoo.io.os, "cpu_count", lambda: 4)
    assert _header(_saved(obj)) == _header(serial)  # (not the bytes: safetensors orders metadata by hash)
    header, start = _header(serial)
    begin, end = header["w3"]["data_offsets"]
    with pytest.raises(nnzoo.io.CheckpointError, match="tensor 'w3' does not match"):
        nnzoo.io.load(pyio.BytesIO(_flip(serial, start + (begin + end) // 2, 0x10)))
    assert_same_obj(nnzoo.io.load(pyio.BytesIO(serial)), obj)


def test_every_byte_flipped_loads_identical_or_raises(tmp_path):
    """Each byte of a checkpoint flipped in turn (a seeded random nonzero XOR per position, and the top bit):
    the load either raises CheckpointError naming the file or gives exactly the saved object. A flip may
    only go unnoticed in the header outside what nnzoo reads: JSON whitespace padding, the "format" entry
    (a few of the ~5,000 flips, e.g. "format" -> "fo*mat", "pt" -> "nt", a padding space -> tab)."""
    obj = _mixed_checkpoint()
    data = _saved(obj)
    header, start = _header(data)
    rng = np.random.default_rng(13)
    unnoticed = []
    path = tmp_path / "flip.st"
    for pos in range(len(data)):
        for mask in (int(rng.integers(1, 256)), 0x80):
            bad = _flip(data, pos, mask)
            path.write_bytes(bad)
            try:
                got = nnzoo.io.load(path)
            except nnzoo.io.CheckpointError as e:
                assert str(e).startswith(f"nnzoo.load: {str(path)!r} "), str(e)
                continue
            assert_same_obj(got, obj)  # never changed values
            unnoticed.append((pos, mask))
    assert all(pos < start for pos, _ in unnoticed), "a flip in tensor data went unnoticed"
    # what went unnoticed left every part nnzoo reads as it was: a whitespace change or the "format" entry
    kept = {k: v for k, v in header.items() if k != "__metadata__"}
    kept.update({k: header["__metadata__"][k] for k in ("nnzoo", "nnzoo_sha256")})
    for pos, mask in unnoticed:
        new, _ = _header(_flip(data, pos, mask))
        assert kept == {k: (new[k] if k in new else new["__metadata__"][k]) for k in kept}, (pos, mask)


def test_random_flips_through_file_objects():
    obj = _mixed_checkpoint()
    data = _saved(obj)
    _, start = _header(data)
    rng = np.random.default_rng(2024)
    refused = 0
    for _ in range(300):
        pos, mask = int(rng.integers(0, len(data))), int(rng.integers(1, 256))
        try:
            got = nnzoo.io.load(pyio.BytesIO(_flip(data, pos, mask)))
        except nnzoo.io.CheckpointError as e:
            assert str(e).startswith("nnzoo.load: '<file object>' ")
            refused += 1
            continue
        assert pos < start
        assert_same_obj(got, obj)
    assert refused >= 250


def _rewrite_header(data, old, new):
    """``data`` with ``old`` replaced by ``new`` (same length) in its header, once."""
    _, start = _header(data)
    head = data[:start]
    assert len(old) == len(new) and head.count(old) == 1, (old, head)
    return head.replace(old, new) + data[start:]


def test_consistent_but_changed_header_is_refused(tmp_path):
    """Edits that safetensors itself accepts (same byte sizes) but that would change what loads."""
    obj = {"model": {"w": nnzoo.tensor(_rand((2, 6), "float32")), "v": nnzoo.ones(3)}, "epoch": 3}
    data = _saved(obj)
    cases = {  # edit -> what the message says
        (b'"dtype":"F32","shape":[2,6]', b'"dtype":"I32","shape":[2,6]'): r"tensor 'model.w' the dtype I32",
        (b'"shape":[2,6]', b'"shape":[6,2]'): r"tensor 'model.w' the dtype F32 and shape \(6, 2\)",
        (b'"model.w":{', b'"model.x":{'): r"missing: 'model.w'; not saved: 'model.x'",
        (b'[\\"epoch\\",3]', b'[\\"epoch\\",7]'): r"damaged nnzoo metadata \(it does not match its SHA-256",
        (b'"nnzoo_sha256"', b'"nnzoo_sha257"'): r"damaged nnzoo metadata \(version 2 without its digest",
        (b'"nnzoo":', b'"nnzoa":'): r"damaged nnzoo metadata \('nnzoo_sha256' is there but 'nnzoo' is missing",
    }
    for (old, new), msg in cases.items():
        bad = _rewrite_header(data, old, new)
        (tmp_path / "h.st").write_bytes(bad)
        safetensors.numpy.load(bad)  # safetensors alone would load it
        for verify in (True, False):  # header checks run even without the data digests
            with pytest.raises(nnzoo.io.CheckpointError, match=rf"nnzoo.load: '.*h.st' .*{msg}"):
                nnzoo.io.load(tmp_path / "h.st", verify=verify)


def test_version_1_and_plain_safetensors_files_still_load(tmp_path):
    """Files without digests: nnzoo format 1 (as the previous nnzoo wrote them) and plain safetensors."""
    w = _rand((2, 3), "float32")
    v1 = json.dumps({"version": 1, "obj": {"D": [["model", {"D": [["w", {"T": "model.w"}]]}], ["epoch", 3],
                                                 ["t", {"U": [1, {"F": "nan"}]}]]}}, separators=(",", ":"))
    safetensors.numpy.save_file({"model.w": w}, tmp_path / "v1.st", metadata={"format": "pt", "nnzoo": v1})
    got = nnzoo.io.load(tmp_path / "v1.st")
    assert_same_obj(got, {"model": {"w": nnzoo.tensor(w)}, "epoch": 3, "t": (1, float("nan"))})
    safetensors.torch.save_file({"a": torch.ones(2), "b": torch.zeros(1)}, tmp_path / "plain.st")
    assert_same_obj(nnzoo.io.load(tmp_path / "plain.st"), {"a": nnzoo.ones(2), "b": nnzoo.zeros(1)})
    safetensors.numpy.save_file({"a": np.ones(2, np.float32)}, tmp_path / "v3.st",
                                metadata={"nnzoo": '{"version":3,"obj":null}'})
    with pytest.raises(nnzoo.io.CheckpointError, match=r"unknown nnzoo checkpoint version 3; this nnzoo reads "):
        nnzoo.io.load(tmp_path / "v3.st")


# ---- deep nesting -------------------------------------------------------------------------------
def _nested(depth, leaf, kind):
    obj = leaf
    for _ in range(depth):
        obj = {"k": obj} if kind == "dict" else [obj] if kind == "list" else (obj,)
    return obj


@pytest.mark.parametrize("kind", ["dict", "list", "tuple"])
def test_save_and_load_at_the_depth_limit(tmp_path, kind):
    obj = _nested(100, nnzoo.ones(2), kind)
    nnzoo.io.save(obj, tmp_path / "d.st")
    assert_same_obj(nnzoo.io.load(tmp_path / "d.st"), obj)


@pytest.mark.parametrize("depth", [101, 100_000])
def test_save_too_deep_says_the_depth(tmp_path, depth):
    with pytest.raises(ValueError, match=r"nnzoo.save: obj is nested more than 100 levels deep .*at obj\['k'\]"):
        nnzoo.io.save(_nested(depth, 1, "dict"), tmp_path / "d.st")
    with pytest.raises(ValueError, match="nested more than 100 levels"):  # also through dict keys
        nnzoo.io.save({_nested(depth, 1, "tuple"): 1}, tmp_path / "d.st")
    assert not os.listdir(tmp_path)


def _crafted(path, nnzoo_text, digest=True):
    meta = {"format": "pt", "nnzoo": nnzoo_text}
    if digest:
        meta["nnzoo_sha256"] = hashlib.sha256(nnzoo_text.encode()).hexdigest()
    safetensors.numpy.save_file({"w": np.ones(1, np.float32)}, path, metadata=meta)


@pytest.mark.parametrize("digest", [True, False])
@pytest.mark.parametrize("depth", [150, 100_000])
def test_load_deeply_nested_metadata_names_the_file(tmp_path, depth, digest):
    version = 2 if digest else 1
    sha = hashlib.sha256(np.ones(1, np.float32).tobytes()).hexdigest()
    rec = ',"tensors":{"w":{"dtype":"F32","shape":[1],"sha256":"' + sha + '"}}' if digest else ""
    text = '{"version":' + str(version) + ',"obj":' + '{"L":[' * depth + '{"T":"w"}' + ']}' * depth + rec + "}"
    _crafted(tmp_path / "deep.st", text, digest)
    with pytest.raises(nnzoo.io.CheckpointError,
                       match=r"nnzoo.load: '.*deep.st' has damaged nnzoo metadata \(.*nested "
                             r"(more than 100 levels|too deeply)"):
        nnzoo.io.load(tmp_path / "deep.st")


def test_load_deeply_nested_header_names_the_file(tmp_path):
    body = b'{"__metadata__":{"x":"y"},"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    (tmp_path / "deep.st").write_bytes(len(body).to_bytes(8, "little") + body)
    with pytest.raises(nnzoo.io.CheckpointError,
                       match=r"nnzoo.load: '.*deep.st' is not a valid .*nested too deeply"):
        nnzoo.io.load(tmp_path / "deep.st")


def test_malformed_header_entries_are_checkpoint_errors(tmp_path):
    for entry in ('{"dtype":["F32"],"shape":[1],"data_offsets":[0,4]}', '{"shape":[1],"data_offsets":[0,4]}',
                  '{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}', '[1]',
                  '{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}'):
        body = ('{"w":' + entry + '}').encode()
        (tmp_path / "m.st").write_bytes(len(body).to_bytes(8, "little") + body + b"\x00" * 4)
        with pytest.raises(nnzoo.io.CheckpointError, match=r"nnzoo.load: '.*m.st' is not a valid .*tensor 'w'"):
            nnzoo.io.load(tmp_path / "m.st")
    body = b'{"__metadata__":{"nnzoo":1}}'
    (tmp_path / "m.st").write_bytes(len(body).to_bytes(8, "little") + body)
    with pytest.raises(nnzoo.io.CheckpointError, match="__metadata__ is not a map of strings"):
        nnzoo.io.load(tmp_path / "m.st")


# ---- PyTorch's own files ------------------------------------------------------------------------
def _torch_files(tmp_path):
    """File name -> (what the message says it is, what it says to do), each file written in ``tmp_path`` by
    PyTorch itself (or pickle / NumPy). torch.save's own files load (tests/test_pt_files.py)."""
    model = torch.nn.Linear(3, 2)
    torch.jit.save(torch.jit.script(model), tmp_path / "script.pt")
    with open(tmp_path / "plain.pkl", "wb") as fh:
        pickle.dump({"w": [1.0, 2.0]}, fh, protocol=4)
    np.savez(tmp_path / "arrays.npz", w=np.ones(2))
    return {"script.pt": (r"is a TorchScript archive \(torch.jit.save",
                          r"torch.jit.load\('[^']*script.pt'\).state_dict\(\), 'script.safetensors'\)"),
            "plain.pkl": (r"is a Python pickle file, not a safetensors checkpoint; nnzoo never unpickles", ""),
            "arrays.npz": (r"is a zip archive \(not one of torch.save: no data.pkl\)", "")}


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_pytorch_files_say_what_they_are(tmp_path):
    for name, (what, todo) in _torch_files(tmp_path).items():
        stem = os.path.splitext(name)[0]
        todo = todo.format(stem=stem)
        with pytest.raises(nnzoo.io.CheckpointError, match=rf"^nnzoo.load: '[^']*{name}' {what}.*{todo}"):
            nnzoo.io.load(tmp_path / name)
        with open(tmp_path / name, "rb") as fh:  # a file object with a name
            with pytest.raises(nnzoo.io.CheckpointError, match=rf"^nnzoo.load: '[^']*{name}' {what}"):
                nnzoo.io.load(fh)
        with pytest.raises(nnzoo.io.CheckpointError, match=rf"^nnzoo.load: '<file object>' {what}"):
            nnzoo.io.load(pyio.BytesIO((tmp_path / name).read_bytes()))


class _Payload:
    """Unpickling this creates the directory ``marker``: proof that a file was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_loading_never_unpickles(tmp_path):
    marker = tmp_path / "RAN"
    payload = {"w": torch.ones(2), "boom": _Payload(marker)}
    torch.save(payload, tmp_path / "zip.pt")
    torch.save(payload, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with open(tmp_path / "raw.pkl", "wb") as fh:
        pickle.dump(_Payload(marker), fh)
    for name in ("zip.pt", "legacy.pt", "raw.pkl"):
        with pytest.raises(nnzoo.io.CheckpointError):
            nnzoo.io.load(tmp_path / name)
        with pytest.raises(nnzoo.io.CheckpointError):
            nnzoo.io.load(pyio.BytesIO((tmp_path / name).read_bytes()))
    assert not marker.exists()
    with open(tmp_path / "raw.pkl", "rb") as fh:  # the payload is live: unpickling does run it
        pickle.load(fh)
    assert marker.is_dir()
