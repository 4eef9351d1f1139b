"""PyTorch's .pt/.pth files both ways, without torch: nnzoo.load reads what torch.save writes, nnzoo.save
writes what torch.load(weights_only=True) reads.

Every file PyTorch writes here is made in the test by the installed torch (nothing binary is committed);
expected values are torch's own tensors, compared bit for bit. The loads that must work without torch run
in a subprocess where ``import torch`` fails. The files a weights_only load must refuse are crafted here
opcode by opcode, with a payload that would leave a marker directory if it ever ran.
"""
import io as pyio
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import textwrap
import zipfile
from collections import OrderedDict

import ml_dtypes
import numpy as np
import pytest
import torch

import nnzoo
import nnzoo.io
from nnzoo.autograd.arrays import array, wrap
from nnzoo.serialization import torch_types

# ---- helpers ------------------------------------------------------------------------------------------------
NO_TORCH = """
import sys
sys.modules["torch"] = None  # any import of torch now raises ImportError
import nnzoo
try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("torch is importable")
"""


def run_without_torch(code, *args):
    """Run ``code`` in a fresh interpreter in which ``import torch`` fails; ``sys.argv[1:]`` are ``args``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", NO_TORCH + textwrap.dedent(code), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def torch_state_dict_like(module, seed=0):
    """torch tensors with the keys, shapes and dtypes of an nnzoo module's state_dict, random values."""
    g = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    for k, v in module.state_dict().items():
        shape = tuple(v.shape)
        if v.dtype.is_floating_point:
            out[k] = torch.randn(shape, generator=g)
        else:
            out[k] = torch.randint(0, 1000, shape, generator=g, dtype=torch.int64)
    return out


def assert_same_tensor(got, want, where="tensor"):
    """An nnzoo tensor equal bit for bit to a torch tensor: dtype name, shape, bytes, requires_grad."""
    assert isinstance(got, nnzoo.Tensor), f"{where}: {type(got)}"
    assert got.dtype.name == str(want.dtype).removeprefix("torch."), f"{where}: {got.dtype} vs {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), where
    w = want.detach()
    if w.dtype == torch.bfloat16:
        w, g = w.view(torch.int16).numpy(), array(got).view(np.int16)
    else:
        w, g = w.numpy(), array(got)
    assert g.tobytes() == np.ascontiguousarray(w).tobytes(), where
    assert got.requires_grad == want.requires_grad, where


ALL_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
              torch.int16, torch.int8, torch.uint8, torch.bool]


def _varied(dtype, shape=(3, 4), seed=0):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.rand(shape, generator=g) < 0.5
    if dtype.is_floating_point:
        t = (torch.randn(shape, generator=g) * 100).to(dtype)
        t.view(-1)[:3] = torch.tensor([float("nan"), float("inf"), -0.0]).to(dtype)
        return t
    info = torch.iinfo(dtype)
    return torch.randint(info.min, info.max, shape, generator=g, dtype=dtype)


# ---- torch.save -> nnzoo.load, in a process without torch ---------------------------------------------------
def test_torch_files_load_without_torch_bit_identical(tmp_path):
    """ResNet-18's state dict (keys and shapes of nnzoo.zoo.resnet18), an LSTM's and an Adam state dict, written
    by torch.save, load in a process that cannot import torch: same keys, dtypes, shapes and bytes; the
    state dicts load strictly into nnzoo's models, and the LSTM then gives torch's outputs."""
    resnet_sd = torch_state_dict_like(nnzoo.zoo.resnet18(num_classes=10))
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)
    opt = torch.optim.Adam(lstm.parameters(), lr=1e-2)
    x = torch.randn(3, 4, 5)
    lstm(x)[0].square().mean().backward()
    opt.step()
    with torch.no_grad():
        y = lstm(x)[0]
    torch.save(resnet_sd, tmp_path / "resnet18.pth")
    torch.save(lstm.state_dict(), tmp_path / "lstm.pt")
    torch.save(opt.state_dict(), tmp_path / "adam.pt")
    torch.save({"model": lstm.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
               tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    np.savez(tmp_path / "lstm_io.npz", x=x.numpy(), y=y.numpy())

    run_without_torch("""
        import pickle, sys, pathlib
        import numpy as np
        from nnzoo.autograd.arrays import array, wrap
        d = pathlib.Path(sys.argv[1])
        out = {}
        for name in ("resnet18.pth", "lstm.pt", "adam.pt", "legacy.pt"):
            obj = nnzoo.load(d / name)
            def flat(o, prefix):
                if isinstance(o, nnzoo.Tensor):
                    a = array(o)
                    out[prefix] = (o.dtype.name, tuple(o.shape), a.tobytes(), o.requires_grad, type(o).__name__)
                elif isinstance(o, dict):
                    out[prefix + "/<type>"] = type(o).__name__
                    for k, v in o.items():
                        flat(v, f"{prefix}/{k!r}")
                elif isinstance(o, (list, tuple)):
                    for i, v in enumerate(o):
                        flat(v, f"{prefix}/{i}")
                else:
                    out[prefix] = o
            flat(obj, name)
        resnet = nnzoo.zoo.resnet18(num_classes=10)
        resnet.load_state_dict(nnzoo.load(d / "resnet18.pth"), strict=True)
        lstm = nnzoo.nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)
        lstm.load_state_dict(nnzoo.load(d / "lstm.pt"), strict=True)
        io = np.load(d / "lstm_io.npz")
        with nnzoo.no_grad():
            y = lstm(nnzoo.tensor(io["x"]))[0].numpy()
        np.testing.assert_allclose(y, io["y"], rtol=1e-5, atol=1e-6)
        (d / "seen.pkl").write_bytes(pickle.dumps(out))
        """, tmp_path)
    seen = pickle.loads((tmp_path / "seen.pkl").read_bytes())

    def expect(o, prefix, want):
        if isinstance(o, torch.Tensor):
            w = o.detach()
            raw = (w.view(torch.int16).numpy() if w.dtype == torch.bfloat16 else w.numpy()).tobytes()
            want[prefix] = (str(o.dtype).removeprefix("torch."), tuple(o.shape), raw, o.requires_grad, "Tensor")
        elif isinstance(o, dict):
            want[prefix + "/<type>"] = type(o).__name__
            for k, v in o.items():
                expect(v, f"{prefix}/{k!r}", want)
        elif isinstance(o, (list, tuple)):
            for i, v in enumerate(o):
                expect(v, f"{prefix}/{i}", want)
        else:
            want[prefix] = o

    want = {}
    for name in ("resnet18.pth", "lstm.pt", "adam.pt", "legacy.pt"):
        expect(torch.load(tmp_path / name, weights_only=True), name, want)
    assert seen.keys() == want.keys()
    for k in want:
        assert seen[k] == want[k], k
    assert sum(isinstance(v, tuple) and len(v) == 5 for v in want.values()) > 150  # the tensors were compared


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_every_dtype_from_torch(tmp_path, dtype, legacy):
    t = _varied(dtype)
    torch.save({"t": t, "scalar": t[0, 0].clone(), "empty": t[:0]}, tmp_path / "d.pt",
               _use_new_zipfile_serialization=not legacy)
    got = nnzoo.load(tmp_path / "d.pt")
    for k in ("t", "scalar", "empty"):
        want = {"t": t, "scalar": t[0, 0], "empty": t[:0]}[k]
        assert_same_tensor(got[k], want, k)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_views_strides_and_flags_from_torch(tmp_path, legacy):
    base = torch.arange(24.0)
    grid = base.view(4, 6)
    obj = {"base": base, "slice": base[5:11], "t": grid.t(), "col": grid[:, 2], "step": base[1::3],
           "expand": torch.ones(3, 1).expand(3, 5), "param": torch.nn.Parameter(torch.randn(2, 2)),
           "frozen": torch.nn.Parameter(torch.randn(2), requires_grad=False),
           "leaf": torch.randn(3, requires_grad=True), "size": torch.Size([2, 3]), "dtype": torch.bfloat16,
           "device": torch.device("cpu"), "set": {1, 2}, "bytes": b"\x00\xff", "complex": 1 - 2j,
           "od": OrderedDict(a=1), "tuple": (1, 2.5, None, "s", True)}
    torch.save(obj, tmp_path / "v.pt", _use_new_zipfile_serialization=not legacy)
    got = nnzoo.load(tmp_path / "v.pt")
    for k in ("base", "slice", "t", "col", "step", "expand", "leaf"):
        assert_same_tensor(got[k], obj[k], k)
        assert type(got[k]) is nnzoo.Tensor
    for k in ("param", "frozen"):
        assert type(got[k]) is nnzoo.nn.Parameter
        assert_same_tensor(got[k], obj[k], k)
    # views of one storage stay views of one array: a write through one shows in the others
    array(got["base"])[7] = -1.0
    assert got["slice"][2].item() == -1.0 and got["t"][1, 1].item() == -1.0 and got["step"][2].item() == -1.0
    assert got["size"] == nnzoo.Size([2, 3]) and type(got["size"]) is nnzoo.Size
    assert got["dtype"] is nnzoo.bfloat16
    assert got["device"] == nnzoo.device("cpu")
    assert got["set"] == {1, 2} and got["bytes"] == b"\x00\xff" and got["complex"] == 1 - 2j
    assert type(got["od"]) is OrderedDict and got["od"] == OrderedDict(a=1)
    assert got["tuple"] == (1, 2.5, None, "s", True)


def test_numpy_arrays_come_back_as_numpy(tmp_path):
    arrays = {"f": np.arange(6.0).reshape(2, 3), "fortran": np.asfortranarray(np.arange(6).reshape(2, 3)),
              "i32": np.array([1, -2], np.int32), "b": np.array([True]), "be": np.arange(3, dtype=">f4"),
              "score": np.float64(0.25), "n": np.int64(7)}
    torch.save(arrays, tmp_path / "np.pt")
    torch.save(arrays["f"], tmp_path / "one.pt")
    want = torch.load(tmp_path / "np.pt", weights_only=False)  # what torch returns (the big-endian one native)
    for weights_only in (True, False):
        got = nnzoo.load(tmp_path / "np.pt", weights_only=weights_only)
        for k, v in want.items():
            assert type(got[k]) is type(v), k
            np.testing.assert_array_equal(got[k], arrays[k])
            assert got[k].dtype == v.dtype, k
            if isinstance(v, np.ndarray):
                assert got[k].flags.f_contiguous == v.flags.f_contiguous and got[k].flags.writeable, k
        assert type(nnzoo.load(tmp_path / "one.pt")) is np.ndarray
    torch.save({"o": np.array([{"a": 1}], dtype=object)}, tmp_path / "obj.pt")
    with pytest.raises(TypeError, match=r"nnzoo.load: '.*obj.pt' holds a NumPy array or scalar of dtype"):
        nnzoo.load(tmp_path / "obj.pt")


def test_unsupported_dtypes_and_damage(tmp_path):
    torch.save({"c": torch.ones(2, dtype=torch.complex64)}, tmp_path / "c.pt")
    with pytest.raises(TypeError, match=r"nnzoo.load: '.*c.pt' holds a tensor of dtype torch.complex64"):
        nnzoo.load(tmp_path / "c.pt")
    torch.save({"u": torch.ones(2, dtype=torch.uint16)}, tmp_path / "u.pt")  # _rebuild_tensor_v3
    with pytest.raises(TypeError, match=r"torch.uint16, which nnzoo has no dtype for"):
        nnzoo.load(tmp_path / "u.pt")
    torch.save({"w": torch.arange(100.0)}, tmp_path / "w.pt")
    data = bytearray((tmp_path / "w.pt").read_bytes())
    with zipfile.ZipFile(tmp_path / "w.pt") as z:
        info = next(i for i in z.infolist() if i.filename.endswith("/data/0"))  # torch names the folder "w"
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len + 17] ^= 0x10  # one bit of the tensor's data
    (tmp_path / "flip.pt").write_bytes(bytes(data))
    with pytest.raises(nnzoo.io.CheckpointError, match=r"'.*flip.pt' is a damaged PyTorch checkpoint \(the data "
                                                       r"of storage '0' does not match its CRC-32"):
        nnzoo.load(tmp_path / "flip.pt")
    with pytest.raises(nnzoo.io.CheckpointError, match="damaged PyTorch checkpoint"):
        nnzoo.load(pyio.BytesIO(bytes(data)))
    flipped = nnzoo.load(tmp_path / "flip.pt", verify=False)["w"]  # verify=False skips only the CRC
    assert (flipped.numpy() != np.arange(100.0, dtype=np.float32)).sum() == 1
    full = (tmp_path / "w.pt").read_bytes()
    for cut in (40, len(full) // 2, len(full) - 30):
        (tmp_path / "cut.pt").write_bytes(full[:cut])
        with pytest.raises(nnzoo.io.CheckpointError):
            nnzoo.load(tmp_path / "cut.pt")


def test_file_objects(tmp_path):
    sd = torch.nn.Linear(3, 2).state_dict()
    buf = pyio.BytesIO()
    torch.save(sd, buf)
    got = nnzoo.load(pyio.BytesIO(buf.getvalue()))
    for k in sd:
        assert_same_tensor(got[k], sd[k], k)
    with open(tmp_path / "f.pth", "wb") as fh:  # a file object named .pth gets PyTorch's format
        nnzoo.save({"w": nnzoo.ones(2)}, fh)
    assert torch.equal(torch.load(tmp_path / "f.pth", weights_only=True)["w"], torch.ones(2))


# ---- nnzoo.save -> torch.load(weights_only=True) -------------------------------------------------------------
def test_nnzoo_pt_files_load_in_torch_weights_only(tmp_path):
    nnzoo.manual_seed(0)
    resnet = nnzoo.zoo.resnet18(num_classes=10)
    lstm = nnzoo.nn.LSTM(5, 7, num_layers=2, bidirectional=True)
    opt = nnzoo.optim.Adam(lstm.parameters(), lr=1e-2)
    x = nnzoo.randn(4, 3, 5)
    lstm(x)[0].square().mean().backward()
    opt.step()
    base = nnzoo.arange(12.0)
    ckpt = {"resnet": resnet.state_dict(), "lstm": lstm.state_dict(), "optimizer": opt.state_dict(),
            "epoch": 7, "loss": 0.125, "name": "run", "flags": [True, None], "pair": (1, 2.5),
            "base": base, "view": base[2:8].reshape(2, 3), "t": base.reshape(3, 4).t(),
            "param": nnzoo.nn.Parameter(nnzoo.randn(2)), "frozen": nnzoo.nn.Parameter(nnzoo.ones(1), False),
            "leaf": nnzoo.ones(2, requires_grad=True), "size": nnzoo.Size([4, 5]), "dtype": nnzoo.float16,
            "device": nnzoo.device("cpu"), "od": OrderedDict(b=2)}
    ckpt.update({f"dt_{d}": wrap(_varied(d).float().numpy().astype(ml_dtypes.bfloat16)) if d == torch.bfloat16
                 else wrap(_varied(d).numpy()) for d in ALL_DTYPES})
    nnzoo.save(ckpt, tmp_path / "ckpt.pt")
    assert zipfile.is_zipfile(tmp_path / "ckpt.pt")
    got = torch.load(tmp_path / "ckpt.pt", weights_only=True)

    def check(g, w, where):
        if isinstance(w, nnzoo.Tensor):
            assert isinstance(g, torch.Tensor), where
            assert_same_tensor(w, g, where)
            assert isinstance(g, torch.nn.Parameter) == isinstance(w, nnzoo.nn.Parameter), where
        elif isinstance(w, dict):
            assert type(g) is type(w) and list(g) == list(w), where
            for k in w:
                check(g[k], w[k], f"{where}[{k!r}]")
        elif isinstance(w, nnzoo.Size):
            assert type(g) is torch.Size and tuple(g) == tuple(w), where
        elif isinstance(w, (list, tuple)):
            assert type(g) is type(w) and len(g) == len(w), where
            for i, (a, b) in enumerate(zip(g, w)):
                check(a, b, f"{where}[{i}]")
        elif isinstance(w, nnzoo.dtype):
            assert g == getattr(torch, w.name), where
        elif isinstance(w, nnzoo.device):
            assert g == torch.device(str(w)), where
        else:
            assert type(g) is type(w) and g == w, where

    check(got, ckpt, "ckpt")
    # views share one storage in torch too
    assert got["view"].untyped_storage().data_ptr() == got["base"].untyped_storage().data_ptr()
    assert got["t"].stride() == (1, 4) and got["view"].storage_offset() == 2
    # the state dicts load strictly into the torch models and give nnzoo's outputs
    tlstm = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True)
    tlstm.load_state_dict(got["lstm"], strict=True)
    with torch.no_grad(), nnzoo.no_grad():
        np.testing.assert_allclose(tlstm(torch.tensor(x.numpy()))[0].numpy(), lstm(x)[0].numpy(), rtol=1e-5,
                                   atol=1e-6)
    topt = torch.optim.Adam(tlstm.parameters(), lr=1e-2)
    topt.load_state_dict(got["optimizer"])
    # and the file reads back in nnzoo the same
    back = nnzoo.load(tmp_path / "ckpt.pt")
    for k in ("base", "view", "t", "param", "leaf"):
        assert_same_tensor(back[k], got[k], k)
    assert np.shares_memory(array(back["view"]), array(back["base"]))


def test_save_chooses_the_format_by_suffix(tmp_path):
    sd = {"w": nnzoo.ones(2)}
    for name in ("a.pt", "b.pth", "C.PT"):
        nnzoo.save(sd, tmp_path / name)
        assert zipfile.is_zipfile(tmp_path / name), name
    for name in ("a.safetensors", "b.st", "c.ckpt", "d.pth.tar"):
        nnzoo.save(sd, tmp_path / name)
        n = int.from_bytes((tmp_path / name).read_bytes()[:8], "little")
        assert json.loads((tmp_path / name).read_bytes()[8:8 + n])["w"]["dtype"] == "F32", name  # safetensors


# ---- whole objects: saved, loaded only with weights_only=False ----------------------------------------------
def test_whole_module_round_trip(tmp_path):
    nnzoo.manual_seed(0)
    model = nnzoo.nn.Sequential(nnzoo.nn.Conv2d(3, 4, 3), nnzoo.nn.BatchNorm2d(4), nnzoo.nn.ReLU(),
                                nnzoo.nn.Flatten(), nnzoo.nn.Linear(4 * 6 * 6, 2))
    model.train()(nnzoo.randn(2, 3, 8, 8))
    nnzoo.save(model, tmp_path / "model.pt")
    with pytest.raises(nnzoo.io.WeightsOnlyError,
                       match=r"^nnzoo.load: refusing to load '.*model.pt': its pickle names "
                             r"nnzoo\.nn\.\S+\.Sequential, which weights_only loading does not allow .*"
                             r"pass weights_only=False only if you trust the file"):
        nnzoo.load(tmp_path / "model.pt")
    with pytest.raises(pickle.UnpicklingError, match="Sequential"):  # the exception torch.load raises
        torch.load(tmp_path / "model.pt", weights_only=True)
    back = nnzoo.load(tmp_path / "model.pt", weights_only=False)
    assert type(back) is type(model) and repr(back) == repr(model)
    for (k, a), (k2, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert k == k2 and np.array_equal(a.numpy(), b.numpy())
    assert all(type(p) is nnzoo.nn.Parameter and p.requires_grad for p in back.parameters())
    x = nnzoo.randn(3, 3, 8, 8)
    model.eval()
    back.eval()
    np.testing.assert_array_equal(back(x).detach().numpy(), model(x).detach().numpy())


# ---- refusing everything else --------------------------------------------------------------------------------
def _zip_pt(path, pkl, storages=()):
    """A file shaped like torch.save's: ``archive/data.pkl`` = ``pkl``."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        for key, data in storages:
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", "3\n")


def _legacy_pt(path, pkl):
    """A file shaped like torch.save's legacy format, with ``pkl`` as the object."""
    head = b"".join(pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}))
    path.write_bytes(head + pkl + pickle.dumps([], protocol=2))


def _payloads(marker):
    """name -> a pickle that, unpickled by Python, would create the directory ``marker``."""
    m = str(marker).encode()
    src = b"import os; os.mkdir('" + m + b"')"
    call = b"(" + b"X" + struct.pack("<I", len(m)) + m + b"tR"
    payload = {
        "os.mkdir": b"\x80\x02cos\nmkdir\n" + call + b".",
        "posix.mkdir": b"\x80\x02cposix\nmkdir\n" + call + b".",
        "builtins.exec": b"\x80\x02c__builtin__\nexec\n(X" + struct.pack("<I", len(src)) + src + b"tR.",
        "nnzoo.io.atomic_write": b"\x80\x02cnnzoo.io\natomic_write\n(X" + struct.pack("<I", len(m) + 2) + m
                                 + b"/xX\x01\x00\x00\x00xtR.",
    }
    # protocol 4: STACK_GLOBAL, the global's name built on the stack, inside a dict next to a real tensor key
    m4 = b"\x8c\x02os\x94\x8c\x05mkdir\x94\x93\x94"
    payload["os.mkdir (STACK_GLOBAL)"] = (b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94"
                                          + m4 + call + b"u.")
    # nested deep inside an allowed structure: an OrderedDict of lists
    payload["os.mkdir (nested)"] = (b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00k]("
                                    b"K\x01cos\nmkdir\n" + call + b"eu.")
    return payload


@pytest.mark.parametrize("shape", ["zip", "legacy", "file object"])
def test_other_globals_are_refused_and_never_run(tmp_path, shape):
    marker = tmp_path / "RAN"
    for name, pkl in _payloads(marker).items():
        path = tmp_path / "evil.pt"
        (_legacy_pt if shape == "legacy" else _zip_pt)(path, pkl)
        label = re.escape("<file object>" if shape == "file object" else str(path))
        expect = (rf"^nnzoo.load: refusing to load '{label}': its pickle names {re.escape(name.split()[0])}, which "
                  r"weights_only loading does not allow .*; pass weights_only=False only if you trust the file")
        src = pyio.BytesIO(path.read_bytes()) if shape == "file object" else path
        with pytest.raises(nnzoo.io.WeightsOnlyError, match=expect) as err:
            nnzoo.load(src)
        assert isinstance(err.value, nnzoo.io.CheckpointError) and isinstance(err.value, pickle.UnpicklingError)
        assert not marker.exists(), name
    # the payloads are live: Python's unpickler does run them
    pickle.loads(_payloads(marker)["os.mkdir"])
    assert marker.is_dir()


def test_allowed_names_cannot_be_misused(tmp_path):
    """Names weights_only admits, used for something else: calling a non-callable one, setting the state of a
    dtype, appending to a tensor, a storage id of a type that is not a storage, a view past its storage."""
    tensor = (b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00"
              b"\x000X\x03\x00\x00\x00cpuK\x04tQK%s(K\x02t(K\x01t\x89ccollections\nOrderedDict\n)RtR")
    cases = {
        "calls": b"\x80\x02ctorch\nTensor\n)R.",
        "sets the state of a dtype": b"\x80\x02ctorch\nfloat32\n}(X\x04\x00\x00\x00nameK\x01ub.",
        "adds items to a Tensor": b"\x80\x02" + tensor % b"\x00" + b"K\x01a.",
        "reads past the end of its storage": b"\x80\x02" + tensor % b"\x03" + b".",
    }
    four = [("0", np.arange(4, dtype=np.float32).tobytes())]
    for why, pkl in cases.items():
        _zip_pt(tmp_path / "m.pt", pkl, four)
        with pytest.raises(nnzoo.io.CheckpointError, match=rf"damaged PyTorch checkpoint \(.*{why}"):
            nnzoo.load(tmp_path / "m.pt")
    _zip_pt(tmp_path / "ok.pt", b"\x80\x02" + tensor % b"\x02" + b".", four)
    np.testing.assert_array_equal(nnzoo.load(tmp_path / "ok.pt").numpy(), [2.0, 3.0])


def test_allowlist_is_torchs():
    """nnzoo admits exactly the globals torch 2.13's weights_only unpickler admits, plus NumPy's numeric
    arrays and scalars (rebuilt by nnzoo's own code: see nnzoo/serialization/torch_types.py)."""
    from torch._weights_only_unpickler import _get_allowed_globals
    allowed, _ = torch_types.weights_only_globals()
    extra = set(allowed) - set(_get_allowed_globals())
    assert set(_get_allowed_globals()) <= set(allowed)
    assert extra == {"numpy.ndarray", "numpy.dtype", "numpy.core.multiarray._reconstruct",
                     "numpy._core.multiarray._reconstruct", "numpy.core.multiarray.scalar",
                     "numpy._core.multiarray.scalar"}


# ---- whole modules under weights_only=True, their classes marked safe (tests/test_safe_globals.py has more) ----
def test_whole_module_loads_with_its_classes_marked_safe(tmp_path):
    from nnzoo import serialization
    nnzoo.manual_seed(0)
    layers = ("Conv2d", "BatchNorm2d", "ReLU", "Flatten", "Linear")
    model = nnzoo.nn.Sequential(nnzoo.nn.Conv2d(3, 4, 3), nnzoo.nn.BatchNorm2d(4), nnzoo.nn.ReLU(),
                                nnzoo.nn.Flatten(), nnzoo.nn.Linear(4 * 6 * 6, 2))
    model.train()(nnzoo.randn(2, 3, 8, 8))
    nnzoo.save(model, tmp_path / "model.pt")
    tmodel = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2))
    torch.save(tmodel, tmp_path / "torch_model.pt")
    # beyond the allowlist, its pickle names the module classes torch's pickle of the same model names
    short = lambda names: sorted(n.rsplit(".", 1)[-1] for n in names)  # noqa: E731
    assert short(serialization.get_unsafe_globals_in_checkpoint(tmp_path / "model.pt")) == \
        short(torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "torch_model.pt")) == \
        sorted(("Sequential",) + layers)
    with pytest.raises(nnzoo.io.WeightsOnlyError,
                       match=r"names nnzoo\.nn\.\S+\.Sequential, .*add_safe_globals\(\[Sequential\]\) or the "
                             r"nnzoo\.serialization\.safe_globals\(\[Sequential\]\) context manager"):
        nnzoo.load(tmp_path / "model.pt")
    classes = [nnzoo.nn.Sequential, *(getattr(nnzoo.nn, n) for n in layers)]
    with serialization.safe_globals(classes):
        back = nnzoo.load(tmp_path / "model.pt")
    with torch.serialization.safe_globals([torch.nn.Sequential, *(getattr(torch.nn, n) for n in layers)]):
        assert type(torch.load(tmp_path / "torch_model.pt")) is torch.nn.Sequential
    trusted = nnzoo.load(tmp_path / "model.pt", weights_only=False)
    assert type(back) is type(model) and repr(back) == repr(model)
    for (k, a), (k2, b), (k3, c) in zip(model.state_dict().items(), back.state_dict().items(),
                                        trusted.state_dict().items()):
        assert k == k2 == k3 and a.dtype == b.dtype == c.dtype
        assert np.array_equal(a.numpy(), b.numpy()) and np.array_equal(b.numpy(), c.numpy())
    x = nnzoo.randn(3, 3, 8, 8)
    for m in (model, back):
        m.eval()
    np.testing.assert_array_equal(back(x).detach().numpy(), model(x).detach().numpy())
