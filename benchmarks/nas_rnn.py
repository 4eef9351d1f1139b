"""NAS for recurrent cells (issue 20): search the ENAS-form cell space on character-level Shakespeare with ageing
evolution, random search and TPE; re-train the best cell against the LSTM, GRU and MUT1-3 at equal parameter
count and equal steps, 3 seeds; torch trains the same models (the LSTM, the GRU and the found cell written in
torch) on the same data with the same steps, as the peer.

The task: the first 1,000,000 characters of the Shakespeare training split (88 characters), truncated BPTT with
B = 32 columns and T = 50 steps, Adam, gradients clipped to norm 5. A candidate: an 8-node highway cell of
width 48 (embedding 48, decoder 48 -> 88) trained ``--candidate-steps`` steps at lr 1e-2 (the recipe's
``candidate_lr``: measured 3.43 bpc after 50 steps against 4.0 at 3e-3, so the short run ranks cells after
they have learned more than the unigram statistics); its fitness the validation bits
per character on the first 10,000 characters of the validation split. The searchers: ageing evolution
(population 10, tournament 3), Optuna's RandomSampler, Optuna's TPE, ``--candidates`` each. The final runs:
``--final-steps`` steps at lr 3e-3, every model sized to the parameter count of the best cell's model at width 64 (the
widths that match are stated), seeds 0-2; validation and test bpc on 50,000 characters of each split, state
carried. Results: ``benchmarks/results/nas_rnn.json``, written after every stage.

    python -m benchmarks.nas_rnn [--candidates 30] [--candidate-steps 40] [--final-steps 600] [--seeds 3]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import time

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "results" / "nas_rnn.json"


def _config(args):
    from nnzoo.recipes import recipe_config
    return recipe_config("nas-rnn", {"candidate_steps": args.candidate_steps, "candidates": args.candidates,
                                     "population": args.population, "tournament": args.tournament,
                                     "final_steps": args.final_steps, "final_seeds": args.seeds,
                                     "eval_every": args.eval_every, "searchers": ",".join(args.searchers)})


def _save(result):
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, default=float))
    os.replace(tmp, OUT)


# ---- the torch peer: the same character model, the same data, the same steps --------------------------------
def _torch_model(kind, V, H, genotype, highway):
    import torch

    class NASTorch(torch.nn.Module):
        """The NAS cell's equations in torch (tests/zoo/test_nas_rnn.py checks them against nnzoo's)."""

        def __init__(self):
            super().__init__()
            n = (len(genotype) + 1) // 2
            k = 2 if highway else 1
            self.acts = [("tanh", "relu", "sigmoid", "identity")[genotype[2 * i]] for i in range(n)]
            self.parents = [None] + [genotype[2 * i - 1] for i in range(1, n)]
            self.ends = [i for i in range(n) if i not in set(self.parents[1:])]
            self.w_ih = torch.nn.Linear(H, k * H)
            self.w_hh = torch.nn.Linear(H, k * H, bias=False)
            self.nodes = torch.nn.ModuleList(torch.nn.Linear(H, k * H) for _ in range(n - 1))
            b = 1 / math.sqrt(H)
            for p in self.parameters():
                torch.nn.init.uniform_(p, -b, b)

        def node(self, pre, prev, f):
            act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda v: v}[f]
            if not highway:
                return act(pre)
            c, z = pre.chunk(2, 1)
            c = torch.sigmoid(c)
            return prev + c * (act(z) - prev)

        def forward(self, x, h=None):
            h = torch.zeros(x.shape[1], H) if h is None else h[0]
            proj = self.w_ih(x)
            outs = []
            for t in range(x.shape[0]):
                nodes = [self.node(proj[t] + self.w_hh(h), h, self.acts[0])]
                for i in range(1, len(self.acts)):
                    prev = nodes[self.parents[i]]
                    nodes.append(self.node(self.nodes[i - 1](prev), prev, self.acts[i]))
                h = sum(nodes[i] for i in self.ends) / len(self.ends)
                outs.append(h)
            return torch.stack(outs), h[None]

    class LM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(V, H)
            self.rnn = {"lstm": lambda: torch.nn.LSTM(H, H), "gru": lambda: torch.nn.GRU(H, H),
                        "nas": NASTorch}[kind]()
            self.head = torch.nn.Linear(H, V)

        def forward(self, x, state=None):
            out, state = self.rnn(self.embedding(x), state)
            return self.head(out), state
    return LM()


def _torch_run(kind, H, genotype, config, data, steps, seed):
    import torch

    from nnzoo.recipes.nas_rnn import _columns
    train, valid, test, V = data
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    m = _torch_model(kind, V, H, genotype, config["highway"])
    params = sum(p.numel() for p in m.parameters())
    opt = torch.optim.Adam(m.parameters(), lr=config["lr"])
    B, T = config["batch_size"], config["bptt"]
    cols = torch.from_numpy(_columns(train, B))
    rng = np.random.default_rng(seed)
    offset = int(rng.integers(0, max(1, len(cols) - T - 1)))   # as nnzoo.recipes.nas_rnn.train_lm
    state = None
    t0 = time.perf_counter()
    for _ in range(steps):
        if offset + T + 1 > len(cols):
            offset, state = 0, None
        chunk = cols[offset:offset + T + 1]
        offset += T
        if state is not None:
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        logits, state = m(chunk[:-1], state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), chunk[1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), config["clip_grad_norm"])
        opt.step()
    seconds = time.perf_counter() - t0

    def bpc(stream):
        c = torch.from_numpy(_columns(stream, B))
        total, count, st = 0.0, 0, None
        with torch.no_grad():
            for s in range(0, len(c) - 1, T):
                ch = c[s:s + T + 1]
                if len(ch) < 2:
                    break
                lg, st = m(ch[:-1], st)
                total += float(torch.nn.functional.cross_entropy(lg.reshape(-1, V), ch[1:].reshape(-1),
                                                                 reduction="sum"))
                count += ch[1:].numel()
        return total / count / math.log(2)
    return {"params": params, "val_bpc": bpc(valid), "test_bpc": bpc(test), "seconds": seconds}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidates", type=int, default=30)
    p.add_argument("--candidate-steps", type=int, default=40)
    p.add_argument("--population", type=int, default=10)
    p.add_argument("--tournament", type=int, default=3)
    p.add_argument("--searchers", nargs="+", default=["evolution", "random", "tpe"])
    p.add_argument("--final-steps", type=int, default=600)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--genotype", default="", help="skip the search: re-train this cell")
    p.add_argument("--resume", action="store_true",
                   help="keep the searchers already finished in the results file (their own candidate counts)")
    args = p.parse_args(argv)

    import nnzoo
    from nnzoo.recipes.nas_rnn import (
        _mean,
        build_model,
        count_parameters,
        evaluate_bpc,
        genotype_str,
        load_data,
        matched_hidden,
        parse_genotype,
        search_evolution,
        search_optuna,
        train_lm,
    )
    config = _config(args)
    data = load_data(config)
    train, valid, test, V = data
    result = {"config": config, "args": vars(args), "machine": {"python": platform.python_version(),
              "nnzoo": getattr(nnzoo, "__version__", "?"), "threads": os.environ.get("OPENBLAS_NUM_THREADS")},
              "vocab": V, "train_chars": len(train), "search": {}, "final": {}, "torch": {}}
    t_all = time.perf_counter()
    if args.resume and OUT.is_file():
        done = json.loads(OUT.read_text())["search"]
        result["search"] = {k: v for k, v in done.items() if k in args.searchers}
        print("kept:", {k: v["candidates"] for k, v in result["search"].items()}, flush=True)
    if args.genotype:
        best = parse_genotype(args.genotype)
    else:
        for k, name in enumerate(args.searchers):
            if name in result["search"]:
                continue
            t0 = time.perf_counter()
            s = (search_evolution(config, data, 1000 * k, progress=True) if name == "evolution"
                 else search_optuna(config, data, name, 1000 * k, progress=True))
            s["wall_seconds"] = time.perf_counter() - t0
            result["search"][name] = s
            print(f"== {name}: best {s['best_val_bpc']:.4f} bpc  {s['best_cell']}  ({s['wall_seconds']:.0f} s)",
                  flush=True)
            _save(result)
        best = tuple(min(result["search"].values(), key=lambda r: r["best_val_bpc"])["best_genotype"])
    result["best_genotype"], result["best_cell"] = list(best), genotype_str(best)

    B, T = config["batch_size"], config["bptt"]
    target = count_parameters(build_model(config, "nas", config["final_hidden"], best, V))
    sizes = {"nas": (config["final_hidden"], target)}
    for kind in ("lstm", "gru", "mut1", "mut2", "mut3"):
        sizes[kind] = matched_hidden(kind, target, config, V)
    result["sizes"] = {k: {"hidden": h, "params": n} for k, (h, n) in sizes.items()}
    print("sizes:", result["sizes"], flush=True)
    for seed in range(args.seeds):
        for kind, (h, n) in sizes.items():
            m = build_model(config, kind, h, best, V)
            run = train_lm(m, config, train, args.final_steps, seed, valid, args.eval_every)
            vb = math.nan if run["diverged"] else evaluate_bpc(m, valid, B, T)
            tb = math.nan if run["diverged"] else evaluate_bpc(m, test, B, T)
            entry = result["final"].setdefault(kind, {"hidden": h, "params": n, "val_bpc": [], "test_bpc": [],
                                                      "seconds": [], "curves": []})
            entry["val_bpc"].append(vb)
            entry["test_bpc"].append(tb)
            entry["seconds"].append(run["seconds"])
            entry["curves"].append(run["curve"])
            entry["val_bpc_mean"], entry["test_bpc_mean"] = _mean(entry["val_bpc"]), _mean(entry["test_bpc"])
            entry["val_bpc_std"] = float(np.std(entry["val_bpc"]))
            print(f"final seed {seed} {kind} H={h} ({n} params): val {vb:.4f} test {tb:.4f} bpc, "
                  f"{run['seconds']:.0f} s", flush=True)
            _save(result)
        if not args.no_torch:               # the peer, seed by seed after nnzoo's runs of that seed
            for kind in ("lstm", "gru", "nas"):
                h = sizes[kind][0]
                r = _torch_run(kind, h, best, config, data, args.final_steps, seed)
                entry = result["torch"].setdefault(kind, {"hidden": h, "params": r["params"], "val_bpc": [],
                                                          "test_bpc": [], "seconds": []})
                for key in ("val_bpc", "test_bpc", "seconds"):
                    entry[key].append(r[key])
                entry["val_bpc_mean"], entry["test_bpc_mean"] = _mean(entry["val_bpc"]), _mean(entry["test_bpc"])
                print(f"torch seed {seed} {kind} H={h} ({r['params']} params): val {r['val_bpc']:.4f} "
                      f"test {r['test_bpc']:.4f} bpc, {r['seconds']:.0f} s", flush=True)
                _save(result)
    final = result["final"]
    result["ranking_by_val_bpc"] = sorted(final, key=lambda k: final[k]["val_bpc_mean"])
    result["search_beat"] = [k for k in final if k != "nas" and final["nas"]["val_bpc_mean"] < final[k]["val_bpc_mean"]]
    result["speed_ratio_torch_over_nnzoo_seconds"] = {
        k: float(np.sum(result["torch"][k]["seconds"]) / np.sum(final[k]["seconds"])) for k in result["torch"]}
    result["wall_seconds"] = time.perf_counter() - t_all
    _save(result)
    print(json.dumps({k: (v["val_bpc_mean"], v["test_bpc_mean"]) for k, v in final.items()}, indent=1))


if __name__ == "__main__":
    main()
