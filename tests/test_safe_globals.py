"""``torch.serialization.add_safe_globals`` and friends, and whole models loaded with ``weights_only=True``.

PyTorch 2.13 is the oracle: the same calls are made on ``torch.serialization`` and ``nnzoo.serialization`` and
their results compared; files with user classes are written by ``torch.save`` and read by both; the globals
a whole nnzoo model's pickle needs are compared with those of the same model built in torch (PyTorch's
``get_unsafe_globals_in_checkpoint``). The models are pytorch/examples' word_language_model ones
(``main.py`` saves the whole model and loads it under ``torch.serialization.safe_globals``).
"""
import io as pyio
import math
import pickle

import numpy as np
import pytest
import torch

import nnzoo
import nnzoo.io
from nnzoo import serialization


@pytest.fixture(autouse=True)
def _no_safe_globals():
    """Each test starts and ends with nothing marked, in both libraries."""
    torch.serialization.clear_safe_globals()
    serialization.clear_safe_globals()
    yield
    torch.serialization.clear_safe_globals()
    serialization.clear_safe_globals()


# ---- word_language_model's models, built over either library (module level: pickled by name) ---------------
def _rnn_model(lib):
    nn, F = lib.nn, lib.nn.functional

    class RNNModel(nn.Module):
        """Container module with an encoder, a recurrent module, and a decoder (as in pytorch/examples)."""

        def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5):
            super().__init__()
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            decoded = self.decoder(self.drop(output))
            return F.log_softmax(decoded.view(-1, self.ntoken), dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            if self.rnn_type == "LSTM":
                return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))
            return weight.new_zeros(self.nlayers, bsz, self.nhid)

    return RNNModel


def _transformer_model(lib):
    nn, F = lib.nn, lib.nn.functional

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=5000):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = lib.zeros(max_len, d_model)
            position = lib.arange(0, max_len, dtype=lib.float).unsqueeze(1)
            div_term = lib.exp(lib.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = lib.sin(position * div_term)
            pe[:, 1::2] = lib.cos(position * div_term)
            self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))

        def forward(self, x):
            return self.dropout(x + self.pe[:x.size(0), :])

    class TransformerModel(nn.Transformer):
        def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
            super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid, num_encoder_layers=nlayers)
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)
            self.input_emb = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)  # replaces nn.Transformer's decoder, as in the example

        def forward(self, src):
            mask = lib.log(lib.tril(lib.ones(len(src), len(src))))
            src = self.pos_encoder(self.input_emb(src) * math.sqrt(self.ninp))
            return F.log_softmax(self.decoder(self.encoder(src, mask=mask)), dim=-1)

    return PositionalEncoding, TransformerModel


def _named(cls, name):
    cls.__name__ = cls.__qualname__ = name
    return cls


RNNModel = _named(_rnn_model(nnzoo), "RNNModel")
TorchRNNModel = _named(_rnn_model(torch), "TorchRNNModel")
PositionalEncoding, TransformerModel = (_named(c, c.__name__) for c in _transformer_model(nnzoo))
TorchPositionalEncoding, TorchTransformerModel = (_named(c, "Torch" + c.__name__) for c in _transformer_model(torch))


def rnn_safe_globals(lib, model_cls):
    """main.py's list for the recurrent models."""
    m = lib.nn.modules
    return [model_cls, m.dropout.Dropout, m.linear.Linear, m.rnn.GRU, m.rnn.LSTM, m.rnn.RNN, m.sparse.Embedding]


def transformer_safe_globals(lib, pe_cls, model_cls):
    """main.py's list for the Transformer model."""
    m = lib.nn.modules
    return [pe_cls, model_cls, lib.nn.functional.relu, m.activation.MultiheadAttention, m.container.ModuleList,
            m.dropout.Dropout, m.linear.Linear, m.linear.NonDynamicallyQuantizableLinear,
            m.normalization.LayerNorm, m.sparse.Embedding, m.transformer.TransformerEncoder,
            m.transformer.TransformerEncoderLayer]


def _short(names):
    """Last name of each global, a torch twin's "Torch" prefix dropped: comparable across the libraries."""
    return sorted(n.rsplit(".", 1)[-1].removeprefix("Torch") for n in names)


def _unsafe_in_torch(model, tmp_path):
    torch.save(model, tmp_path / "torch_model.pt")
    return torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "torch_model.pt")


# ---- the API, call for call against torch.serialization ------------------------------------------------------
class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


class OtherPoint:
    """Stands in for Point when a (obj, name) pair says so."""


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


class WithState:
    def __init__(self, v):
        self.v = v

    def __getstate__(self):
        return {"packed": [self.v, self.v * 2]}

    def __setstate__(self, state):
        self.v, self.twice = state["packed"]


class WithNewArgs(int):
    """An int subclass: pickled with NEWOBJ and an argument (cls.__new__(cls, 7))."""


def _fn(x):
    return x


def test_add_get_clear_and_the_context_manager_as_torch():
    for lib in (torch.serialization, serialization):
        assert lib.get_safe_globals() == []
    steps = [("add", [Point, _fn]), ("add", [(Slotted, "x.Slotted"), Point]), ("enter", [Point, WithState]),
             ("exit", None), ("add", [WithNewArgs]), ("clear", None), ("add", [Point])]
    for lib in (torch.serialization, serialization):
        lib.clear_safe_globals()
    ctx = {}
    for step, arg in steps:
        for name, lib in (("torch", torch.serialization), ("nnzoo", serialization)):
            if step == "add":
                assert lib.add_safe_globals(arg) is None
            elif step == "enter":
                ctx[name] = lib.safe_globals(arg)
                assert ctx[name].__enter__() is None
            elif step == "exit":
                ctx[name].__exit__(None, None, None)  # removes Point too, which was marked before (torch)
            else:
                lib.clear_safe_globals()
        assert set(serialization.get_safe_globals()) == set(torch.serialization.get_safe_globals()), step
    assert serialization.get_safe_globals() == [Point]


@pytest.mark.parametrize("bad", [(Point,), (Point, "a.Point", "b"), (Point, 3)])
def test_bad_pairs_raise_at_load_as_torch(tmp_path, bad):
    torch.save({"p": Point(1, 2)}, tmp_path / "p.pt")
    with torch.serialization.safe_globals([bad]), pytest.raises(Exception) as expected:
        torch.load(tmp_path / "p.pt")
    with serialization.safe_globals([bad]), pytest.raises(type(expected.value), match=r"^Expected .*tuple"):
        nnzoo.load(tmp_path / "p.pt")


def test_user_objects_from_torch_files_as_torch_loads_them(tmp_path):
    """NEWOBJ without __init__, BUILD through __dict__, slots and __setstate__, NEWOBJ with arguments, a global
    pushed but never called, a (obj, name) pair: nnzoo builds what torch builds."""
    obj = {"p": Point(1, [2.5, "x"]), "s": Slotted(3, {"k": 4}), "w": WithState(5), "n": WithNewArgs(7),
           "f": _fn, "t": torch.arange(3.0)}
    torch.save(obj, tmp_path / "objs.pt")
    marked = [Point, Slotted, WithState, WithNewArgs, _fn]
    expect_unsafe = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "objs.pt"))
    assert sorted(serialization.get_unsafe_globals_in_checkpoint(tmp_path / "objs.pt")) == expect_unsafe
    with torch.serialization.safe_globals(marked):
        want = torch.load(tmp_path / "objs.pt")
        assert torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "objs.pt") == []
    with serialization.safe_globals(marked):
        got = nnzoo.load(tmp_path / "objs.pt")
        assert serialization.get_unsafe_globals_in_checkpoint(tmp_path / "objs.pt") == []
    assert type(got["p"]) is Point and vars(got["p"]) == vars(want["p"])
    assert type(got["s"]) is Slotted and (got["s"].a, got["s"].b) == (want["s"].a, want["s"].b)
    assert type(got["w"]) is WithState and vars(got["w"]) == vars(want["w"])
    assert type(got["n"]) is WithNewArgs and got["n"] == want["n"]
    assert got["f"] is want["f"] is _fn
    np.testing.assert_array_equal(got["t"].numpy(), want["t"].numpy())
    # a pair names the object a pickle's global stands for
    pair = [(OtherPoint, f"{Point.__module__}.Point"), Slotted, WithState, WithNewArgs, _fn]
    with torch.serialization.safe_globals(pair):
        want = torch.load(tmp_path / "objs.pt")
    with serialization.safe_globals(pair):
        got = nnzoo.load(tmp_path / "objs.pt")
    assert type(got["p"]) is type(want["p"]) is OtherPoint and vars(got["p"]) == vars(want["p"])


def test_unmarked_globals_are_refused_naming_them(tmp_path):
    torch.save({"p": Point(1, 2), "w": WithState(1)}, tmp_path / "objs.pt")
    with torch.serialization.safe_globals([Point]), pytest.raises(pickle.UnpicklingError, match="WithState"):
        torch.load(tmp_path / "objs.pt")
    with serialization.safe_globals([Point]), \
            pytest.raises(nnzoo.io.WeightsOnlyError, match=rf"names {__name__}\.WithState, .*safe_globals"):
        nnzoo.load(tmp_path / "objs.pt")


def test_os_and_sys_stay_refused_even_when_marked(tmp_path):
    import os
    import sys
    marker = tmp_path / "RAN"
    pkl = b"\x80\x02cos\nmkdir\n(X" + len(str(marker)).to_bytes(4, "little") + str(marker).encode() + b"tR."
    with torch.serialization.safe_globals([os.mkdir, sys.exit]), pytest.raises(pickle.UnpicklingError,
                                                                               match="blocked"):
        torch.serialization._weights_only_unpickler.load(pyio.BytesIO(pkl))
    from nnzoo.serialization.torch_types import weights_only_globals
    from nnzoo.serialization.unpickler import Refused, SafeUnpickler
    allowed, callables = weights_only_globals()
    with pytest.raises(Refused, match="blocked"):
        SafeUnpickler(pkl, allowed, callables, user_allowed={"os.mkdir": os.mkdir}).load()
    assert not marker.exists()


def test_a_marked_class_does_not_open_building_other_objects():
    """BUILD of an object whose class is not marked is refused, even inside a marked one's state."""
    from nnzoo.serialization.torch_types import weights_only_globals
    from nnzoo.serialization.unpickler import Malformed, SafeUnpickler
    allowed, callables = weights_only_globals()
    point = f"c{Point.__module__}\nPoint\n".encode()
    good = b"\x80\x02" + point + b")\x81}X\x01\x00\x00\x00xK\x01sb."
    got = SafeUnpickler(good, allowed, callables, user_allowed={f"{Point.__module__}.Point": Point}).load()
    assert type(got) is Point and vars(got) == {"x": 1}
    # BUILD on a marked class's instance with a non-dict state, and on a set
    for bad in (b"\x80\x02" + point + b")\x81K\x01b.", b"\x80\x02c__builtin__\nset\n)R}b."):
        with pytest.raises(Malformed):
            SafeUnpickler(bad, allowed, callables, user_allowed={f"{Point.__module__}.Point": Point}).load()


# ---- whole models: word_language_model ---------------------------------------------------------------------
@pytest.mark.parametrize("rnn_type", ["LSTM", "GRU"])
def test_word_language_model_rnn_loads_under_safe_globals(tmp_path, rnn_type):
    nnzoo.manual_seed(0)
    model = RNNModel(rnn_type, 40, 12, 12, 2, dropout=0.2)
    with open(tmp_path / "model.pt", "wb") as f:  # main.py: torch.save(model, f)
        nnzoo.save(model, f)
    # the globals its pickle needs beyond the allowlist are exactly those torch's pickle of the model needs
    torch.manual_seed(0)
    expected = _unsafe_in_torch(TorchRNNModel(rnn_type, 40, 12, 12, 2, dropout=0.2), tmp_path)
    assert _short(serialization.get_unsafe_globals_in_checkpoint(tmp_path / "model.pt")) == _short(expected)
    # without safe_globals (torch refuses its model too), or with a class missing: refused, naming it
    with pytest.raises(pickle.UnpicklingError, match="TorchRNNModel"):
        torch.load(tmp_path / "torch_model.pt")
    with pytest.raises(nnzoo.io.WeightsOnlyError, match=rf"its pickle names {__name__}\.RNNModel, "):
        nnzoo.load(tmp_path / "model.pt")
    partial = [g for g in rnn_safe_globals(nnzoo, RNNModel) if g is not nnzoo.nn.Embedding]
    with serialization.safe_globals(partial), \
            pytest.raises(nnzoo.io.WeightsOnlyError, match=r"its pickle names nnzoo\.nn\.\S+\.Embedding, "):
        nnzoo.load(tmp_path / "model.pt")
    # main.py's list: torch loads its model with it, nnzoo its own
    with torch.serialization.safe_globals(rnn_safe_globals(torch, TorchRNNModel)):
        assert type(torch.load(tmp_path / "torch_model.pt")) is TorchRNNModel
    with open(tmp_path / "model.pt", "rb") as f, serialization.safe_globals(rnn_safe_globals(nnzoo, RNNModel)):
        back = nnzoo.load(f)
    assert serialization.get_safe_globals() == []
    assert type(back) is RNNModel and repr(back) == repr(model)
    assert list(back.state_dict()) == list(model.state_dict())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    assert all(type(p) is nnzoo.nn.Parameter and p.requires_grad for p in back.parameters())
    x = nnzoo.randint(0, 40, (7, 3))
    model.eval()
    back.eval()
    out, _ = model(x, model.init_hidden(3))
    out_back, _ = back(x, back.init_hidden(3))
    np.testing.assert_array_equal(out_back.detach().numpy(), out.detach().numpy())
    # and it trains on
    back.train()
    out_back, _ = back(x, back.init_hidden(3))
    nnzoo.nn.functional.nll_loss(out_back, nnzoo.randint(0, 40, (21,))).backward()
    assert all(p.grad is not None for p in back.parameters())


def test_word_language_model_transformer_loads_under_safe_globals(tmp_path):
    nnzoo.manual_seed(0)
    model = TransformerModel(40, 16, 2, 16, 2, dropout=0.2)
    assert type(model.encoder.layers[0].self_attn.out_proj) is nnzoo.nn.modules.linear.NonDynamicallyQuantizableLinear
    assert issubclass(nnzoo.nn.modules.linear.NonDynamicallyQuantizableLinear, nnzoo.nn.Linear)
    nnzoo.save(model, tmp_path / "model.pt")
    torch.manual_seed(0)
    tmodel = TorchTransformerModel(40, 16, 2, 16, 2, dropout=0.2)
    assert type(tmodel.encoder.layers[0].self_attn.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert list(model.state_dict()) == list(tmodel.state_dict())
    expected = _unsafe_in_torch(tmodel, tmp_path)
    assert _short(serialization.get_unsafe_globals_in_checkpoint(tmp_path / "model.pt")) == _short(expected)
    with pytest.raises(nnzoo.io.WeightsOnlyError, match=rf"its pickle names {__name__}\.TransformerModel, "):
        nnzoo.load(tmp_path / "model.pt")
    with torch.serialization.safe_globals(transformer_safe_globals(torch, TorchPositionalEncoding,
                                                                   TorchTransformerModel)):
        assert type(torch.load(tmp_path / "torch_model.pt")) is TorchTransformerModel
    with serialization.safe_globals(transformer_safe_globals(nnzoo, PositionalEncoding, TransformerModel)):
        back = nnzoo.load(tmp_path / "model.pt")
    assert type(back) is TransformerModel and repr(back) == repr(model)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    x = nnzoo.randint(0, 40, (9, 3))
    model.eval()
    back.eval()
    np.testing.assert_array_equal(back(x).detach().numpy(), model(x).detach().numpy())
