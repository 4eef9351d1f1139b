"""nnzoo.onnx.export: each layer family exported, checked by onnx.checker, run in onnxruntime (CPU) and
compared with nnzoo's own output on the same input (rtol 1e-4); dynamic axes run at other sizes."""
import io

import numpy as np
import onnx
import pytest

import nnzoo
import nnzoo.nn.functional as F
from nnzoo import nn
from nnzoo.onnx import UnsupportedOperatorError

ort = pytest.importorskip("onnxruntime")

RTOL, ATOL = 1e-4, 1e-5


def _session(proto):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _flat(out):
    if isinstance(out, nnzoo.Tensor):
        return [out.detach().numpy()]
    if out is None:
        return []
    return [a for o in out for a in _flat(o)]


def _leaves(args):
    if isinstance(args, nnzoo.Tensor):
        return [args]
    if isinstance(args, (tuple, list)):
        return [t for a in args for t in _leaves(a)]
    return []


def roundtrip(model, args, *, runs=(), **kw):
    """Export ``model`` on ``args``, check the ONNX model, and compare onnxruntime with nnzoo on ``args`` and
    on every tuple of inputs in ``runs`` (other sizes along the dynamic axes)."""
    args = args if isinstance(args, tuple) else (args,)
    buf = io.BytesIO()
    proto = nnzoo.onnx.export(model, args, buf, **kw)
    loaded = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(loaded, full_check=True)
    sess = _session(loaded)
    names = [i.name for i in sess.get_inputs()]
    model.eval()
    for inputs in (args,) + tuple(runs):
        inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        tensors = _leaves(inputs)
        got = sess.run(None, {n: t.numpy() for n, t in zip(names, tensors)})
        with nnzoo.no_grad():
            want = _flat(model(*inputs))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
    return proto


def _ops(proto):
    return {n.op_type for n in proto.graph.node}


# ---- MLP, CNN ---------------------------------------------------------------------------------------------------
def test_mlp_linear_relu_dropout_dynamic_batch():
    nnzoo.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 4))
    model.train()  # export switches to eval (dropout off) and restores the mode
    nnzoo.onnx.export(model, nnzoo.randn(3, 8), None)
    assert model.training
    proto = roundtrip(model, nnzoo.randn(3, 8), runs=[nnzoo.randn(7, 8), nnzoo.randn(1, 8)],
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    assert _ops(proto) <= {"Gemm", "Relu", "Identity"}
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {i.name for i in proto.graph.initializer} >= {"0.weight", "0.bias", "3.weight", "3.bias"}


def test_zoo_mlp():
    nnzoo.manual_seed(0)
    model = nnzoo.zoo.MLP(20, [16, 8], 3) if _takes_sizes() else nnzoo.zoo.MLP()
    x = nnzoo.randn(4, _in_features(model))
    roundtrip(model, x, input_names=["x"], dynamic_axes={"x": [0]}, runs=[nnzoo.randn(2, _in_features(model))])


def _takes_sizes():
    import inspect
    return len(inspect.signature(nnzoo.zoo.MLP).parameters) >= 3


def _in_features(model):
    return next(m for m in model.modules() if isinstance(m, nn.Linear)).in_features


def test_lenet5():
    nnzoo.manual_seed(0)
    model = nnzoo.zoo.LeNet5()
    proto = roundtrip(model, nnzoo.randn(2, 1, 32, 32), dynamic_axes={"x": [0]} if _arg0(model) == "x" else None)
    assert {"Conv", "AveragePool", "Tanh"} <= _ops(proto)


def _arg0(model):
    import inspect
    return next(iter(inspect.signature(model.forward).parameters))


def test_digits_cnn_batchnorm_maxpool_flatten():
    nnzoo.manual_seed(0)
    model = nnzoo.zoo.DigitsCNN()
    for m in model.modules():  # running statistics that are not the initial ones
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(nnzoo.randn(m.num_features) * 0.1)
            m.running_var.copy_(nnzoo.rand(m.num_features) + 0.5)
    name = _arg0(model)
    proto = roundtrip(model, nnzoo.randn(3, 1, 8, 8), runs=[nnzoo.randn(5, 1, 8, 8)], input_names=["images"],
                      dynamic_axes={"images": {0: "batch"}})
    assert {"Conv", "MaxPool"} <= _ops(proto), name


def test_conv_family():
    nnzoo.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(3, 4, 3, padding=1, dilation=1)
            self.c2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
            self.c3 = nn.Conv2d(6, 6, 3, padding="same", dilation=2)
            self.t = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
            self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
            self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
            self.ada = nn.AdaptiveAvgPool2d((3, 2))
            self.gn = nn.GroupNorm(2, 4)

        def forward(self, x, img):
            y = F.relu(self.c1(x)).mean(-1)  # (B, 4)
            z = self.c3(self.c2(img))  # (B, 6, 5, 5)
            z = self.gn(self.t(z))  # (B, 4, 10, 10)
            a = self.pool(z) + self.avg(z)
            return y, self.ada(a), F.adaptive_avg_pool2d(z, 1).flatten(1)

    roundtrip(Net(), (nnzoo.randn(2, 3, 10), nnzoo.randn(2, 4, 9, 9)), input_names=["x", "img"],
              dynamic_axes={"x": {0: "batch"}, "img": {0: "batch"}},
              runs=[(nnzoo.randn(4, 3, 10), nnzoo.randn(4, 4, 9, 9))])


def test_cifar_resnet():
    nnzoo.manual_seed(0)
    model = nnzoo.zoo.CifarResNet(depth=8, num_classes=10)
    proto = roundtrip(model, nnzoo.randn(2, 3, 16, 16))
    assert {"Conv", "Relu", "Add"} <= _ops(proto)


def test_resnet18_small_input():
    nnzoo.manual_seed(0)
    model = nnzoo.zoo.resnet18(num_classes=5)
    roundtrip(model, nnzoo.randn(1, 3, 32, 32))


# ---- activations ---------------------------------------------------------------------------------------------------
ACTIVATIONS = [nn.ReLU(), nn.LeakyReLU(0.1), nn.ELU(0.7), nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(),
               nn.Sigmoid(), nn.Tanh(), nn.Softplus(beta=2.0, threshold=5.0), nn.LogSigmoid(), nn.Hardtanh(-0.5, 0.5),
               nn.ReLU6(), nn.Softmax(dim=1), nn.LogSoftmax(dim=-1), nn.Hardswish(), nn.Hardsigmoid()]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda m: repr(m))
def test_activation(act):
    nnzoo.manual_seed(0)
    x = nnzoo.randn(4, 6) * 4
    roundtrip(nn.Sequential(nn.Linear(6, 6), act), x, input_names=["x"], dynamic_axes={"x": [0]},
              runs=[nnzoo.randn(9, 6) * 4])


def test_lerp_addcmul_addcdiv():
    """lerp with a number (both of PyTorch's forms) and with a tensor weight, addcmul and addcdiv with a value."""
    nnzoo.manual_seed(0)

    class Net(nn.Module):
        def forward(self, a, b, w):
            d = b.abs() + 1.0
            return (nnzoo.lerp(a, b, 0.25), nnzoo.lerp(a, b, 0.75), nnzoo.lerp(a, b, w),
                    nnzoo.addcmul(a, b, w, value=0.5), nnzoo.addcdiv(a, w, d), nnzoo.addcdiv(a, b, d, value=-2.0))

    roundtrip(Net(), (nnzoo.randn(3, 4), nnzoo.randn(3, 4), nnzoo.rand(3, 4) * 1.5 - 0.25))


def test_functional_custom_forward():
    """x.view, torch.flatten, + and *, F.relu, indexing, transpose, cat/stack, reductions, in-place ops."""
    nnzoo.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(12, 5)
            self.scale = nn.Parameter(nnzoo.randn(5))

        def forward(self, x):  # x (B, 3, 4)
            h = x.view(x.size(0), -1)  # (B, 12)
            h = F.relu(self.fc(nnzoo.flatten(x, 1)) + h[:, :5] * 2.0)
            h *= self.scale
            h = h - h.mean(dim=1, keepdim=True)
            t = x.transpose(1, 2)[:, -1]  # (B, 3)
            parts = nnzoo.cat([h, t, x[:, 0, 1:3].exp()], dim=1)  # (B, 10)
            s = nnzoo.stack([parts, parts.abs().sqrt().clamp(max=1.0)], dim=-1)
            return s.sum(-1), h.max(dim=1)[0], x.reshape(-1, 4).std(0) * 0 + (x ** 2).sum((1, 2))[0]

    roundtrip(Net(), nnzoo.randn(3, 3, 4), input_names=["x"], dynamic_axes={"x": {0: "batch"}},
              runs=[nnzoo.randn(2, 3, 4)])


def test_reshape_follows_the_batch():
    nnzoo.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):  # (B, T, 4)
            B, T, C = x.shape
            y = self.fc(x.reshape(-1, C)).view(B, T, 2, 2).permute(0, 2, 1, 3)  # (B, 2, T, 2)
            return y.reshape(B, -1) + y.flatten(1).tanh()

    roundtrip(Net(), nnzoo.randn(2, 3, 4), input_names=["x"], dynamic_axes={"x": {0: "batch", 1: "time"}},
              runs=[nnzoo.randn(5, 3, 4), nnzoo.randn(1, 7, 4)])


# ---- embeddings and recurrent layers --------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_embedding_recurrent(mode, batch_first, bidirectional):
    nnzoo.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 6)
            self.rnn = getattr(nn, mode)(6, 5, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
            self.head = nn.Linear(5 * (2 if bidirectional else 1), 3)

        def forward(self, tokens):
            out, state = self.rnn(self.emb(tokens))
            return self.head(out), state

    def tokens(B, T):
        return nnzoo.randint(0, 20, (B, T) if batch_first else (T, B))

    batch = 0 if batch_first else 1
    proto = roundtrip(Net(), tokens(3, 4), input_names=["tokens"], dynamic_axes={"tokens": {batch: "batch"}},
                      runs=[tokens(5, 4), tokens(1, 4)])
    assert {"Gather", mode} <= _ops(proto)


def test_lstm_with_given_state_and_relu_rnn():
    nnzoo.manual_seed(0)
    lstm = nn.LSTM(4, 3)
    h0, c0 = nnzoo.randn(1, 2, 3), nnzoo.randn(1, 2, 3)
    roundtrip(lstm, (nnzoo.randn(5, 2, 4), (h0, c0)))
    rnn = nn.RNN(4, 3, nonlinearity="relu", num_layers=2)
    roundtrip(rnn, (nnzoo.randn(5, 2, 4), nnzoo.randn(2, 2, 3)))


@pytest.mark.parametrize("cell", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cells(cell):
    nnzoo.manual_seed(0)
    m = cell(4, 3)
    x = nnzoo.randn(2, 4)
    h = (nnzoo.randn(2, 3), nnzoo.randn(2, 3)) if cell is nn.LSTMCell else nnzoo.randn(2, 3)
    roundtrip(m, (x, h))


# ---- attention and transformers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention(batch_first):
    nnzoo.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    q = nnzoo.randn(3, 5, 8) if batch_first else nnzoo.randn(5, 3, 8)
    k = nnzoo.randn(3, 4, 8) if batch_first else nnzoo.randn(4, 3, 8)
    proto = roundtrip(mha, (q, k, k))
    assert "Softmax" in _ops(proto)


def test_transformer_encoder_causal_mask():
    nnzoo.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=2)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(5))

        def forward(self, x):
            return self.encoder(x, mask=self.mask)

    roundtrip(Net(), nnzoo.randn(2, 5, 8), input_names=["x"], dynamic_axes={"x": {0: "batch"}},
              runs=[nnzoo.randn(4, 5, 8)])


def test_transformer_decoder_layer_norm_first():
    nnzoo.manual_seed(0)
    layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, norm_first=True, activation="gelu")
    roundtrip(layer, (nnzoo.randn(4, 2, 8), nnzoo.randn(6, 2, 8)))


def test_zoo_gpt():
    nnzoo.manual_seed(0)
    from nnzoo.zoo import gpt
    cfg = gpt.GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=8, dropout=0.0)
    model = gpt.GPT(cfg)
    out = model(nnzoo.randint(0, 11, (2, 6)))
    n = len(_flat(out))  # a None in the result (no loss without targets) is no output, as in torch
    proto = roundtrip(model, nnzoo.randint(0, 11, (2, 6)), input_names=["idx"], dynamic_axes={"idx": {0: "batch"}},
                      runs=[nnzoo.randint(0, 11, (3, 6))])
    assert len(proto.graph.output) == n


# ---- options and errors ---------------------------------------------------------------------------------------------
def test_path_opset_and_export_params(tmp_path):
    nnzoo.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    x = nnzoo.randn(2, 3)
    path = tmp_path / "m.onnx"
    nnzoo.onnx.export(model, (x,), str(path), opset_version=17, verbose=False, dynamo=False)
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 17
    got = _session(proto).run(None, {proto.graph.input[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=RTOL, atol=ATOL)
    bare = nnzoo.onnx.export(model, (x,), None, export_params=False)
    assert not bare.graph.initializer and len(bare.graph.input) == 3
    with pytest.raises(ValueError, match="opset_version 9"):
        nnzoo.onnx.export(model, (x,), None, opset_version=9)


def test_custom_function_is_refused_by_name():
    class Twice(nnzoo.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Net(nn.Module):
        def forward(self, x):
            return Twice.apply(x)

    with pytest.raises(NotImplementedError, match="Twice"):
        nnzoo.onnx.export(Net(), nnzoo.randn(2), None)


def test_lstm_projection_is_refused():
    with pytest.raises(UnsupportedOperatorError, match="proj_size"):
        nnzoo.onnx.export(nn.LSTM(4, 3, proj_size=2), nnzoo.randn(5, 2, 4), None)


def test_values_computed_outside_the_ops_are_refused():
    class Net(nn.Module):
        def forward(self, x):
            mask = nnzoo.tensor(x.detach().numpy() > 0)  # a NumPy round trip: the graph cannot see it
            return x.masked_fill(mask, 0.0)

    with pytest.raises(UnsupportedOperatorError, match=r"computed from the inputs outside|depends on the input values"):
        nnzoo.onnx.export(Net(), nnzoo.randn(3, 4), None)
