"""PyTorch's device model on a CPU build: nnzoo.device, device= on the factories, .to()/.cpu()/.cuda() on tensors
and modules, nnzoo.cuda, nnzoo.accelerator, nnzoo.backends, nnzoo.compile, Tensor.__format__ and range keys.

The installed torch is a CPU-only build, so it is the oracle for every answer and every error type here.
"""
import pickle
import warnings

import numpy as np
import pytest
import torch

import nnzoo

DEVICE_STRINGS = ["cpu", "cuda", "cuda:0", "cuda:1", "cpu:0", "mps", "xpu:0", "meta", "cuda:01", "cuda:", "cuda:x",
                  "cuda:-1", "foo", "CPU"]


def _outcome(fn):
    """("ok", value) or ("raise", exception type name, message) of fn()."""
    try:
        return ("ok", fn())
    except Exception as e:  # the oracle's exception is compared, whatever it is
        return ("raise", type(e), str(e))


def _same_failure(ours, theirs):
    """Both raised, and ours is an instance of torch's exception type (nnzoo's CUDA error is an AssertionError
    and a RuntimeError)."""
    assert theirs[0] == "raise", theirs
    assert ours[0] == "raise", f"nnzoo did not raise where torch raised {theirs[1].__name__}: {theirs[2]}"
    assert issubclass(ours[1], theirs[1]), f"nnzoo raised {ours[1].__name__}, torch {theirs[1].__name__}"


@pytest.mark.parametrize("text", DEVICE_STRINGS)
def test_device_parsing_matches_torch(text):
    ours, theirs = _outcome(lambda: nnzoo.device(text)), _outcome(lambda: torch.device(text))
    if theirs[0] == "raise":
        _same_failure(ours, theirs)
        assert ours[2] == theirs[2]  # the same message
    else:
        d, t = ours[1], theirs[1]
        assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))


@pytest.mark.parametrize("args", [("cuda", 0), ("cpu", 0), ("cuda", 3), ("cuda:0", 1), ("cpu", -1)])
def test_device_type_and_index_match_torch(args):
    ours, theirs = _outcome(lambda: nnzoo.device(*args)), _outcome(lambda: torch.device(*args))
    if theirs[0] == "raise":
        _same_failure(ours, theirs)
    else:
        assert repr(ours[1]) == repr(theirs[1])
    assert repr(nnzoo.device(type="cuda", index=1)) == repr(torch.device(type="cuda", index=1))
    assert repr(nnzoo.device(nnzoo.device("cuda:2"))) == repr(torch.device(torch.device("cuda:2")))


def test_device_equality_hash_pickle():
    assert nnzoo.device("cuda", 1) == nnzoo.device("cuda:1") and nnzoo.device("cuda:1") != nnzoo.device("cuda:2")
    assert (nnzoo.device("cpu") == nnzoo.device("cpu", 0)) == (torch.device("cpu") == torch.device("cpu", 0))
    assert len({nnzoo.device("cpu"), nnzoo.device("cpu"), nnzoo.device("cuda:0")}) == 2
    d = pickle.loads(pickle.dumps(nnzoo.device("cuda:1")))
    assert d == nnzoo.device("cuda:1") and d.index == 1
    assert nnzoo.zeros(1).device == "cpu"  # nnzoo extension kept from before: a device equals its string
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        nnzoo.device(0)
    with pytest.raises(RuntimeError):
        torch.device(0)


def test_tensor_device_attributes_match_torch():
    n, t = nnzoo.zeros(2), torch.zeros(2)
    assert repr(n.device) == repr(t.device) and isinstance(n.device, nnzoo.device)
    for name in ("is_cuda", "is_xpu", "is_mps", "is_cpu", "is_meta"):
        assert getattr(n, name) == getattr(t, name), name
    assert n.get_device() == t.get_device()
    assert n.device.type == "cpu"


FACTORIES = [
    ("tensor", lambda m, d: m.tensor([1.0, 2.0], device=d)),
    ("as_tensor", lambda m, d: m.as_tensor([1.0, 2.0], device=d)),
    ("zeros", lambda m, d: m.zeros(2, 3, device=d)),
    ("ones", lambda m, d: m.ones(2, device=d)),
    ("empty", lambda m, d: m.empty(2, device=d)),
    ("full", lambda m, d: m.full((2,), 1.5, device=d)),
    ("arange", lambda m, d: m.arange(5, device=d)),
    ("linspace", lambda m, d: m.linspace(0, 1, 5, device=d)),
    ("logspace", lambda m, d: m.logspace(0, 1, 5, device=d)),
    ("eye", lambda m, d: m.eye(3, device=d)),
    ("rand", lambda m, d: m.rand(2, device=d)),
    ("randn", lambda m, d: m.randn(2, device=d)),
    ("randint", lambda m, d: m.randint(0, 5, (3,), device=d)),
    ("randperm", lambda m, d: m.randperm(4, device=d)),
    ("normal", lambda m, d: m.normal(0.0, 1.0, (2,), device=d)),
    ("zeros_like", lambda m, d: m.zeros_like(m.ones(2), device=d)),
    ("ones_like", lambda m, d: m.ones_like(m.ones(2), device=d)),
    ("empty_like", lambda m, d: m.empty_like(m.ones(2), device=d)),
    ("full_like", lambda m, d: m.full_like(m.ones(2), 3.0, device=d)),
    ("rand_like", lambda m, d: m.rand_like(m.ones(2), device=d)),
    ("randn_like", lambda m, d: m.randn_like(m.ones(2), device=d)),
    ("randint_like", lambda m, d: m.randint_like(m.ones(2), 5, device=d)),
    ("new_zeros", lambda m, d: m.ones(2).new_zeros(3, device=d)),
    ("new_ones", lambda m, d: m.ones(2).new_ones(3, device=d)),
    ("new_empty", lambda m, d: m.ones(2).new_empty(3, device=d)),
    ("new_full", lambda m, d: m.ones(2).new_full((3,), 2.0, device=d)),
    ("new_tensor", lambda m, d: m.ones(2).new_tensor([1.0], device=d)),
]


@pytest.mark.parametrize("make", [f for _, f in FACTORIES], ids=[n for n, _ in FACTORIES])
def test_factories_take_device_as_torch(make):
    for dev in ("cpu", "cpu:0", None):
        n, t = make(nnzoo, dev), make(torch, dev)
        assert repr(n.device) == repr(t.device) and tuple(n.shape) == tuple(t.shape) and n.dtype.name == \
            str(t.dtype).removeprefix("torch.")
    assert make(nnzoo, nnzoo.device("cpu")).device == nnzoo.device("cpu")
    for dev in ("cuda", "cuda:0", 0, "xpu"):
        _same_failure(_outcome(lambda d=dev: make(nnzoo, d)), _outcome(lambda d=dev: make(torch, d)))
    n_dev, t_dev = nnzoo.device("cuda"), torch.device("cuda")
    _same_failure(_outcome(lambda: make(nnzoo, n_dev)), _outcome(lambda: make(torch, t_dev)))


def test_default_device_context_manager():
    with nnzoo.device("cpu"):
        assert nnzoo.zeros(1).device == nnzoo.device("cpu")
    ours = _outcome(lambda: _inside(nnzoo))
    theirs = _outcome(lambda: _inside(torch))
    _same_failure(ours, theirs)
    assert nnzoo.zeros(1).device.type == "cpu" and nnzoo.get_default_device() == nnzoo.device("cpu")
    nnzoo.set_default_device("cuda")
    try:
        assert nnzoo.get_default_device() == nnzoo.device("cuda")
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            nnzoo.ones(2)
    finally:
        nnzoo.set_default_device(None)
    assert nnzoo.ones(2).device == nnzoo.device("cpu")


def _inside(m):
    with m.device("cuda"):
        return m.zeros(1)


TO_CALLS = [
    ("device str", lambda m, x: x.to("cpu")),
    ("device obj", lambda m, x: x.to(m.device("cpu"))),
    ("device kw", lambda m, x: x.to(device="cpu")),
    ("dtype", lambda m, x: x.to(m.float64)),
    ("dtype kw", lambda m, x: x.to(dtype=m.int64)),
    ("device dtype", lambda m, x: x.to("cpu", m.float64)),
    ("device dtype flags", lambda m, x: x.to("cpu", m.float64, True, True)),
    ("kw all", lambda m, x: x.to(device=m.device("cpu"), dtype=m.float16, non_blocking=True, copy=True)),
    ("other tensor", lambda m, x: x.to(m.zeros(1, dtype=m.int32))),
    ("non_blocking", lambda m, x: x.to("cpu", non_blocking=True)),
    ("cpu", lambda m, x: x.cpu()),
    ("cuda", lambda m, x: x.to("cuda")),
    ("cuda non_blocking", lambda m, x: x.to("cuda", non_blocking=True)),
    ("cuda device", lambda m, x: x.to(m.device("cuda", 0))),
    ("int device", lambda m, x: x.to(1)),
    ("two devices", lambda m, x: x.to("cpu", "cuda")),
    ("mps", lambda m, x: x.to("mps")),
    (".cuda()", lambda m, x: x.cuda()),
    (".cuda(0)", lambda m, x: x.cuda(0)),
    (".cuda('cuda:1')", lambda m, x: x.cuda("cuda:1")),
]


@pytest.mark.parametrize("call", [c for _, c in TO_CALLS], ids=[n for n, _ in TO_CALLS])
def test_tensor_to_matches_torch(call):
    data = np.array([1.5, -2.25, 3.0], dtype=np.float32)
    n, t = nnzoo.tensor(data), torch.tensor(data)
    ours, theirs = _outcome(lambda: call(nnzoo, n)), _outcome(lambda: call(torch, t))
    if theirs[0] == "raise":
        _same_failure(ours, theirs)
        return
    r, e = ours[1], theirs[1]
    assert r.dtype.name == str(e.dtype).removeprefix("torch.") and repr(r.device) == repr(e.device)
    np.testing.assert_array_equal(r.numpy(), e.numpy())
    assert (r is n) == (e is t)  # same tensor back exactly when torch gives the same one


def test_module_to_cpu_cuda_match_torch():
    for call in (lambda m, mod: mod.to("cpu"), lambda m, mod: mod.to(m.device("cpu")), lambda m, mod: mod.cpu(),
                 lambda m, mod: mod.to("cpu", non_blocking=True)):
        mod = nnzoo.nn.Linear(2, 2)
        assert call(nnzoo, mod) is mod and mod.weight.dtype == nnzoo.float32
    mod = nnzoo.nn.Linear(2, 2)
    w = mod.weight
    mod.to(nnzoo.device("cpu"), nnzoo.float64)
    assert mod.weight is w and w.dtype == nnzoo.float64 and repr(w.device) == "device(type='cpu')"
    for call in (lambda m, mod: mod.cuda(), lambda m, mod: mod.to("cuda"), lambda m, mod: mod.cuda(0),
                 lambda m, mod: mod.to(m.device("cuda:0"))):
        _same_failure(_outcome(lambda c=call: c(nnzoo, nnzoo.nn.Linear(2, 2))),
                      _outcome(lambda c=call: c(torch, torch.nn.Linear(2, 2))))


CUDA_CALLS = ["is_available()", "device_count()", "is_initialized()", "is_bf16_supported()",
              "is_bf16_supported(including_emulation=False)", "manual_seed(1)", "manual_seed_all(1)", "seed()",
              "seed_all()", "memory_allocated()", "max_memory_allocated()", "memory_reserved()",
              "max_memory_reserved()", "empty_cache()", "get_rng_state_all()", "set_rng_state_all([])",
              "get_arch_list()", "synchronize()", "current_device()", "get_device_name()", "get_device_name(0)",
              "get_device_properties(0)", "get_device_capability()", "initial_seed()", "get_rng_state()",
              "mem_get_info()", "init()", "ipc_collect()", "current_stream()", "Stream()", "Event()"]


@pytest.mark.parametrize("call", CUDA_CALLS)
def test_cuda_module_matches_torch_cpu_build(call):
    ours = _outcome(lambda: eval("nnzoo.cuda." + call))
    theirs = _outcome(lambda: eval("torch.cuda." + call))
    if theirs[0] == "raise":
        _same_failure(ours, theirs)
    else:
        assert ours == theirs


def test_cuda_device_context_and_seeding_leave_cpu_stream_alone():
    nnzoo.manual_seed(5)
    a = nnzoo.rand(3)
    nnzoo.manual_seed(5)
    nnzoo.cuda.manual_seed_all(123)
    nnzoo.cuda.manual_seed(7)
    np.testing.assert_array_equal(nnzoo.rand(3).numpy(), a.numpy())
    with pytest.raises(RuntimeError), nnzoo.cuda.device(0):
        pass
    with pytest.raises(RuntimeError), torch.cuda.device(0):
        pass


ACCELERATOR_CALLS = ["is_available()", "current_accelerator()", "current_accelerator(check_available=True)",
                     "device_count()", "current_device_index()", "synchronize()", "set_device_index(0)",
                     "empty_cache()", "memory_allocated()"]


@pytest.mark.parametrize("call", ACCELERATOR_CALLS)
def test_accelerator_matches_torch(call):
    ours = _outcome(lambda: eval("nnzoo.accelerator." + call))
    theirs = _outcome(lambda: eval("torch.accelerator." + call))
    if theirs[0] == "raise":
        _same_failure(ours, theirs)
        assert ours[2] == theirs[2]
    else:
        assert ours == theirs


FLAGS = ["cudnn.enabled", "cudnn.benchmark", "cudnn.deterministic", "cudnn.allow_tf32", "cudnn.is_available()",
         "cudnn.version()", "cuda.matmul.allow_tf32", "cuda.matmul.allow_fp16_reduced_precision_reduction",
         "cuda.matmul.allow_bf16_reduced_precision_reduction", "cuda.is_built()", "cuda.flash_sdp_enabled()",
         "cuda.mem_efficient_sdp_enabled()", "cuda.math_sdp_enabled()", "mps.is_available()", "mps.is_built()"]


@pytest.mark.parametrize("flag", FLAGS)
def test_backend_flag_defaults_match_torch(flag):
    assert eval("nnzoo.backends." + flag) == eval("torch.backends." + flag)


def test_backend_flags_are_settable_and_linked_as_in_torch():
    saved = torch.get_float32_matmul_precision(), nnzoo.get_float32_matmul_precision()
    try:
        for m in (nnzoo, torch):
            m.backends.cudnn.benchmark = True
            assert m.backends.cudnn.benchmark is True
            m.backends.cudnn.benchmark = False
        for precision in ("high", "medium", "highest"):
            nnzoo.set_float32_matmul_precision(precision)
            torch.set_float32_matmul_precision(precision)
            assert nnzoo.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
            assert nnzoo.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
        nnzoo.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = True
        assert nnzoo.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            nnzoo.set_float32_matmul_precision("fast")
        assert nnzoo.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
        nnzoo.backends.cuda.matmul.allow_tf32 = False
        with nnzoo.backends.cudnn.flags(enabled=False, deterministic=True):
            assert not nnzoo.backends.cudnn.enabled and nnzoo.backends.cudnn.deterministic
        assert nnzoo.backends.cudnn.enabled and not nnzoo.backends.cudnn.deterministic
    finally:
        torch.set_float32_matmul_precision(saved[0])
        nnzoo.set_float32_matmul_precision(saved[1])


def test_deterministic_and_threads():
    assert nnzoo.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled()
    nnzoo.use_deterministic_algorithms(True, warn_only=True)
    try:
        assert nnzoo.are_deterministic_algorithms_enabled() and nnzoo.is_deterministic_algorithms_warn_only_enabled()
    finally:
        nnzoo.use_deterministic_algorithms(False)
    assert not nnzoo.are_deterministic_algorithms_enabled()
    before = nnzoo.get_num_threads()
    assert isinstance(before, int) and before >= 1
    nnzoo.set_num_threads(3)
    try:
        assert nnzoo.get_num_threads() == 3
    finally:
        nnzoo.backends._state["num_threads"] = None
    with pytest.raises(RuntimeError):
        nnzoo.set_num_threads(0)


def test_compile_is_an_eager_no_op():
    model = nnzoo.nn.Linear(3, 2)
    assert nnzoo.compile(model) is model
    assert nnzoo.compile(model, mode="max-autotune", fullgraph=True, dynamic=False) is model

    def f(x):
        return x * 2

    assert nnzoo.compile(f) is f
    assert nnzoo.compile()(f) is f and nnzoo.compile(mode="reduce-overhead")(f) is f

    @nnzoo.compile
    def g(x):
        return x + 1

    @nnzoo.compile(backend="inductor")
    def h(x):
        return x - 1

    assert g(nnzoo.tensor(1.0)).item() == 2.0 and h(nnzoo.tensor(1.0)).item() == 0.0
    assert nnzoo.compiler.is_compiling() == torch.compiler.is_compiling()


FORMATS = [("{:+.2f}", lambda m: m.tensor(1.5)), ("{:>6}", lambda m: m.tensor(3)), ("{}", lambda m: m.tensor(True)),
           ("{:.3e}", lambda m: m.tensor(12345.678, dtype=m.float64)), ("{:.2f}", lambda m: m.tensor([1.5])),
           ("{:.2f}", lambda m: m.tensor([1.5, 2.0])), ("{:.1f}", lambda m: m.tensor([[1.5]])),
           ("{}", lambda m: m.tensor([1.5, 2.0])), ("{:.2f}", lambda m: m.tensor(1.5, requires_grad=True)),
           ("{:.2f}", lambda m: m.nn.Parameter(m.tensor(1.5)))]


@pytest.mark.parametrize("spec,make", FORMATS, ids=[f"{s} {i}" for i, (s, _) in enumerate(FORMATS)])
def test_format_matches_torch(spec, make):
    ours, theirs = _outcome(lambda: spec.format(make(nnzoo))), _outcome(lambda: spec.format(make(torch)))
    if theirs[0] == "raise":
        _same_failure(ours, theirs)
    elif spec == "{}" and make(torch).ndim:
        assert ours[1] == repr(make(nnzoo))  # an empty spec on a tensor is its repr (nnzoo's, not torch's)
    else:
        assert ours == theirs


RANGE_KEYS = [lambda r: r[range(2)], lambda r: r[range(2), range(1, 3)], lambda r: r[1, range(1, 3)],
              lambda r: r[range(0), :], lambda r: r[:, range(0, 4, 2)], lambda r: r[(range(2),)],
              lambda r: r[range(2, 0, -1), 1:]]


@pytest.mark.parametrize("key", RANGE_KEYS)
def test_range_keys_index_as_torch(key):
    data = np.arange(12).reshape(3, 4)
    n, t = key(nnzoo.tensor(data)), key(torch.tensor(data))
    assert tuple(n.shape) == tuple(t.shape)
    np.testing.assert_array_equal(n.numpy(), t.numpy())


def test_range_keys_assign_as_torch():
    n, t = nnzoo.zeros(3, 4), torch.zeros(3, 4)
    for m, x in ((nnzoo, n), (torch, t)):
        x[range(2)] = 1.0
        x[2, range(0, 4, 2)] = m.tensor([5.0, 6.0])
    np.testing.assert_array_equal(n.numpy(), t.numpy())


def test_range_key_gradient_matches_torch():
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    n, t = nnzoo.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    (n[range(0, 3, 2), range(1, 3)] ** 2).sum().backward()
    (t[range(0, 3, 2), range(1, 3)] ** 2).sum().backward()
    np.testing.assert_array_equal(n.grad.numpy(), t.grad.numpy())


def test_cuda_availability_boilerplate_runs():
    """The device lines of a tutorial, as written for torch."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing here warns in torch's CPU build either
        device = nnzoo.device("cuda" if nnzoo.cuda.is_available() else "cpu")
        if nnzoo.accelerator.is_available():
            device = nnzoo.accelerator.current_accelerator()
        model = nnzoo.nn.Linear(4, 2).to(device)
        x = nnzoo.randn(3, 4, device=device)
        y = model(x.to(device, non_blocking=True)).cpu()
    assert y.device == device and str(device) == "cpu"
