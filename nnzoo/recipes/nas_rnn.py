"""Recipe ``nas-rnn``: neural architecture search for a recurrent cell on character-level Shakespeare, then the
best cell against the hand-designed ones.

The search space is :mod:`nnzoo.zoo.nas_rnn`'s (Zoph & Le 2017 in ENAS's form: N nodes, each reading an earlier
node through one of tanh, ReLU, sigmoid, identity, highway-gated; the loose ends averaged). Each candidate is a
character language model (embedding -> cell -> linear, width ``hidden``) trained for ``candidate_steps`` steps of
truncated BPTT (Adam at ``candidate_lr``) on the first ``train_chars`` characters of the training split; its
fitness is its validation bits per character on the first ``search_val_chars`` characters of the validation
split. The searchers
(``searchers``, comma-separated, each with ``candidates`` evaluations):

* ``evolution``: regularised (ageing) evolution, Real et al. 2019 (``population``, ``tournament``);
* ``random``: random search, Optuna's ``RandomSampler`` through :func:`nnzoo.train.search.search`;
* ``tpe``: Optuna's tree-structured Parzen estimator over the same genes.

The best cell of all the searchers is then re-trained for ``final_steps`` steps beside the LSTM, GRU and
MUT1-3 (``compare``), every model sized to the same parameter count (the NAS model's at ``final_hidden``; each
other model's width chosen to match it), the same data, optimizer and steps, ``final_seeds`` seeds; validation
and test bits per character on ``eval_chars`` characters of each split. ``genotype`` (comma-separated genes)
skips the search and re-trains that cell.

result.json's ``test``: ``bpc`` (the best cell's test bits per character, mean over seeds), ``val_bpc``, the
best ``genotype`` and its reading, ``models`` (each compared model's hidden size, parameter count, validation
and test bpc per seed and mean) and ``search`` (per searcher: its best genotype and fitness, the fitness of
every candidate, seconds per candidate). Pictures: the best cell as a graph, the search's fitness over
candidates, the final learning curves.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import nn, optim
from ..autograd.grad_mode import no_grad
from ..random import manual_seed
from ..zoo.nas_rnn import (
    RECURRENT_KINDS,
    CharLM,
    RegularizedEvolution,
    check_genotype,
    count_parameters,
    draw_cell,
    genotype_nodes,
    genotype_str,
)
from . import ConfigError, Recipe, register
from .char_rnn import WORKS_RULE, sequence_cross_entropy, shakespeare_streams, shakespeare_vocab

__all__ = ["DEFAULTS", "SEARCHERS", "load_data", "build_model", "train_lm", "evaluate_bpc", "matched_hidden",
           "search_evolution", "search_optuna", "parse_genotype", "fit"]

SEARCHERS = ("evolution", "random", "tpe")

DEFAULTS = {"nodes": 8, "highway": True, "hidden": 48, "bptt": 50, "batch_size": 32, "lr": 3e-3,
            "optimizer": "adam", "clip_grad_norm": 5.0, "works": "", "train_chars": 1_000_000,
            "eval_chars": 50_000, "search_val_chars": 10_000, "candidate_steps": 30, "candidate_lr": 1e-2,
            "searchers": "evolution,random", "candidates": 10, "population": 5, "tournament": 2,
            "final_hidden": 64, "final_steps": 250, "final_seeds": 1, "eval_every": 50,
            "compare": "lstm,gru,mut1,mut2,mut3", "genotype": ""}


def parse_genotype(text: str) -> tuple[int, ...]:
    """``'0,0,1,0,3'`` -> ``(0, 0, 1, 0, 3)``, checked (ValueError naming the bad gene)."""
    return check_genotype(tuple(int(v) for v in text.replace(" ", "").strip("()[]").split(",") if v != ""))


def _genotype_ok(value, config):
    if value == "":
        return True
    try:
        parse_genotype(value)
    except ValueError:
        return False
    return True


def _names(value):
    return [v for v in value.split(",") if v]


CONSTRAINTS = {
    "works": WORKS_RULE,
    "searchers": (lambda v, c: all(s in SEARCHERS for s in _names(v)),
                  f"comma-separated names among {', '.join(SEARCHERS)} (or '' with a genotype)"),
    "compare": (lambda v, c: all(k in RECURRENT_KINDS and k != "nas" for k in _names(v)),
                "comma-separated names among lstm, gru, mut1, mut2, mut3 (or '')"),
    "genotype": (_genotype_ok, "'' (search) or comma-separated genes f_0,p_1,f_1,...: activations 0-3 "
                               "(tanh, relu, sigmoid, identity), each p_l < l"),
    "tournament": (lambda v, c: 1 <= v <= c["population"], "an integer in 1..population ({population})"),
    "optimizer": (lambda v, c: v in ("adam", "sgd"), "adam or sgd"),
    "candidate_lr": (lambda v, c: v > 0, "a finite number > 0"),
    "train_chars": (lambda v, c: v >= c["batch_size"] * (c["bptt"] + 1),
                    "an integer >= batch_size * (bptt + 1)"),
    "eval_chars": (lambda v, c: v >= 2 * c["batch_size"], "an integer >= 2 * batch_size"),
    "search_val_chars": (lambda v, c: v >= 2 * c["batch_size"], "an integer >= 2 * batch_size"),
}


# ---- data ----------------------------------------------------------------------------------------------------
def load_data(config: dict) -> tuple:
    """(train, valid, test) int64 NumPy streams of character codes and the vocabulary size."""
    streams = shakespeare_streams({"works": config["works"], "train_chars": config["train_chars"],
                                   "eval_chars": config["eval_chars"]})
    train, valid, test = (s.numpy().astype(np.int64) for s in streams)
    return train, valid, test, len(shakespeare_vocab(config["works"] or None))


def _columns(stream, batch):
    """A stream as ``batch`` columns (L, B): column b holds the b-th contiguous piece."""
    L = len(stream) // batch
    return np.ascontiguousarray(stream[:L * batch].reshape(batch, L).T)


def _detach(state):
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()


def build_model(config: dict, kind: str = "nas", hidden: int | None = None, genotype=None,
                vocab_size: int | None = None) -> CharLM:
    """A :class:`~nnzoo.zoo.nas_rnn.CharLM` (``config['hidden']`` wide; the config's ``genotype``, or a chain of
    tanh nodes before a search has chosen one)."""
    if genotype is None:
        genotype = parse_genotype(config["genotype"]) if config["genotype"] else \
            (0,) + tuple(g for node in range(1, config["nodes"]) for g in (node - 1, 0))
    V = vocab_size or len(shakespeare_vocab(config["works"] or None))
    return CharLM(V, hidden or config["hidden"], kind, genotype if kind == "nas" else None, config["highway"])


def evaluate_bpc(model: nn.Module, stream: np.ndarray, batch: int, bptt: int) -> float:
    """Bits per character of ``model`` on ``stream`` read as ``batch`` columns, state carried chunk to chunk."""
    from ..creation import tensor
    cols = _columns(stream, batch)
    total, count, state = 0.0, 0, None
    with no_grad():
        for start in range(0, len(cols) - 1, bptt):
            chunk = cols[start:start + bptt + 1]
            if len(chunk) < 2:
                break
            x, y = tensor(chunk[:-1]), tensor(chunk[1:])
            logits, state = model(x, state)
            n = y.numel()
            total += float(sequence_cross_entropy(logits, y)) * n
            count += n
    return total / count / math.log(2)


def train_lm(model: nn.Module, config: dict, train: np.ndarray, steps: int, seed: int,
             val: np.ndarray | None = None, eval_every: int = 0) -> dict:
    """Train ``model`` for ``steps`` steps of truncated BPTT (``batch_size`` columns of ``train``, chunks of
    ``bptt``, state carried and detached; Adam or SGD at ``lr``, gradient norm clipped to ``clip_grad_norm``);
    with ``eval_every`` > 0, the validation bpc on ``val`` every that many steps.

    Returns: ``{"steps", "seconds", "diverged", "train_bpc" (mean of the last 10 steps), "curve" [(step,
    val_bpc)]}``; a NaN loss stops training (``diverged``)."""
    from ..creation import tensor
    manual_seed(seed)
    B, T = config["batch_size"], config["bptt"]
    cols = _columns(train, B)
    rng = np.random.default_rng(seed)
    offset = int(rng.integers(0, max(1, len(cols) - T - 1)))     # a seed starts at its own place in the stream
    params = list(model.parameters())
    opt = (optim.Adam(params, lr=config["lr"]) if config["optimizer"] == "adam"
           else optim.SGD(params, lr=config["lr"]))
    state, losses, curve, diverged = None, [], [], False
    model.train()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        if offset + T + 1 > len(cols):
            offset, state = 0, None                                 # wrap around: a fresh state
        chunk = cols[offset:offset + T + 1]
        offset += T
        logits, state = model(tensor(chunk[:-1]), _detach(state))
        loss = sequence_cross_entropy(logits, tensor(chunk[1:]))
        value = float(loss)
        if not math.isfinite(value):
            diverged = True
            break
        opt.zero_grad()
        loss.backward()
        if config["clip_grad_norm"]:
            nn.utils.clip_grad_norm_(params, config["clip_grad_norm"])
        opt.step()
        losses.append(value / math.log(2))
        if eval_every and val is not None and step % eval_every == 0:
            curve.append((step, evaluate_bpc(model, val, B, T)))
            model.train()
    seconds = time.perf_counter() - start
    model.eval()
    return {"steps": len(losses), "seconds": seconds, "diverged": diverged,
            "train_bpc": float(np.mean(losses[-10:])) if losses else math.nan, "curve": curve}


def matched_hidden(kind: str, target: int, config: dict, vocab_size: int, genotype=None) -> tuple[int, int]:
    """The width H whose ``kind`` model has the parameter count nearest ``target``, and that count."""
    def count(h):
        return count_parameters(build_model(config, kind, h, genotype, vocab_size))
    lo, hi = 4, 1024
    while hi - lo > 1:                                      # parameters grow with H: bisect
        mid = (lo + hi) // 2
        if count(mid) <= target:
            lo = mid
        else:
            hi = mid
    best = min((lo, hi), key=lambda h: abs(count(h) - target))
    return best, count(best)


# ---- the search ----------------------------------------------------------------------------------------------
def _candidate(config, data, genotype, seed):
    """One candidate's fitness: validation bpc after the short training (inf when it diverged), and seconds."""
    train, valid, _, V = data
    model = build_model(config, "nas", config["hidden"], genotype, V)
    run = train_lm(model, {**config, "lr": config["candidate_lr"]}, train, config["candidate_steps"], seed)
    t0 = time.perf_counter()
    bpc = math.inf if run["diverged"] else evaluate_bpc(model, valid[:config["search_val_chars"]],
                                                        config["batch_size"], config["bptt"])
    return (bpc if math.isfinite(bpc) else math.inf), run["seconds"], time.perf_counter() - t0


def search_evolution(config: dict, data: tuple, seed: int = 0, progress: bool = False) -> dict:
    """Regularised evolution over ``candidates`` evaluations (:class:`~nnzoo.zoo.nas_rnn.RegularizedEvolution`);
    returns the searcher's summary (see :func:`fit`)."""
    evo = RegularizedEvolution(config["nodes"], config["population"], config["tournament"], seed=seed)
    train_s, eval_s = [], []
    for i in range(config["candidates"]):
        genotype, _ = evo.propose()
        fitness, ts, es = _candidate(config, data, genotype, seed * 100_003 + i)
        evo.tell(fitness)
        train_s.append(ts)
        eval_s.append(es)
        if progress:
            print(f"evolution {i + 1}/{config['candidates']}: {fitness:.3f} bpc  {genotype_str(genotype)}")
    return _summary("evolution", [(ind.genotype, ind.fitness) for ind in evo.history], train_s, eval_s,
                    parents=[ind.parent for ind in evo.history])


def _space(nodes):
    space = {"f0": ("categorical", [0, 1, 2, 3])}
    for node in range(1, nodes):
        space[f"p{node}"] = ("int", 0, node - 1)
        space[f"f{node}"] = ("categorical", [0, 1, 2, 3])
    return space


def search_optuna(config: dict, data: tuple, sampler: str, seed: int = 0, progress: bool = False) -> dict:
    """Random search (``sampler='random'``: Optuna's RandomSampler) or TPE (``'tpe'``) over the genes, through
    :func:`nnzoo.train.search.search`; returns the searcher's summary."""
    from ..train.search import search
    nodes = config["nodes"]
    tried, train_s, eval_s = [], [], []

    def objective(params):
        genotype = (params["f0"],) + tuple(g for n in range(1, nodes) for g in (params[f"p{n}"], params[f"f{n}"]))
        fitness, ts, es = _candidate(config, data, genotype, seed * 100_003 + len(tried))
        tried.append((check_genotype(genotype), fitness))
        train_s.append(ts)
        eval_s.append(es)
        if progress:
            print(f"{sampler} {len(tried)}/{config['candidates']}: {fitness:.3f} bpc  {genotype_str(genotype)}")
        return fitness if math.isfinite(fitness) else 1e9         # a diverged cell: the worst, not a failed trial

    search(objective, _space(nodes), n_trials=config["candidates"], sampler=sampler, seed=seed)
    return _summary(sampler, tried, train_s, eval_s)


def _summary(name, tried, train_s, eval_s, parents=None):
    fits = [f for _, f in tried]
    i = int(np.argmin(fits))
    best_so_far = np.minimum.accumulate(np.array(fits, dtype=float)).tolist()
    out = {"searcher": name, "candidates": len(tried), "best_genotype": list(tried[i][0]),
           "best_cell": genotype_str(tried[i][0]), "best_val_bpc": fits[i], "best_index": i,
           "fitness": [f if math.isfinite(f) else None for f in fits],
           "best_so_far": [f if math.isfinite(f) else None for f in best_so_far],
           "genotypes": [list(g) for g, _ in tried], "diverged": int(sum(not math.isfinite(f) for f in fits)),
           "unique": len({g for g, _ in tried}),
           "train_seconds_per_candidate": float(np.mean(train_s)), "eval_seconds_per_candidate": float(np.mean(eval_s))}
    if parents is not None:
        out["parents"] = parents
    return out


def _mean(values):
    """The mean of the finite values (NaN marks a diverged run), NaN when there is none."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


# ---- the recipe ----------------------------------------------------------------------------------------------
def fit(model: CharLM, config: dict, data: tuple, out_dir, *, seed: int = 0, progress: bool = True,
        test: bool = True, resume: bool = False) -> dict:
    """Search (unless ``genotype`` is given), then re-train the best cell against the hand-designed cells at
    equal parameter count and steps (the ``fit`` hook of ``nas-rnn``)."""
    train, valid, test_stream, V = data
    searchers = _names(config["searchers"])
    if not config["genotype"] and not searchers:
        raise ConfigError("run_recipe('nas-rnn'): searchers is empty and no genotype is given: nothing to train",
                          key="searchers", problem="is empty and no genotype is given")
    if config["genotype"] and genotype_nodes(parse_genotype(config["genotype"])) < 1:
        raise ConfigError("run_recipe('nas-rnn'): genotype is empty", key="genotype", problem="is empty")
    search = {}
    t0 = time.perf_counter()
    if config["genotype"]:
        best = parse_genotype(config["genotype"])
    else:
        for k, name in enumerate(searchers):
            s = seed + 1000 * k
            search[name] = (search_evolution(config, data, s, progress) if name == "evolution"
                            else search_optuna(config, data, name, s, progress))
        winner = min(search.values(), key=lambda r: r["best_val_bpc"])
        best = tuple(winner["best_genotype"])
    search_seconds = time.perf_counter() - t0

    # the final comparison at equal parameter count and equal steps
    B, T = config["batch_size"], config["bptt"]
    nas_model = build_model(config, "nas", config["final_hidden"], best, V)
    target = count_parameters(nas_model)
    models = {"nas": {"hidden": config["final_hidden"], "params": target}}
    for kind in _names(config["compare"]):
        h, n = matched_hidden(kind, target, config, V)
        models[kind] = {"hidden": h, "params": n}
    final_model = None
    for kind, info in models.items():
        info.update(val_bpc=[], test_bpc=[], seconds=[], curves=[], diverged=[])
        for r in range(config["final_seeds"]):
            m = build_model(config, kind, info["hidden"], best, V)
            run = train_lm(m, config, train, config["final_steps"], seed + r, valid, config["eval_every"])
            vb = math.nan if run["diverged"] else evaluate_bpc(m, valid, B, T)
            tb = math.nan if run["diverged"] or not test else evaluate_bpc(m, test_stream, B, T)
            info["val_bpc"].append(vb)
            info["test_bpc"].append(tb)
            info["seconds"].append(run["seconds"])
            info["curves"].append(run["curve"])
            info["diverged"].append(run["diverged"])
            if kind == "nas" and r == 0:
                final_model = m
            if progress:
                print(f"final {kind} (H={info['hidden']}, {info['params']} parameters) seed {seed + r}: "
                      f"val {vb:.3f} test {tb:.3f} bpc, {run['seconds']:.0f} s")
        info["val_bpc_mean"], info["test_bpc_mean"] = _mean(info["val_bpc"]), _mean(info["test_bpc"])
        info["seconds_per_step"] = float(np.sum(info["seconds"]) / (config["final_steps"] * config["final_seeds"]))
    nas = models["nas"]
    ranking = sorted(models, key=lambda k: (math.inf if math.isnan(models[k]["val_bpc_mean"])
                                            else models[k]["val_bpc_mean"]))
    result_test = {"bpc": nas["test_bpc_mean"], "val_bpc": nas["val_bpc_mean"], "genotype": list(best),
                   "cell": genotype_str(best), "params": target, "ranking_by_val_bpc": ranking,
                   "search_beat": [k for k in models if k != "nas" and nas["val_bpc_mean"] < models[k]["val_bpc_mean"]],
                   "models": {k: {kk: v for kk, v in info.items() if kk != "curves"} for k, info in models.items()},
                   "search": {k: {kk: v for kk, v in s.items() if kk not in ("genotypes", "parents")}
                              for k, s in search.items()},
                   "search_seconds": search_seconds}
    figures = [(str(_save(draw_cell(best, title=f"best cell: {genotype_str(best)}", highway=config["highway"]),
                          out_dir / "cell.png")), "the best cell found, as a graph")]
    if search:
        figures.append((str(_plot_search(search, out_dir / "search.png")), "fitness of each candidate"))
    figures.append((str(_plot_curves(models, out_dir / "curves.png")),
                    "validation bits per character while training, equal parameters and steps"))
    return {"epochs": 1, "val": {"bpc": nas["val_bpc_mean"]}, "test": result_test, "figures": figures,
            "search_details": search, "curves": {k: info["curves"] for k, info in models.items()},
            "history": None, "model": final_model}


# ---- pictures ------------------------------------------------------------------------------------------------
def _save(fig, path):
    from ..viz.plots import save_figure
    return save_figure(fig, path)


def _plot_search(search, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(7, 4))
    ax = fig.add_subplot()
    for k, (name, s) in enumerate(search.items()):
        fit_ = [np.nan if f is None else f for f in s["fitness"]]
        ax.scatter(range(1, len(fit_) + 1), fit_, s=10, alpha=0.5, color=f"C{k}")
        ax.plot(range(1, len(fit_) + 1), [np.nan if f is None else f for f in s["best_so_far"]], color=f"C{k}",
                label=f"{name}: best {s['best_val_bpc']:.3f}")
    finite = [f for s in search.values() for f in s["fitness"] if f is not None]
    if finite:
        lo = min(finite)
        ax.set_ylim(lo - 0.05, min(max(finite), lo + 1.5) + 0.05)
    ax.set_xlabel("candidate")
    ax.set_ylabel("validation bits per character")
    ax.set_title("architecture search: each candidate (dots), best so far (lines)")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _plot_curves(models, path):
    from ..viz.plots import _figure, save_figure
    fig = _figure(figsize=(7, 4))
    ax = fig.add_subplot()
    for k, (kind, info) in enumerate(models.items()):
        for r, curve in enumerate(info["curves"]):
            if curve:
                x, y = zip(*curve)
                ax.plot(x, y, color=f"C{k}", alpha=0.8, lw=1.2 if kind == "nas" else 0.9,
                        label=f"{kind} (H={info['hidden']})" if r == 0 else None)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation bits per character")
    ax.set_title(f"equal parameters ({models['nas']['params']:,}) and equal steps")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


register(Recipe(
    name="nas-rnn",
    description="architecture search for a recurrent cell (ageing evolution, random search) on char-level "
                "Shakespeare; the best cell vs LSTM, GRU, MUT1-3 at equal parameters",
    build_model=build_model,
    load_data=load_data,
    defaults=dict(DEFAULTS),
    constraints=CONSTRAINTS,
    fit=fit,
))
