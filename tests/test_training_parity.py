"""A model built from nn.Linear / nn.ReLU / nn.CrossEntropyLoss and trained with optim.SGD(momentum) or
optim.Adam follows PyTorch step by step for 20 steps: an MLP 784-256-256-10 on random data, float64. (The
notes' convolutional CIFAR network, with conv and pooling layers, is checked against PyTorch for three
SGD-momentum steps in tests/zoo/test_lenet.py.)"""
import numpy as np
import pytest
import torch

import nnzoo


def _model(m):
    return m.nn.Sequential(m.nn.Linear(784, 256), m.nn.ReLU(), m.nn.Linear(256, 256), m.nn.ReLU(),
                           m.nn.Linear(256, 10))


@pytest.mark.parametrize("opt", ["sgd_momentum", "adam"])
def test_mlp_trains_identically_to_torch_for_20_steps(opt):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 784))
    y = rng.integers(0, 10, 32)
    theirs = _model(torch).double()
    ours = _model(nnzoo).double()
    ours.load_state_dict({k: nnzoo.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    runs = []
    for m, model in ((nnzoo, ours), (torch, theirs)):
        if opt == "sgd_momentum":
            optimizer = m.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        else:
            optimizer = m.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = m.nn.CrossEntropyLoss()
        xs, ys = m.tensor(x), m.tensor(y)
        losses = []
        for _ in range(20):
            optimizer.zero_grad()
            loss = loss_fn(model(xs), ys)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        runs.append((losses, {k: v.detach().numpy() for k, v in model.state_dict().items()}))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-9)
    assert runs[0][0][-1] < runs[0][0][0]
    for k in runs[1][1]:
        np.testing.assert_allclose(runs[0][1][k], runs[1][1][k], rtol=1e-8, atol=1e-10, err_msg=k)


def test_state_dict_moves_both_ways_through_safetensors(tmp_path):
    from safetensors.torch import load_file, save_file
    theirs = _model(torch)
    save_file(theirs.state_dict(), str(tmp_path / "torch.safetensors"))
    ours = _model(nnzoo)
    ours.load_state_dict(nnzoo.load(tmp_path / "torch.safetensors"))
    x = np.random.default_rng(1).standard_normal((5, 784)).astype(np.float32)
    np.testing.assert_allclose(ours(nnzoo.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    ours2 = _model(nnzoo)
    nnzoo.save(ours2.state_dict(), tmp_path / "nnzoo.safetensors")
    theirs.load_state_dict(load_file(str(tmp_path / "nnzoo.safetensors")))
    np.testing.assert_allclose(ours2(nnzoo.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
