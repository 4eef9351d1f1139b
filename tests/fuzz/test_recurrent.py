"""Fuzz: nn.RNN (tanh, relu), nn.LSTM (with proj_size) and nn.GRU with PyTorch's weights copied in (1-2
layers, bidirectional, batch_first, bias, given or zero initial states, unbatched inputs, empty batches),
and the single-step cells. Outputs, final states and the gradients of the input, the initial states and
every parameter are compared."""
import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from . import strategies as S
from .harness import Case, WithParams, check
from .profiles import fuzz

FAMILY = "recurrent"
WEIGHT_KINDS = ("normal", "normal", "ties", "mixed")


def _param_shapes(cls, kwargs):
    """{name: shape} of the PyTorch module (parameter order as PyTorch registers them)."""
    return {n: tuple(p.shape) for n, p in getattr(torch.nn, cls)(**kwargs).named_parameters()}


def _load(m, module, names, weights, dtype):
    module = module.to(getattr(m, dtype))
    module.load_state_dict(dict(zip(names, weights)))
    return module


@st.composite
def layer_cases(draw):
    cls = draw(st.sampled_from(["RNN", "RNN", "LSTM", "GRU"]))
    dtype = draw(S.float_dtypes())
    inp, hid = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kw = dict(input_size=inp, hidden_size=hid, num_layers=draw(st.integers(1, 2)), bias=draw(st.booleans()),
              batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()))
    if cls == "RNN":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    if cls == "LSTM" and hid > 1 and draw(st.booleans()):
        kw["proj_size"] = draw(st.integers(1, hid - 1))
    shapes = _param_shapes(cls, kw)
    names = list(shapes)
    t = draw(st.integers(1, 5))
    batch = draw(st.sampled_from([None, 1, 2, 3, 3, 0]))
    seq = (t, inp) if batch is None else ((batch, t, inp) if kw["batch_first"] else (t, batch, inp))
    dirs = 2 if kw["bidirectional"] else 1
    h_out = kw.get("proj_size") or hid
    state = (dirs * kw["num_layers"],) + (() if batch is None else (batch,))
    with_h0 = draw(st.booleans())
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    arrays = [S.make_values(rng, seq, dtype, kind)]
    if with_h0:
        arrays.append(S.make_values(rng, state + (h_out,), dtype, draw(S.kinds())))
        if cls == "LSTM":
            arrays.append(S.make_values(rng, state + (hid,), dtype, draw(S.kinds())))
    n_in = len(arrays)
    arrays += [S.make_values(rng, shapes[n], dtype, draw(st.sampled_from(WEIGHT_KINDS))) * 0.5 for n in names]

    def fn(m, x, *rest):
        states, weights = rest[:n_in - 1], rest[n_in - 1:]
        module = _load(m, getattr(m.nn, cls)(**kw), names, weights, str(x.dtype).split(".")[-1])
        hx = None
        if states:
            hx = tuple(states) if cls == "LSTM" else states[0]
        out, h = module(x, hx)
        outs = (out,) + (tuple(h) if cls == "LSTM" else (h,))
        return WithParams(outs, list(module.named_parameters()))
    nograd = tuple(range(n_in, len(arrays)))  # the weights are compared as the modules' parameters
    return Case(FAMILY, cls, fn, arrays, params={"dtype": dtype, "kind": kind, "batch": batch, "T": t,
                                                 "h0": with_h0, **kw}, nograd=nograd, seed=seed)


@st.composite
def cell_cases(draw):
    cls = draw(st.sampled_from(["RNNCell", "LSTMCell", "GRUCell"]))
    dtype = draw(S.float_dtypes())
    inp, hid = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kw = dict(input_size=inp, hidden_size=hid, bias=draw(st.booleans()))
    if cls == "RNNCell":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    shapes = _param_shapes(cls, kw)
    names = list(shapes)
    batch = draw(st.sampled_from([None, 1, 2, 3, 0]))
    lead = () if batch is None else (batch,)
    with_h = draw(st.booleans())
    kind = draw(S.kinds())
    seed = draw(S.seeds())
    rng = np.random.default_rng(seed)
    arrays = [S.make_values(rng, lead + (inp,), dtype, kind)]
    if with_h:
        arrays += [S.make_values(rng, lead + (hid,), dtype, draw(S.kinds()))
                   for _ in range(2 if cls == "LSTMCell" else 1)]
    n_in = len(arrays)
    arrays += [S.make_values(rng, shapes[n], dtype, draw(st.sampled_from(WEIGHT_KINDS))) * 0.5 for n in names]

    def fn(m, x, *rest):
        states, weights = rest[:n_in - 1], rest[n_in - 1:]
        module = _load(m, getattr(m.nn, cls)(**kw), names, weights, str(x.dtype).split(".")[-1])
        hx = (tuple(states) if cls == "LSTMCell" else states[0]) if states else None
        out = module(x, hx)
        return WithParams(tuple(out) if cls == "LSTMCell" else out, list(module.named_parameters()))
    nograd = tuple(range(n_in, len(arrays)))
    return Case(FAMILY, cls, fn, arrays, params={"dtype": dtype, "kind": kind, "batch": batch, "h": with_h, **kw},
                nograd=nograd, seed=seed)


@fuzz(150)
@given(layer_cases())
def test_recurrent_layers(case):
    check(case)


@fuzz(100)
@given(cell_cases())
def test_cells(case):
    check(case)
