"""Anomaly detection: each scenario runs on torch and on nnzoo (``lib``) and compares the error, its message and
the warning that shows the forward line which created the failing node."""
import inspect
import warnings

import pytest
import torch

import nnzoo

LIBS = pytest.mark.parametrize("lib", [nnzoo, torch], ids=["nnzoo", "torch"])


@pytest.fixture(autouse=True)
def _anomaly_off():
    yield
    nnzoo.autograd.set_detect_anomaly(False)
    torch.autograd.set_detect_anomaly(False)


def _nan_model(lib, x):
    y = x / lib.zeros(2)  # 0 * inf in DivBackward0: the forward line the warning must show
    return (y * 0).sum()


_NAN_LINE = inspect.getsource(_nan_model).splitlines()[1].strip()


def _run(fn):
    """fn()'s exception and the messages of the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn()
            err = None
        except Exception as e:  # the test compares whatever is raised
            err = e
    return err, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


@LIBS
def test_nan_in_backward_raises_naming_the_node_and_warns_with_the_forward_line(lib):
    x = lib.ones(2, requires_grad=True)

    def go():
        with lib.autograd.detect_anomaly():
            _nan_model(lib, x).backward()
    err, msgs = _run(go)
    assert isinstance(err, RuntimeError)
    assert str(err) == "Function 'DivBackward0' returned nan values in its 0th output."
    trace = [m for m in msgs if m.startswith("Error detected in DivBackward0. Traceback of forward call")]
    assert len(trace) == 1 and _NAN_LINE in trace[0] and "_nan_model" in trace[0]
    assert any(m.startswith("Anomaly Detection has been enabled") for m in msgs)


def _outcome(lib, fn):
    err, msgs = _run(fn)
    return (type(err).__name__ if err else None, str(err) if err else None,
            [m.split(".")[0] for m in msgs if m.startswith("Error detected")])


def _scenarios(lib):
    """Each scenario: what is raised, and which 'Error detected' warnings are given."""
    out = {}

    def check_nan_off():
        with lib.autograd.detect_anomaly(check_nan=False):
            _nan_model(lib, lib.ones(2, requires_grad=True)).backward()
    out["check_nan=False"] = _outcome(lib, check_nan_off)

    def inf_passes():  # PyTorch checks isnan only: an infinite gradient is no anomaly
        with lib.autograd.detect_anomaly():
            x = lib.ones(2, requires_grad=True)
            (x * 1e30 * 1e30).sum().backward()
    out["inf"] = _outcome(lib, inf_passes)

    def off():
        _nan_model(lib, lib.ones(2, requires_grad=True)).backward()
    out["off"] = _outcome(lib, off)

    def forward_outside():  # the node was recorded without anomaly mode: no forward trace to show
        y = _nan_model(lib, lib.ones(2, requires_grad=True))
        with lib.autograd.detect_anomaly():
            y.backward()
    out["forward outside"] = _outcome(lib, forward_outside)

    def second_output():
        class Two(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a + b

            @staticmethod
            def backward(ctx, g):
                return g, g * float("nan")
        a, b = lib.ones(1, requires_grad=True), lib.ones(1, requires_grad=True)
        with lib.autograd.detect_anomaly():
            Two.apply(a, b).sum().backward()
    err, msgs = _run(second_output)
    out["second output"] = str(err).replace("TwoBackward0", "TwoBackward")  # torch names custom nodes XBackward

    def error_in_backward():
        class Boom(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x.clone()

            @staticmethod
            def backward(ctx, g):
                raise ValueError("boom")
        with lib.autograd.detect_anomaly():
            Boom.apply(lib.ones(1, requires_grad=True)).sum().backward()
    err, msgs = _run(error_in_backward)
    out["error in backward"] = (type(err).__name__, str(err), len([m for m in msgs if "BoomBackward" in m]))

    def sqrt_of_negative():  # a module's forward: the warning names the op and the user's line
        lib.manual_seed(0)
        m = lib.nn.Linear(2, 2)
        with lib.autograd.detect_anomaly():
            z = lib.sqrt(m(lib.ones(1, 2)) - 100)
            z.sum().backward()
    out["sqrt"] = _outcome(lib, sqrt_of_negative)
    return out


def test_scenarios_match_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own invalid-value warnings
        assert _scenarios(nnzoo) == _scenarios(torch)


def test_forward_outside_says_no_information():
    _, msgs = _run(_forward_outside_nnzoo)
    assert any("No forward pass information available" in m for m in msgs)


def _forward_outside_nnzoo():
    y = _nan_model(nnzoo, nnzoo.ones(2, requires_grad=True))
    with nnzoo.autograd.detect_anomaly():
        y.backward()


@LIBS
def test_switches_and_flags(lib):
    assert not lib.autograd.is_anomaly_enabled() if lib is nnzoo else not torch.is_anomaly_enabled()
    flags = (nnzoo.autograd.is_anomaly_enabled, nnzoo.autograd.is_anomaly_check_nan_enabled) if lib is nnzoo \
        else (torch.is_anomaly_enabled, torch.is_anomaly_check_nan_enabled)
    seen = []
    lib.autograd.set_detect_anomaly(True, check_nan=False)  # takes effect at once
    seen.append((flags[0](), flags[1]()))
    with lib.autograd.set_detect_anomaly(False):
        seen.append((flags[0](), flags[1]()))
    seen.append((flags[0](), flags[1]()))  # restored on exit
    lib.autograd.set_detect_anomaly(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autograd.detect_anomaly(check_nan=False):
            seen.append((flags[0](), flags[1]()))
    seen.append((flags[0](), flags[1]()))
    assert seen == [(True, False), (False, True), (True, False), (True, False), (False, True)]


def test_detect_anomaly_as_a_decorator():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        @nnzoo.autograd.detect_anomaly()
        def inside():
            return nnzoo.autograd.is_anomaly_enabled()

        @nnzoo.autograd.set_detect_anomaly(True)
        def inside2():
            return nnzoo.autograd.is_anomaly_enabled()
    assert not nnzoo.autograd.is_anomaly_enabled()
    assert inside() and inside2()
    assert not nnzoo.autograd.is_anomaly_enabled()


def test_nodes_record_no_stack_when_off():
    x = nnzoo.ones(2, requires_grad=True)
    assert not hasattr((x * 2).grad_fn, "_anomaly_trace")
    with nnzoo.autograd.set_detect_anomaly(True):
        node = (x * 2).grad_fn
    assert node._anomaly_trace[-1][2] == "test_nodes_record_no_stack_when_off"  # the last frame is the caller's
