"""Recipe ``lsm``: a liquid state machine classifying jittered Poisson spike templates (Maass, Natschlaeger &
Markram 2002's task), accuracy against jitter, with a raster plot.

The task: ``templates`` spike patterns, each ``channels`` Poisson spike trains of ``rate`` Hz over ``duration`` ms;
a sample is a template with every spike moved by Gaussian jitter of SD sigma (spikes pushed outside the window are
dropped). For every sigma in ``jitters`` a fresh training and test set (``train_per_class`` and ``test_per_class``
samples per template) drive the liquid (:class:`~nnzoo.zoo.lsm.LSM`: 135 leaky integrate-and-fire neurons with
dynamic synapses) and a linear readout of its exponentially filtered spike trains at the end of the pattern
(ridge regression, one-vs-rest, the penalty chosen on a fifth of the training set) names the template.

No peer library is needed (none trains this task; Brian2 or NEST would simulate the liquid only); the baseline is
the same readout on the unfiltered input: the whole binned input raster (channels x duration / dt values), which
holds every spike but no smoothing; ``last_ms`` shows the readout of the input's last 30 ms alone (what a readout
without the liquid's fading memory sees at the readout time).

::

    nnzoo train lsm --set templates=6 jitters=0,2,4,8,16,32 train_per_class=40

result.json's ``test``: ``accuracy`` and ``baseline_accuracy`` at ``jitter`` (4 ms, the paper's), ``seconds``
(simulating and reading out every level); ``by_jitter`` holds the three accuracies per sigma; pictures: accuracy
against jitter, and the raster of one sample (inputs and liquid).
"""
from __future__ import annotations

import time

import numpy as np

from ..creation import tensor
from ..dtypes import float64
from ..zoo.esn import ridge_readout
from ..zoo.lsm import LSM
from . import Recipe, register

__all__ = ["make_templates", "jittered", "readout_accuracy", "load_data", "build_model", "fit"]

DEFAULTS = {"templates": 6, "channels": 4, "rate": 20.0, "duration": 200, "dt": 1.0, "jitters": "0,2,4,8,16,32",
            "jitter": 4.0, "train_per_class": 40, "test_per_class": 40, "tau_readout": 30.0, "noise": 0.0,
            "task_seed": 0}
RIDGES = (1e-2, 1e-1, 1.0, 10.0, 100.0)


def _jitters(value):
    try:
        levels = [float(v) for v in str(value).split(",") if v.strip()]
    except ValueError:
        return None
    return levels if levels and all(v >= 0 for v in levels) else None


CONSTRAINTS = {
    "templates": (lambda v, c: v >= 2, "an integer >= 2"),
    "rate": (lambda v, c: v > 0, "a number > 0 (Hz)"),
    "duration": (lambda v, c: v >= 10, "an integer >= 10 (ms)"),
    "dt": (lambda v, c: 0 < v <= 2, "a number in (0, 2] (ms)"),
    "jitters": (lambda v, c: _jitters(v) is not None, "comma-separated jitter SDs >= 0 in ms, e.g. 0,4,16"),
    "jitter": (lambda v, c: v in (_jitters(c["jitters"]) or []), "one of the jitters ({jitters})"),
    "train_per_class": (lambda v, c: v >= 5, "an integer >= 5"),
    "tau_readout": (lambda v, c: v > 0, "a number > 0 (ms)"),
    "noise": (lambda v, c: v >= 0, "a number >= 0 (nA)"),
    "task_seed": (lambda v, c: v >= 0, "an integer >= 0"),
}


def make_templates(n: int, channels: int, rate: float, duration: float, rng: np.random.Generator) -> list:
    """``n`` templates, each a list of ``channels`` sorted spike-time arrays (ms) of a Poisson process at ``rate``
    Hz over [0, duration)."""
    return [[np.sort(rng.uniform(0, duration, rng.poisson(rate * duration / 1000.0))) for _ in range(channels)]
            for _ in range(n)]


def jittered(template: list, sigma: float, duration: float, dt: float, rng: np.random.Generator) -> np.ndarray:
    """A (T, C) spike-count raster (T = duration / dt) of ``template`` with each spike moved by N(0, sigma^2) ms;
    spikes moved out of [0, duration) are dropped."""
    T = round(duration / dt)
    raster = np.zeros((T, len(template)), dtype=np.float32)
    for c, times in enumerate(template):
        t = times + rng.normal(0.0, sigma, len(times)) if sigma > 0 else times
        t = t[(t >= 0) & (t < duration)]
        np.add.at(raster[:, c], np.minimum((t / dt).astype(np.int64), T - 1), 1.0)
    return raster


def readout_accuracy(F_train: np.ndarray, y_train: np.ndarray, F_test: np.ndarray, y_test: np.ndarray,
                     classes: int, rng: np.random.Generator) -> tuple[float, float]:
    """Test accuracy of a ridge one-vs-rest readout (argmax of the outputs), the penalty picked from ``RIDGES`` on a
    random fifth of the training set and the readout then refitted on all of it. Returns (accuracy, penalty)."""
    perm = rng.permutation(len(y_train))
    hold, fit_idx = perm[:len(perm) // 5], perm[len(perm) // 5:]

    def train(F, y, lam):
        W, b = ridge_readout(tensor(F, dtype=float64), tensor(np.eye(classes)[y], dtype=float64), lam)
        return W.numpy(), b.numpy()

    def acc(Wb, F, y):
        return float(((F @ Wb[0] + Wb[1]).argmax(1) == y).mean())
    best = max(RIDGES, key=lambda lam: acc(train(F_train[fit_idx], y_train[fit_idx], lam), F_train[hold],
                                           y_train[hold]))
    return acc(train(F_train, y_train, best), F_test, y_test), best


def load_data(config: dict) -> dict:
    """The templates and, per jitter level, the training and test rasters (B, T, C) with their labels."""
    rng = np.random.default_rng(config["task_seed"])
    K = config["templates"]
    templates = make_templates(K, config["channels"], config["rate"], config["duration"], rng)
    levels = {}
    for sigma in _jitters(config["jitters"]):
        sets = []
        for per in (config["train_per_class"], config["test_per_class"]):
            y = np.repeat(np.arange(K), per)
            X = np.stack([jittered(templates[k], sigma, config["duration"], config["dt"], rng) for k in y])
            sets += [X, y]
        levels[sigma] = tuple(sets)
    return {"templates": templates, "levels": levels}


def build_model(config: dict, seed: int = 0) -> LSM:
    """The paper's 135-neuron liquid for ``channels`` inputs."""
    return LSM(config["channels"], dt=config["dt"], tau_readout=config["tau_readout"], noise=config["noise"],
               seed=seed)


def fit(model: LSM, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """Drive the liquid with every sample, read out its end state, compare with the input readout, draw (the lsm
    recipe's ``fit`` hook)."""
    model = build_model(config, seed=seed)
    rng = np.random.default_rng(seed + 1)
    K, last = config["templates"], max(1, round(30 / config["dt"]))
    rows, rates = [], []
    t0 = time.perf_counter()
    for sigma, (X_tr, y_tr, X_te, y_te) in data["levels"].items():
        run = model.run(tensor(np.concatenate([X_tr, X_te])))
        rates.append(run["rates"])
        end = run["states"][:, -1].numpy().astype(np.float64)  # (B, N) the liquid state at the readout time
        n = len(y_tr)
        liquid, lam = readout_accuracy(end[:n], y_tr, end[n:], y_te, K, rng)
        raw = np.concatenate([X_tr, X_te]).astype(np.float64)
        flat = raw.reshape(len(raw), -1)
        baseline, lam_b = readout_accuracy(flat[:n], y_tr, flat[n:], y_te, K, rng)
        tail = raw[:, -last:].reshape(len(raw), -1)
        last_ms, _ = readout_accuracy(tail[:n], y_tr, tail[n:], y_te, K, rng)
        rows.append({"jitter": sigma, "accuracy": liquid, "baseline_accuracy": baseline, "last_ms_accuracy": last_ms,
                     "ridge": lam, "baseline_ridge": lam_b, "rate_hz": run["rates"]})
        if progress:
            print(f"jitter {sigma:g} ms: liquid {liquid:.3f}, input raster {baseline:.3f}, last 30 ms {last_ms:.3f} "
                  f"(liquid rate {run['rates']:.1f} Hz)")
    seconds = time.perf_counter() - t0
    main = next(r for r in rows if r["jitter"] == config["jitter"])
    sample = tensor(np.stack([jittered(data["templates"][k], config["jitter"], config["duration"], config["dt"], rng)
                              for k in range(min(K, 2))]))
    raster = model.run(sample, record=True)
    figures = [(str(_plot_jitter(rows, K, out_dir / "accuracy_vs_jitter.png")), "accuracy against jitter"),
               (str(_plot_raster(sample.numpy(), raster["spikes"].numpy(), model, config["dt"],
                                 out_dir / "raster.png")), "raster: input spikes and the liquid's response")]
    result_test = {"accuracy": main["accuracy"], "baseline_accuracy": main["baseline_accuracy"],
                   "jitter": config["jitter"], "seconds": seconds}
    return {"epochs": 1, "val": None, "test": result_test if test else None, "figures": figures, "by_jitter": rows,
            "liquid": {"neurons": model.N, "synapses": model.n_synapses, "recurrent_synapses": model.n_recurrent,
                       "mean_rate_hz": float(np.mean(rates))}, "chance": 1.0 / K, "model": model}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_jitter(rows, K, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 4))
    ax = fig.add_subplot()
    j = [r["jitter"] for r in rows]
    ax.plot(j, [r["accuracy"] for r in rows], "o-", label="liquid (filtered spike trains at the end)")
    ax.plot(j, [r["baseline_accuracy"] for r in rows], "s--", label="input raster (unfiltered)")
    ax.plot(j, [r["last_ms_accuracy"] for r in rows], "^:", label="input, last 30 ms only")
    ax.axhline(1.0 / K, color="gray", lw=0.8, label="chance")
    ax.set_xlabel("jitter SD (ms)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"LSM: classifying {K} jittered spike templates")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _plot_raster(inputs, spikes, model, dt, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(10, 6))
    n = len(inputs)
    for i in range(n):
        ax = fig.add_subplot(2, n, i + 1)
        t, c = np.nonzero(inputs[i])
        ax.scatter(t * dt, c, marker="|", s=60, color="k")
        ax.set_yticks(range(inputs.shape[2]))
        ax.set_title(f"template {i}: input channels")
        ax = fig.add_subplot(2, n, n + i + 1)
        t, u = np.nonzero(spikes[i])
        exc = model.excitatory[u]
        ax.scatter(t[exc] * dt, u[exc], marker="|", s=8, color="tab:blue", label="excitatory")
        ax.scatter(t[~exc] * dt, u[~exc], marker="|", s=8, color="tab:red", label="inhibitory")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("neuron")
        ax.set_title("liquid spikes")
        if i == 0:
            ax.legend(fontsize=7, loc="upper right")
    return save_figure(fig, path)


register(Recipe(
    name="lsm",
    description="liquid state machine (LIF + dynamic synapses) classifying jittered Poisson spike templates",
    build_model=build_model,
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
