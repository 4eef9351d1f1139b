"""nnzoo.zoo.rnn_shapes: the many-to-one classifier learns the digits read row by row; the one-to-many
generator's teacher-forced and free-running paths agree, and it learns to write each class."""
import numpy as np
import pytest

import nnzoo
from nnzoo.data.datasets import digits
from nnzoo.zoo.rnn_shapes import SequenceClassifier, SequenceGenerator


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_classifier_shapes_and_last_state(cell, bidirectional):
    model = SequenceClassifier(8, 6, 10, cell=cell, layers=2, bidirectional=bidirectional)
    x = nnzoo.randn(3, 1, 8, 8)
    assert tuple(model(x).shape) == (3, 10)
    # the classifier reads the top layer's final state(s): the same as the output at the last step (forward
    # direction) and at the first step (backward direction)
    out, _ = model.rnn(x.squeeze(1))
    H = 6
    last = out[:, -1, :H] if not bidirectional else nnzoo.cat([out[:, -1, :H], out[:, 0, H:]], dim=1)
    np.testing.assert_allclose(model(x).detach().numpy(), model.head(last).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_classifier_learns_digits_row_by_row():
    X, y = digits().tensors
    g = np.random.default_rng(0)
    idx = g.permutation(len(y))
    train, test = idx[:1400], idx[1400:]
    nnzoo.manual_seed(0)
    model = SequenceClassifier(8, 64, 10, cell="gru")
    opt = nnzoo.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(6):
        for i in range(0, len(train), 64):
            b = train[i:i + 64]
            loss = nnzoo.nn.functional.cross_entropy(model(X[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with nnzoo.no_grad():
        acc = (model(X[test]).argmax(1) == y[test]).float().mean().item()
    assert acc > 0.9  # chance is 10%


def test_generator_teacher_forcing_reproduces_its_own_rollout():
    nnzoo.manual_seed(1)
    for cell in ("gru", "lstm"):
        gen = SequenceGenerator(10, 8, hidden=12, cell=cell)
        labels = nnzoo.tensor([0, 3, 9])
        rolled = gen.generate(labels, steps=8)
        # fed its own rows as the "true" previous rows, teacher forcing predicts exactly those rows
        np.testing.assert_allclose(gen(labels, rolled).detach().numpy(), rolled.numpy(), rtol=1e-5, atol=1e-6)


def test_generator_learns_to_write_each_class():
    X, y = digits().tensors
    rows = X.squeeze(1) / 16.0  # (N, 8, 8) in [0, 1]
    nnzoo.manual_seed(0)
    gen = SequenceGenerator(10, 8, hidden=64)
    opt = nnzoo.optim.Adam(gen.parameters(), lr=1e-2)
    for step in range(150):
        b = np.random.default_rng(step).integers(0, len(y), 128)
        loss = nnzoo.nn.functional.mse_loss(gen(y[b], rows[b]), rows[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    drawn = gen.generate(nnzoo.arange(10), steps=8).numpy()  # (10, 8, 8)
    means = np.stack([rows.numpy()[y.numpy() == c].mean(0) for c in range(10)])
    dist = ((drawn[:, None] - means[None]) ** 2).sum((2, 3))  # (drawn class, mean class)
    assert (dist.argmin(1) == np.arange(10)).sum() >= 8  # each drawn digit nearest its own class's mean
