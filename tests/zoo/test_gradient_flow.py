"""nnzoo.zoo.gradient_flow: the per-step gradient norms against torch, the geometric bound of the notes, and the
comparison that makes the vanishing gradient visible."""
import numpy as np
import pytest
import torch

import nnzoo
from nnzoo.data.datasets import adding_problem
from nnzoo.zoo.gradient_flow import AddingRegressor, hidden_state_gradients, largest_singular_value


def _torch_norms(model, x, y):
    """The same measurement written with torch's cells, the weights copied from the nnzoo model."""
    H = model.rnn.hidden_size
    cell = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[model.kind](2, H)
    head = torch.nn.Linear(H, 1)
    sd = model.state_dict()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.tensor(sd[f"rnn.{name}_l0"].numpy()))
        head.weight.copy_(torch.tensor(sd["head.weight"].numpy()))
        head.bias.copy_(torch.tensor(sd["head.bias"].numpy()))
    xt, yt = torch.tensor(x.numpy()), torch.tensor(y.numpy())
    h = torch.zeros(x.shape[0], H)
    c = torch.zeros(x.shape[0], H)
    states = []
    for t in range(x.shape[1]):
        if model.kind == "lstm":
            h, c = cell(xt[:, t], (h, c))
        else:
            h = cell(xt[:, t], h)
        h.retain_grad()
        states.append(h)
    torch.nn.functional.mse_loss(head(h).squeeze(-1), yt).backward()
    return np.array([s.grad.norm(dim=1).mean().item() for s in states])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_gradient_norms_match_torch(kind):
    nnzoo.manual_seed(1)
    model = AddingRegressor(kind, hidden=6)
    x, y = adding_problem(16, T=12, seed=2).tensors
    ours = hidden_state_gradients(model, x, y)
    np.testing.assert_allclose(ours, _torch_norms(model, x, y), rtol=2e-4, atol=1e-12)
    assert ours.shape == (12,)


def test_vanilla_rnn_gradient_shrinks_at_least_geometrically():
    # ||dl/dh_{t-1}|| <= ||diag(1 - h_t^2)|| * sigma_max(W_hh) * ||dl/dh_t|| <= sigma * ||dl/dh_t|| per sequence
    nnzoo.manual_seed(0)
    model = AddingRegressor("rnn", hidden=8)
    with nnzoo.no_grad():
        w = model.rnn.weight_hh_l0
        w.mul_(0.5 / largest_singular_value(model))
    assert largest_singular_value(model) == pytest.approx(0.5)
    x, y = adding_problem(32, T=20, seed=0).tensors
    norms = hidden_state_gradients(model, x, y)
    assert np.all(norms[:-1] <= 0.5 * norms[1:] * (1 + 1e-5))


def test_forget_bias_opens_the_forget_gate():
    nnzoo.manual_seed(0)
    m = AddingRegressor("lstm", hidden=5, forget_bias=2.0)
    b = m.rnn.bias_ih_l0.detach().numpy() + m.rnn.bias_hh_l0.detach().numpy()
    assert np.all(b[5:10] == 2.0)
    with pytest.raises(ValueError, match="forget_bias is for the LSTM"):
        AddingRegressor("gru", forget_bias=1.0)
