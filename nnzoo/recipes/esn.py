"""Recipe ``esn``: an echo state network predicting the Mackey-Glass series one step ahead, and running free.

reservoirpy's README example, the same settings: the Mackey-Glass series (tau 17, 2,000 steps, reservoirpy's
discretisation and its default history, so the very series of ``reservoirpy.datasets.mackey_glass(2000)``: see
:func:`mackey_glass`), input u(t) and target u(t+1), the last 20% held out, 100 units, spectral radius 1.25, leak
rate 0.3, ridge 1e-5, a warm-up of 100 steps; reservoirpy's README reports RMSE 0.0020 and R^2 0.99992::

    nnzoo train esn --set units=100 spectral_radius=1.25 leak_rate=0.3 ridge=1e-5 timesteps=2000

Then the readout, trained for one-step prediction, is run free from the end of the training part (each prediction
fed back as the next input) for ``generate_steps`` steps: the ``horizon`` is the number of steps before its error
first exceeds ``horizon_threshold`` times the series' standard deviation.

result.json's ``test``: ``rmse``, ``r2``, ``nrmse`` (RMSE / standard deviation of the targets) of the one-step
predictions, ``horizon``, ``free_run_nrmse`` (over the generated steps), ``seconds`` (reservoir run + readout fit);
the pictures: predictions against the truth (one step and free running), and a few reservoir units' states.
"""
from __future__ import annotations

import time

import numpy as np

from ..zoo.esn import ESN
from . import Recipe, register

__all__ = ["mackey_glass", "forecasting_split", "load_data", "build_model", "fit", "regression_scores"]

DEFAULTS = {"units": 100, "spectral_radius": 1.25, "leak_rate": 0.3, "input_scaling": 1.0, "input_connectivity": 0.1,
            "rc_connectivity": 0.1, "ridge": 1e-5, "timesteps": 2000, "test_size": 0.2, "warmup": 100,
            "tau": 17, "series_seed": 5555, "generate_steps": 400, "horizon_threshold": 0.2}

CONSTRAINTS = {
    "spectral_radius": (lambda v, c: v >= 0, "a number >= 0"),
    "leak_rate": (lambda v, c: 0 < v <= 1, "a number in (0, 1]"),
    "input_scaling": (lambda v, c: v > 0, "a number > 0"),
    "input_connectivity": (lambda v, c: 0 < v <= 1, "a number in (0, 1]"),
    "rc_connectivity": (lambda v, c: 0 < v <= 1, "a number in (0, 1]"),
    "ridge": (lambda v, c: v >= 0, "a number >= 0"),
    "timesteps": (lambda v, c: v >= 50, "an integer >= 50"),
    "test_size": (lambda v, c: 0 < v < 1, "a number in (0, 1)"),
    "warmup": (lambda v, c: 0 <= v < c["timesteps"] * (1 - c["test_size"]) - 10,
               "an integer >= 0, well below the training steps (timesteps * (1 - test_size))"),
    "tau": (lambda v, c: v >= 1, "an integer >= 1"),
    "series_seed": (lambda v, c: v >= 0, "an integer >= 0"),
    "generate_steps": (lambda v, c: v >= 0, "an integer >= 0"),
    "horizon_threshold": (lambda v, c: v > 0, "a number > 0"),
}


def mackey_glass(n_timesteps: int, tau: int = 17, a: float = 0.2, b: float = 0.1, n: int = 10, x0: float = 1.2,
                 h: float = 1.0, seed: int = 5555, history: np.ndarray | None = None) -> np.ndarray:
    """The Mackey-Glass series dx/dt = a x(t - tau) / (1 + x(t - tau)^n) - b x(t), (n_timesteps, 1) float64,
    discretised as reservoirpy's ``mackey_glass`` does (its ``_mg_rk4`` step with the delayed value held fixed
    over the step) from the same history: ``x0 + 0.2 (U[0, 1) - 0.5)`` drawn by ``numpy.random.default_rng(seed)``
    (reservoirpy's default seed is 5555), or ``history`` when given. Equal to reservoirpy's series (tested)."""
    lag = int(np.floor(tau / h))
    if history is None:
        past = x0 * np.ones(lag) + 0.2 * (np.random.default_rng(seed).random(lag) - 0.5)
    else:
        if len(history) < lag:
            raise ValueError(f"mackey_glass: the history has {len(history)} values < tau / h = {lag}")
        past = np.asarray(history, dtype=np.float64)[-lag:]
    X = np.empty(lag + n_timesteps)
    X[:lag] = past
    xt, bh = x0, -b * h
    for i in range(lag, lag + n_timesteps):
        X[i] = xt
        xtau = X[i - lag]
        k1 = bh * xt + a * xtau / (1 + xtau ** n)
        k2 = 2 * k1 + bh * k1
        k3 = 2 * k1 + bh * k2
        k4 = k1 + bh * k3
        xt = xt + (k1 + k2 + k3 + k4) / 6
    return X[lag:].reshape(-1, 1)


def forecasting_split(series: np.ndarray, test_size: float) -> tuple:
    """(x_train, x_test, y_train, y_test): inputs x(t) and targets x(t+1), the last ``test_size`` of the pairs held
    out (reservoirpy's ``to_forecasting(series, test_size=...)``)."""
    x, y = series[:-1], series[1:]
    n_test = round(len(series) * test_size)
    return x[:-n_test], x[-n_test:], y[:-n_test], y[-n_test:]


def load_data(config: dict) -> tuple:
    """The Mackey-Glass series of the config and its forecasting split: (series, (x_train, x_test, y_train,
    y_test))."""
    series = mackey_glass(config["timesteps"], tau=config["tau"], seed=config["series_seed"])
    return series, forecasting_split(series, config["test_size"])


def build_model(config: dict, seed: int = 0) -> ESN:
    """An :class:`~nnzoo.zoo.esn.ESN` with the config's reservoir and ridge."""
    return ESN(config["units"], spectral_radius=config["spectral_radius"], leak_rate=config["leak_rate"],
               input_scaling=config["input_scaling"], input_connectivity=config["input_connectivity"],
               rc_connectivity=config["rc_connectivity"], ridge=config["ridge"], seed=seed)


def regression_scores(y: np.ndarray, p: np.ndarray) -> dict:
    """``rmse``, ``r2`` (1 - SSE / SST) and ``nrmse`` (RMSE / standard deviation of y) of predictions p."""
    y, p = np.asarray(y, dtype=np.float64).ravel(), np.asarray(p, dtype=np.float64).ravel()
    rmse = float(np.sqrt(np.mean((y - p) ** 2)))
    return {"rmse": rmse, "r2": float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)),
            "nrmse": rmse / float(y.std())}


def free_run(model: ESN, x_train, y_train, series, steps: int, warmup: int, threshold: float) -> dict:
    """Teacher-force through the training part, then generate ``steps`` steps; the horizon is the first step whose
    absolute error exceeds ``threshold`` x the series' standard deviation (``steps`` if none does)."""
    model.fit(x_train, y_train, warmup=warmup)
    n = min(steps, len(series) - len(x_train) - 1)
    truth = series[len(x_train) + 1:len(x_train) + 1 + n, 0]
    gen = model.generate(n, y_train[-1]).numpy()[:, 0] if n else np.zeros(0)
    bad = np.nonzero(np.abs(gen - truth) > threshold * series.std())[0]
    return {"horizon": int(bad[0]) if len(bad) else n, "generated": gen, "truth": truth,
            "free_run_nrmse": regression_scores(truth, gen)["nrmse"] if n else None}


def fit(model: ESN, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """Fit the readout by teacher forcing, predict the held-out part, run free, draw (the esn recipe's ``fit``
    hook)."""
    series, (x_train, x_test, y_train, y_test) = data
    model = build_model(config, seed=seed)
    t0 = time.perf_counter()
    model.fit(x_train, y_train, warmup=config["warmup"])
    seconds = time.perf_counter() - t0
    pred = model.predict(x_test).numpy()
    scores = regression_scores(y_test, pred)
    run = free_run(model, x_train, y_train, series, config["generate_steps"], config["warmup"],
                   config["horizon_threshold"])
    if progress:
        print(f"one step: RMSE {scores['rmse']:.5f}, R2 {scores['r2']:.6f}; free running: horizon {run['horizon']} "
              f"steps; readout fitted in {seconds:.2f} s")
    model.reset()
    states = model.run_reservoir(x_train[:300]).numpy()
    figures = [(str(_plot_predictions(y_test, pred, run, out_dir / "predictions.png")),
                "one-step and free-running predictions of Mackey-Glass"),
               (str(_plot_states(states, out_dir / "states.png")), "the states of 12 reservoir units")]
    result_test = {**scores, "horizon": run["horizon"], "free_run_nrmse": run["free_run_nrmse"], "seconds": seconds}
    return {"epochs": 1, "val": None, "test": result_test if test else None, "figures": figures,
            "train_seconds": seconds, "model": model,
            "reference": {"library": "reservoirpy", "rmse": 0.0020282, "r2": 0.99992,
                          "source": "reservoirpy's README (same settings)"}}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_predictions(y_test, pred, run, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(10, 6))
    ax = fig.add_subplot(2, 1, 1)
    ax.plot(y_test[:, 0], "k", lw=1, label="truth")
    ax.plot(pred[:, 0], "r--", lw=1, label="one-step prediction")
    ax.set_title("Mackey-Glass, held-out part: one-step prediction")
    ax.legend(loc="upper right")
    ax = fig.add_subplot(2, 1, 2)
    ax.plot(run["truth"], "k", lw=1, label="truth")
    ax.plot(run["generated"], "b--", lw=1, label="free running")
    ax.axvline(run["horizon"], color="gray", ls=":", label=f"horizon ({run['horizon']} steps)")
    ax.set_title("free-running generation from the end of the training part")
    ax.set_xlabel("step")
    ax.legend(loc="upper right")
    return save_figure(fig, path)


def _plot_states(states, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(10, 3.5))
    ax = fig.add_subplot()
    ax.plot(states[:, :12], lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("state")
    ax.set_title("reservoir states (12 units), driven by Mackey-Glass from zero")
    return save_figure(fig, path)


register(Recipe(
    name="esn",
    description="echo state network: Mackey-Glass one-step prediction and free running (reservoirpy's README)",
    build_model=build_model,
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
