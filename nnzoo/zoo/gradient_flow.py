"""The vanishing gradient, measured: how much of the loss's gradient reaches each hidden state h_t.

Backpropagation through time multiplies the gradient by the step's Jacobian once per step:
∂ℓ/∂h_{t-1} = (∂h_t/∂h_{t-1})ᵀ ∂ℓ/∂h_t, and for a vanilla RNN ∂h_t/∂h_{t-1} = diag(1 - h_t²) W_hh. When W_hh's
largest singular value times the tanh slope stays below 1 the gradient shrinks geometrically on its way back
(vanishes); above 1 it can grow (explode). The LSTM's cell state c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t gives the
gradient a path multiplied only by the forget gate, and the GRU's h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1} one
multiplied by z_t: when the gates learn to stay open, the gradient reaches far back.

Here: :class:`AddingRegressor`, the many-to-one model of the adding problem, and the two measurements,
:func:`hidden_state_gradients` (``‖∂ℓ/∂h_t‖`` for every t) and :func:`largest_singular_value` (of W_hh). The
experiment that trains a vanilla RNN, an LSTM and a GRU on the adding problem and measures them before and
after is :mod:`nnzoo.recipes.gradient_flow`.
"""
import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..creation import zeros
from ..ops.loss import mse_loss

__all__ = ["AddingRegressor", "hidden_state_gradients", "largest_singular_value"]

_LAYERS = {"rnn": (nn.RNN, nn.RNNCell), "lstm": (nn.LSTM, nn.LSTMCell), "gru": (nn.GRU, nn.GRUCell)}


class AddingRegressor(nn.Module):
    """Many-to-one: a one-layer RNN/LSTM/GRU reads (B, T, 2) and a Linear maps h_T to the predicted sum.

    Example::

        >>> AddingRegressor("gru", hidden=8)(nnzoo.zeros(3, 5, 2)).shape
        nnzoo.Size([3])
    """

    def __init__(self, kind="lstm", hidden=32, input_size=2, forget_bias=None):
        super().__init__()
        if kind not in _LAYERS:
            raise ValueError(f"AddingRegressor: kind must be one of {', '.join(_LAYERS)}, got {kind!r}")
        self.kind = kind
        self.rnn = _LAYERS[kind][0](input_size, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)
        if forget_bias is not None:
            if kind != "lstm":
                raise ValueError("AddingRegressor: forget_bias is for the LSTM")
            with no_grad():  # PyTorch's gate order i, f, g, o: rows H..2H are the forget gate's
                self.rnn.bias_ih_l0[hidden:2 * hidden] = forget_bias
                self.rnn.bias_hh_l0[hidden:2 * hidden] = 0.0

    def forward(self, x):                    # x (B, T, 2)
        out, _ = self.rnn(x)                 # (B, T, H)
        return self.head(out[:, -1]).squeeze(-1)   # (B,)


def _cell_of(model):
    """The model's recurrent layer as a cell with the same weights (weight_ih_l0 -> weight_ih, ...)."""
    layer = model.rnn
    cell = _LAYERS[model.kind][1](layer.input_size, layer.hidden_size)
    with no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(layer, name + "_l0"))
    return cell


def hidden_state_gradients(model, x, y):
    """``‖∂ℓ/∂h_t‖`` for t = 1..T, ℓ the mean squared error of ``model`` on (x, y).

    The model's layer is stepped one time step at a time as a cell with the same weights, keeping every h_t
    (``retain_grad``), so each h_t's gradient holds everything that flows back to it from later steps.

    Returns:
        np.ndarray (T,): for each t, the mean over the batch of the norm of each sequence's ∂ℓ/∂h_t.
    """
    cell = _cell_of(model)
    B, T, _ = x.shape
    h = zeros(B, cell.hidden_size)
    c = zeros(B, cell.hidden_size) if model.kind == "lstm" else None
    states = []
    for t in range(T):
        if c is None:
            h = cell(x[:, t], h)
        else:
            h, c = cell(x[:, t], (h, c))
        h.retain_grad()
        states.append(h)
    loss = mse_loss(model.head(h).squeeze(-1), y)
    loss.backward()
    return np.array([np.linalg.norm(s.grad.numpy(), axis=1).mean() for s in states])


def largest_singular_value(model):
    """σ_max of the recurrent matrix W_hh (for the LSTM and GRU, of all gates' rows stacked)."""
    return float(np.linalg.svd(model.rnn.weight_hh_l0.detach().numpy().astype(np.float64), compute_uv=False)[0])
