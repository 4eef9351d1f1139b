"""The notes' CIFAR Net (the PyTorch tutorial's code run with ``import nnzoo as torch``), LeNet-5 and the
digits CNN: torch parity with copied weights, shapes, parameter counts, and the digits CNN learning. The cnn
recipe: tests/recipes/test_lenet.py."""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.zoo.lenet import DigitsCNN, DigitsCNNConfig, LeNet5, Net


@pytest.fixture(autouse=True)
def _seeded():
    """Deterministic random weights in both libraries."""
    torch.manual_seed(0)
    nnzoo.manual_seed(0)


# The notes' homework: PyTorch's "Training a classifier" tutorial, verbatim below the import lines.
TORCH_IMPORTS = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
"""
NNZOO_IMPORTS = """
import nnzoo as torch
import nnzoo.nn as nn
import nnzoo.nn.functional as F
import nnzoo.optim as optim
"""
NOTES_NET = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1) # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


net = Net()
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=LR, momentum=0.9)


def train_step(inputs, labels):
    # zero the parameter gradients
    optimizer.zero_grad()

    # forward + backward + optimize
    outputs = net(inputs)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    return outputs, loss
"""


def _run(imports, lr):
    ns = {"LR": lr}
    exec(imports + NOTES_NET, ns)
    return ns


def _np(t):
    return np.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach(), dtype=np.float64)


@pytest.mark.parametrize("lr", [0.001, 0.1])  # the tutorial's rate, and one that moves the weights visibly
def test_notes_net_matches_pytorch_outputs_gradients_and_three_sgd_momentum_steps(lr):
    th, nz = _run(TORCH_IMPORTS, lr), _run(NNZOO_IMPORTS, lr)
    nz["net"].load_state_dict(th["net"].state_dict())
    initial = {k: _np(v) for k, v in th["net"].state_dict().items()}
    rng = np.random.default_rng(0)
    for step in range(3):
        images = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
        labels = rng.integers(0, 10, 4)
        out_t, loss_t = th["train_step"](torch.tensor(images), torch.tensor(labels))
        out_n, loss_n = nz["train_step"](nnzoo.tensor(images), nnzoo.tensor(labels))
        np.testing.assert_allclose(_np(out_n), _np(out_t), atol=1e-4, err_msg=f"outputs, step {step}")
        assert abs(loss_n.item() - loss_t.item()) < 1e-4
        params_t = dict(th["net"].named_parameters())
        for name, p in nz["net"].named_parameters():
            np.testing.assert_allclose(_np(p.grad), _np(params_t[name].grad), atol=1e-4,
                                       err_msg=f"{name}.grad, step {step}")
            np.testing.assert_allclose(_np(p), _np(params_t[name]), atol=1e-4, err_msg=f"{name}, step {step}")
    # the weights moved by more than the tolerance: the comparison is not between two untouched copies
    moved = max(np.abs(_np(p) - initial[k]).max() for k, p in nz["net"].named_parameters())
    assert moved > (1e-3 if lr == 0.1 else 1e-5)


def test_zoo_net_is_the_notes_net():
    th = _run(TORCH_IMPORTS, 0.001)["net"]
    net = Net()
    assert list(net.state_dict()) == list(th.state_dict())
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == \
           {k: tuple(v.shape) for k, v in th.state_dict().items()}
    net.load_state_dict(th.state_dict())
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(_np(net(nnzoo.tensor(x))), _np(th(torch.tensor(x))), atol=1e-5)


@pytest.mark.parametrize("kwargs, shape, fc1_in", [
    (dict(), (2, 3, 32, 32), 16 * 5 * 5),
    (dict(in_channels=1, input_size=28), (2, 1, 28, 28), 16 * 4 * 4),     # 28 -> 24 -> 12 -> 8 -> 4
    (dict(in_channels=1, input_size=8, padding=2, num_classes=7), (2, 1, 8, 8), 16 * 2 * 2),  # 8 -> 4 -> 2
])
def test_net_is_configurable(kwargs, shape, fc1_in):
    net = Net(**kwargs)
    assert net.fc1.in_features == fc1_in
    assert net(nnzoo.zeros(*shape)).shape == (2, kwargs.get("num_classes", 10))


def test_net_rejects_an_input_that_vanishes():
    with pytest.raises(ValueError, match="padding=2"):
        Net(in_channels=1, input_size=8)


class TorchLeNet5(torch.nn.Module):
    """The same architecture written in torch, for parity."""

    def __init__(self, padding=0):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 6, 5, padding=padding)
        self.s2 = torch.nn.AvgPool2d(2)
        self.c3 = torch.nn.Conv2d(6, 16, 5)
        self.s4 = torch.nn.AvgPool2d(2)
        self.c5 = torch.nn.Conv2d(16, 120, 5)
        self.f6 = torch.nn.Linear(120, 84)
        self.output = torch.nn.Linear(84, 10)

    def forward(self, x):
        x = self.s4(self.c3(self.s2(self.c1(x).tanh())).tanh())
        x = torch.flatten(self.c5(x).tanh(), 1)
        return self.output(self.f6(x).tanh())


@pytest.mark.parametrize("padding, size", [(0, 32), (2, 28)])
def test_lenet5_matches_torch_forward_and_backward(padding, size):
    th = TorchLeNet5(padding).double()
    nz = LeNet5(padding=padding, input_size=size).double()
    nz.load_state_dict(th.state_dict())
    x = np.random.default_rng(2).standard_normal((3, 1, size, size))
    xt, xn = torch.tensor(x, requires_grad=True), nnzoo.tensor(x, requires_grad=True)
    yt, yn = th(xt), nz(xn)
    np.testing.assert_allclose(_np(yn), _np(yt), atol=1e-10)
    u = np.random.default_rng(3).standard_normal(yt.shape)
    (yt * torch.tensor(u)).sum().backward()
    (yn * nnzoo.tensor(u)).sum().backward()
    np.testing.assert_allclose(_np(xn.grad), _np(xt.grad), atol=1e-10)
    params_t = dict(th.named_parameters())
    for name, p in nz.named_parameters():
        np.testing.assert_allclose(_np(p.grad), _np(params_t[name].grad), atol=1e-10, err_msg=name)


def test_lenet5_layers_and_parameter_count():
    m = LeNet5()
    # the paper's layer sizes: C1 6@5x5 on 1 map, C3 16@5x5 (here on all 6 maps), C5 120@5x5, F6 84, 10 outputs
    expected = (6 * 1 * 25 + 6) + (16 * 6 * 25 + 16) + (120 * 16 * 25 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert sum(p.numel() for p in m.parameters()) == expected
    with pytest.raises(ValueError, match="too small"):
        LeNet5(input_size=28)


def test_digits_cnn_shapes_and_config():
    m = DigitsCNN()
    assert m(nnzoo.zeros(5, 1, 8, 8)).shape == (5, 10)
    small = DigitsCNN(DigitsCNNConfig(channels=(4, 8), hidden=16, num_classes=3))
    assert small(nnzoo.zeros(2, 1, 8, 8)).shape == (2, 3)
    assert small.classifier[1].in_features == 8 * 2 * 2
    assert DigitsCNN(hidden=20).config.hidden == 20


def test_digits_cnn_learns_the_digits():
    """A short run on the real 8x8 digits (the stratified 70/10/20 split): well above chance in 2 epochs."""
    from nnzoo.data import DataLoader, train_val_test_split
    from nnzoo.data.datasets import digits
    from nnzoo.train import Trainer
    ds = digits()
    train, _, test = train_val_test_split(ds, val=0.1, test=0.2, stratify=ds.tensors[1], seed=0)
    model = DigitsCNN()
    trainer = Trainer(model, nnzoo.nn.CrossEntropyLoss(), nnzoo.optim.Adam(model.parameters(), lr=3e-3),
                      metrics="accuracy", progress=False, seed=0)
    trainer.fit(DataLoader(train, batch_size=32, shuffle=True, generator=nnzoo.Generator().manual_seed(0)),
                epochs=2)
    assert trainer.evaluate(DataLoader(test, batch_size=512))["accuracy"] >= 0.9
