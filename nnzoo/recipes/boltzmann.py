"""Recipe ``boltzmann``: the 4-2-4 encoder problem of Ackley, Hinton & Sejnowski (1985) learned by a Boltzmann
machine (:mod:`nnzoo.zoo.boltzmann`), ``runs`` independent runs side by side.

Two groups of ``n_visible`` = 4 visible units, V1 and V2, talk only through ``n_hidden`` = 2 hidden units (no
V1-V2 connection); the environment shows the 4 vectors where one V1 unit and the matching V2 unit are on. The
machine must learn a 2-bit code in the hidden units. One learning cycle, as in the paper: the plus phase anneals
``anneals`` chains per vector with the visible units clamped (noisy clamping: an on unit is clamped off with
probability ``noise_on`` = 0.15, an off unit on with ``noise_off`` = 0.05, which keeps the weights finite), the
minus phase as many chains with nothing clamped, each by the paper's schedule (2 time units at T = 20, 2 at 15,
2 at 12, 4 at 10) and statistics over 10 more at T = 10; then the Boltzmann rule with step ``eps`` (``rule``:
``sign``, the paper's fixed steps of 2, or ``linear``).

Every ``check_every`` cycles each run is tested: V1 clamped (noiselessly) to each vector, the rest annealed
(``test_chains`` chains, statistics over 10 time units); a run is solved when, for all 4 vectors, the right V2
unit is on more than half of the time and the others less. Figures (result.json ``test``): ``success_rate``
over the runs (the paper: 250 of 250), the ``median_cycles`` to a solution (the paper: 110; the check's
granularity rounds it up to a multiple of ``check_every``), ``seconds``. ``max_cycles`` = 2,000 (the paper's
longest run took 1,810; measured at seed 0: 20 of 20 solved, the slowest at 650 cycles, 9 CPU seconds).
Pictures: the learning curve (runs solved vs cycles) and the hidden codes and weights of one solved run.

::

    nnzoo train boltzmann --set runs=20 max_cycles=1000 rule=sign eps=2
"""
from __future__ import annotations

import time

import numpy as np

import nnzoo

from ..zoo.boltzmann import ANNEALING_1985, BoltzmannMachine, encoder_connectivity
from . import Recipe, register

__all__ = ["encoder_vectors", "train_encoder", "encoder_test"]

DEFAULTS = {"n_visible": 4, "n_hidden": 2, "runs": 20, "max_cycles": 2000, "eps": 2.0, "rule": "sign",
            "anneals": 5, "noise_on": 0.15, "noise_off": 0.05, "check_every": 10, "test_chains": 10}

CONSTRAINTS = {
    "n_visible": (lambda v, c: v >= 2, "an integer >= 2"),
    "eps": (lambda v, c: v > 0, "a number > 0"),
    "rule": (lambda v, c: v in ("sign", "linear"), "sign or linear"),
    "noise_on": (lambda v, c: 0 <= v < 0.5, "a number in [0, 0.5)"),
    "noise_off": (lambda v, c: 0 <= v < 0.5, "a number in [0, 0.5)"),
}


def encoder_vectors(n: int) -> nnzoo.Tensor:
    """The encoder's n environment vectors over V1 and V2: (n, 2n), unit i of V1 and unit i of V2 on."""
    eye = nnzoo.eye(n)
    return nnzoo.cat([eye, eye], dim=1)


def _layout(n_visible, n_hidden):
    """Indices of V1, H and V2 in the machine."""
    v1 = list(range(n_visible))
    h = list(range(n_visible, n_visible + n_hidden))
    v2 = list(range(n_visible + n_hidden, 2 * n_visible + n_hidden))
    return v1, h, v2


def _states(bm, visible, units, generator):
    """(M, B, N) states with ``visible`` (M, B, len(units)) written at ``units`` and random 0/1 elsewhere, and
    the clamp mask (1, 1, N) of ``units``."""
    m, b, _ = visible.shape
    s = (nnzoo.rand(m, b, bm.n_units, generator=generator) < 0.5).float()
    clamp = nnzoo.zeros(1, 1, bm.n_units)
    clamp[..., units] = 1.0
    s[..., units] = visible
    return s, clamp


def encoder_test(bm: BoltzmannMachine, config: dict, generator: nnzoo.Generator) -> tuple[nnzoo.Tensor, dict]:
    """Which runs complete V2 from V1 for every vector (M,) bool, and the test's V2 and hidden activities
    (M, n, len(V2)) and (M, n, len(H)) averaged over the chains."""
    n = config["n_visible"]
    v1, hid, v2 = _layout(n, config["n_hidden"])
    chains = config["test_chains"]
    vis = nnzoo.eye(n).repeat_interleave(chains, dim=0)                       # (n * chains, n)
    s, clamp = _states(bm, vis.expand(bm.n_nets, -1, -1).contiguous(), v1, generator)
    _, _, act = bm.anneal(s, clamp, generator=generator)                     # act (M, B, N)
    act = act.reshape(bm.n_nets, n, chains, bm.n_units).mean(2)               # (M, n, N)
    out = act[..., v2]                                                        # (M, n, n)
    eye = nnzoo.eye(n).bool()
    ok = ((out > 0.5) == eye).all(-1).all(-1)                                 # (M,)
    return ok, {"v2": out, "hidden": act[..., hid]}


def train_encoder(config: dict, generator: nnzoo.Generator, progress: bool = False) -> dict:
    """``runs`` machines learning the encoder until solved or ``max_cycles``; returns the machine, the cycle each
    run was first found solved (None: never), the curve of runs solved and the last test."""
    n, nh, runs = config["n_visible"], config["n_hidden"], config["runs"]
    v1, _hid, v2 = _layout(n, nh)
    visible_units = v1 + v2
    bm = BoltzmannMachine(2 * n + nh, encoder_connectivity(n, nh), n_nets=runs)
    env = encoder_vectors(n).repeat_interleave(config["anneals"], dim=0)      # (B, 2n)
    env = env.expand(runs, -1, -1).contiguous()                               # (M, B, 2n)
    solved_at = [None] * runs
    curve = []
    for cycle in range(1, config["max_cycles"] + 1):
        u = nnzoo.rand(*env.shape, generator=generator)
        noisy = nnzoo.where(env > 0, (u >= config["noise_on"]).float(), (u < config["noise_off"]).float())
        s, clamp = _states(bm, noisy, visible_units, generator)
        _, co_plus, act_plus = bm.anneal(s, clamp, generator=generator)
        free = (nnzoo.rand(*s.shape, generator=generator) < 0.5).float()
        _, co_minus, act_minus = bm.anneal(free, generator=generator)
        active = nnzoo.tensor([float(a is None) for a in solved_at])
        bm.learn_((co_plus, act_plus), (co_minus, act_minus), config["eps"], config["rule"], active=active)
        if cycle % config["check_every"] == 0:
            ok, last = encoder_test(bm, config, generator)
            for r, good in enumerate(ok.tolist()):
                if good and solved_at[r] is None:
                    solved_at[r] = cycle
            done = sum(a is not None for a in solved_at)
            curve.append((cycle, done))
            if progress:
                print(f"cycle {cycle}: {done}/{runs} runs solved")
            if done == runs:
                break
    ok, last = encoder_test(bm, config, generator)
    return {"model": bm, "solved_at": solved_at, "curve": curve, "last_test": last, "solved_now": ok}


def fit(model, config: dict, data, out_dir, *, seed: int = 0, progress: bool = True, test: bool = True,
        resume: bool = False) -> dict:
    """The ``fit`` hook: train the runs, report the success rate and the cycles, draw."""
    g = nnzoo.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    out = train_encoder(config, g, progress)
    seconds = time.perf_counter() - t0
    cycles = [c for c in out["solved_at"] if c is not None]
    result = {"success_rate": len(cycles) / config["runs"],
              "median_cycles": float(np.median(cycles)) if cycles else None,
              "max_cycles_to_solve": max(cycles) if cycles else None, "seconds": seconds}
    figures = [(str(_plot_curve(out["curve"], config, out_dir / "learning_curve.png")),
                "runs solved vs learning cycles"),
               (str(_plot_solution(out, config, out_dir / "solution.png")), "hidden codes and weights of one run")]
    return {"epochs": max(cycles) if cycles else config["max_cycles"], "val": None, "test": result,
            "figures": figures, "solved_at": out["solved_at"], "paper": {"success_rate": 1.0, "median_cycles": 110},
            "annealing": [list(a) for a in ANNEALING_1985], "model": out["model"]}


# ---- pictures -------------------------------------------------------------------------------------------------

def _plot_curve(curve, config, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    if curve:
        c, d = zip(*curve)
        ax.step(c, np.array(d) / config["runs"], where="post")
    ax.axvline(110, color="k", ls="--", lw=1, label="paper's median (110 cycles)")
    ax.set_xlabel("learning cycles")
    ax.set_ylabel("fraction of runs solved")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{config['n_visible']}-{config['n_hidden']}-{config['n_visible']} encoder, "
                 f"{config['runs']} runs")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _plot_solution(out, config, path):
    from ..viz.plots import _figure, save_figure
    solved = [r for r, c in enumerate(out["solved_at"]) if c is not None]
    r = solved[0] if solved else 0
    fig = _figure(figsize=(8, 3.5))
    ax = fig.add_subplot(1, 2, 1)
    ax.imshow(out["last_test"]["hidden"][r].numpy(), cmap="gray_r", vmin=0, vmax=1)
    ax.set_xlabel("hidden unit")
    ax.set_ylabel("input vector (V1 unit on)")
    ax.set_title(f"run {r}: hidden codes")
    ax = fig.add_subplot(1, 2, 2)
    w = out["model"].weight[r].numpy()
    lim = float(np.abs(w).max()) or 1.0
    im = ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.colorbar(im, ax=ax)
    ax.set_title("weights (V1 | H | V2)")
    return save_figure(fig, path)


register(Recipe(
    name="boltzmann",
    description="Boltzmann machine: the 4-2-4 encoder by simulated annealing and the Ackley-Hinton-Sejnowski "
                "rule, success rate over 20 runs",
    build_model=lambda c: BoltzmannMachine(2 * c["n_visible"] + c["n_hidden"],
                                           encoder_connectivity(c["n_visible"], c["n_hidden"]), n_nets=c["runs"]),
    load_data=lambda c: None,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
