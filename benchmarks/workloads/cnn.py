"""Convolutional training steps, written the PyTorch way and run by both libraries:

- ``cifar_net_step``: the notes' CIFAR-10 ``Net`` (conv1 3->6 5x5, max pool 2, conv2 6->16 5x5, fc
  400->120->84->10, ReLU), CrossEntropyLoss, SGD(lr=0.001, momentum=0.9), batch 64 of 3x32x32;
- ``vgg_small_step``: [conv3x3 3->32, ReLU, conv3x3 32->32, ReLU, max pool 2], [32->64, 64->64] likewise,
  flatten, 4096->256->10, CrossEntropyLoss, SGD(lr=0.01, momentum=0.9), batch 64 of 3x32x32.

Inputs and weights come from NumPy with fixed seeds (weights in PyTorch's default bounds,
U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and are loaded through ``load_state_dict``, so both start equal.
"""
import numpy as np

from ..registry import workload

BATCH, CLASSES = 64, 10


def cnn_data(seed=0):
    """x (64, 3, 32, 32) float32 standard normal, y (64,) int64 class indices in [0, 10)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, CLASSES, size=BATCH).astype(np.int64)
    return x, y


def default_init(shapes, seed=1):
    """{name: float32 array} for a state dict's ``shapes``: every ``*.weight`` and its ``*.bias`` drawn from
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = prod(weight.shape[1:]) (nn.Conv2d's and nn.Linear's bounds)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        weight_shape = shapes[name.rsplit(".", 1)[0] + ".weight"]
        bound = 1.0 / np.sqrt(np.prod(weight_shape[1:]))
        out[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return out


def _load(torch, model, seed=1):
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict({k: torch.tensor(v) for k, v in default_init(shapes, seed).items()})
    return model


def _train_step(torch, model, lr):
    x_np, y_np = cnn_data()
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def step():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


@workload("cifar_net_step", "the notes' CIFAR Net (conv 3->6 k5, pool, conv 6->16 k5, fc 400-120-84-10), batch "
                            "64 of 3x32x32: forward, CrossEntropyLoss, backward, SGD(lr=0.001, momentum=0.9)")
def cifar_net_step(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):  # as the notes write it
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))  # (B, 6, 14, 14)
            x = self.pool(F.relu(self.conv2(x)))  # (B, 16, 5, 5)
            x = x.view(-1, 16 * 5 * 5)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return _train_step(torch, _load(torch, Net()), lr=0.001)


@workload("vgg_small_step", "small VGG, batch 64 of 3x32x32: [conv3x3 3->32, ReLU, conv3x3 32->32, ReLU, "
                            "maxpool 2], [32->64, 64->64] likewise, flatten, 4096->256->10; CrossEntropyLoss, "
                            "backward, SGD(lr=0.01, momentum=0.9)")
def vgg_small_step(torch):
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),                                                       # (B, 32, 16, 16)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),                                                       # (B, 64, 8, 8)
        nn.Flatten(), nn.Linear(64 * 8 * 8, 256), nn.ReLU(), nn.Linear(256, 10))
    return _train_step(torch, _load(torch, model), lr=0.01)
