"""The vanishing gradient, measured (the experiment of :mod:`nnzoo.zoo.gradient_flow`).

On the adding problem (``data.datasets.adding_problem``: the target is the sum of two values marked somewhere
in T steps, so the loss at the last step depends on an input up to T steps back), :func:`compare` trains a
vanilla RNN, an LSTM and a GRU a little and reports, before and after, ``‖∂ℓ/∂h_t‖`` for every t (the mean over
the batch of each sequence's gradient norm) and W_hh's largest singular value; :func:`plot_gradient_flow`
draws the curves on a log scale.
"""
from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..autograd.grad_mode import no_grad
from ..ops.loss import mse_loss
from ..zoo.gradient_flow import AddingRegressor, hidden_state_gradients, largest_singular_value

__all__ = ["compare", "GradientFlow", "plot_gradient_flow", "DEFAULT_MODELS", "AddingRegressor",
           "hidden_state_gradients", "largest_singular_value"]


@dataclass
class GradientFlow:
    """One model's measurements: gradient norms and σ_max(W_hh) before and after training, and the held-out
    mean squared error after (the constant-1 predictor scores 1/6)."""
    kind: str
    norms_init: np.ndarray
    norms_trained: np.ndarray
    sigma_init: float
    sigma_trained: float
    test_mse: float
    losses: list = field(default_factory=list)


DEFAULT_MODELS = {"RNN": ("rnn", None), "LSTM": ("lstm", None), "GRU": ("gru", None),
                  "LSTM, forget bias 2": ("lstm", 2.0)}


def compare(T=50, hidden=32, steps=400, batch_size=64, lr=1e-2, models=None, seed=0):
    """Train each model on the adding problem for ``steps`` Adam steps (gradients clipped to norm 1) and
    measure the gradient flow before and after.

    Args:
        models (dict, optional): label -> (kind, forget_bias): ``kind`` is ``'rnn'``, ``'lstm'`` or ``'gru'``;
            ``forget_bias`` (LSTM only, or None) starts the forget gate's bias there instead of PyTorch's
            uniform init, keeping the gate open at first (Gers et al. 2000; Jozefowicz et al. 2015 recommend
            1). Default: :data:`DEFAULT_MODELS`.

    Returns:
        dict label -> :class:`GradientFlow`.
    """
    from ..data.datasets import adding_problem
    from ..optim import Adam
    from ..random import manual_seed
    X, Y = adding_problem(steps * batch_size if steps else batch_size, T=T, seed=seed).tensors
    Xt, Yt = adding_problem(1000, T=T, seed=seed + 1).tensors
    probe_x, probe_y = Xt[:256], Yt[:256]
    results = {}
    for label, (kind, forget_bias) in (models or DEFAULT_MODELS).items():
        manual_seed(seed)
        model = AddingRegressor(kind, hidden, forget_bias=forget_bias)
        before = hidden_state_gradients(model, probe_x, probe_y)
        sigma0 = largest_singular_value(model)
        opt = Adam(model.parameters(), lr=lr)
        losses = []
        for i in range(steps):
            xb, yb = X[i * batch_size:(i + 1) * batch_size], Y[i * batch_size:(i + 1) * batch_size]
            loss = mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        model.zero_grad()
        after = hidden_state_gradients(model, probe_x, probe_y)
        with no_grad():
            test_mse = mse_loss(model(Xt), Yt).item()
        results[label] = GradientFlow(kind, before, after, sigma0, largest_singular_value(model), test_mse, losses)
    return results


def plot_gradient_flow(results, path, title=None):
    """Draw ‖∂ℓ/∂h_t‖ against t for every model, before and after training (two panels, log scale); save a PNG.

    Returns:
        the path written.
    """
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(11, 4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, when in zip(axes, ("init", "trained")):
        for label, r in results.items():
            norms = r.norms_init if when == "init" else r.norms_trained
            sigma = r.sigma_init if when == "init" else r.sigma_trained
            extra = "" if when == "init" else f", test MSE {r.test_mse:.3f}"
            ax.semilogy(np.arange(1, len(norms) + 1), np.maximum(norms, 1e-30),
                        label=f"{label}: σmax(W_hh) {sigma:.2f}{extra}")
        ax.set_xlabel("time step t (the loss is at the last step)")
        ax.set_title("at initialisation" if when == "init" else
                     f"after {len(next(iter(results.values())).losses)} training steps")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("‖∂ℓ/∂h_t‖ (mean over the batch)")
    fig.suptitle(title or "How much gradient reaches each hidden state (the adding problem)")
    return save_figure(fig, path)
