"""Image captioning on the generated scenes: Show and Tell (``caption``) against Show, Attend and Tell
(``caption-attention``) at the same number of steps on the same data, over seeds; the same two networks in
PyTorch as the peer.

For each seed both recipes run with their defaults (``--steps`` overrides both) through ``run_recipe``: the
figures are the held-out test scenes' greedy BLEU-1..4 (NLTK ``corpus_bleu``, three references per scene) and
exact match, beam search (width 3) on the first 200 test scenes, and for the attention model the share of
attention mass inside the named item's box when its noun is written, against the box's share of the image.
The issue's verification: the attention model's BLEU-4 above the no-attention model's, seed by seed.

The peer: both networks written in PyTorch (``torch.nn`` modules with nnzoo's parameter names), started from the
nnzoo model's initial weights (copied through the state_dict) and trained on the same batches (the same NumPy
draws as the recipe's loop) with the same optimizer, schedule and clipping, then decoded greedily and scored by
the same functions (``--peer-seeds``). The two sides' step times are measured alternately (one nnzoo step, one
torch step, on the same batch) so the machine's load falls on both alike.

    python -m benchmarks.caption [--seeds 0 1 2] [--steps 800] [--peer-seeds 0] [--timing-steps 20]
        [--long-steps 2400] [--threads 1]

The jobs run in this order, each writing the JSON when done (a run cut short keeps what it finished): seed 0 of
both recipes, the peer, seed 1, Show and Tell at ``--long-steps`` (seed 0), the other seeds.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

from benchmarks.machine import setup_threads

THREADS = setup_threads(sys.argv) if __name__ == "__main__" else None

import numpy as np  # noqa: E402

RECIPES = ("caption", "caption-attention")


# ---- the peer: the same networks in PyTorch ----------------------------------------------------------------------
def _torch_models():
    import torch
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self, c):
            super().__init__()
            layers, c_in = [], c.in_channels + (2 if c.coords else 0)
            for c_out in c.channels:
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1)] + ([nn.BatchNorm2d(c_out)] if c.batch_norm else []) \
                    + [nn.ReLU(), nn.MaxPool2d(2)]
                c_in = c_out
            self.net, self.coords = nn.Sequential(*layers), c.coords
            S = c.image_size
            ramp = torch.tensor(np.linspace(-1.0, 1.0, S, dtype=np.float32))
            self.register_buffer("grid", torch.stack([ramp[None, :].expand(S, S), ramp[:, None].expand(S, S)])[None],
                                 persistent=False)

        def forward(self, x):
            if self.coords:
                x = torch.cat([x, self.grid.expand(x.shape[0], -1, -1, -1)], 1)
            return self.net(x)

    class Attention(nn.Module):
        def __init__(self, q, k, h):
            super().__init__()
            self.w1, self.w2, self.v = nn.Linear(k, h, bias=False), nn.Linear(q, h), nn.Linear(h, 1, bias=False)

    class ShowAndTell(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.config = c
            self.encoder = Encoder(c)
            f = (c.image_size // 2 ** len(c.channels)) ** 2 * c.channels[-1]
            self.embedding = nn.Embedding(c.vocab, c.embed, padding_idx=c.pad_index)
            self.feature, self.init_h, self.init_c = nn.Linear(f, c.hidden), nn.Linear(c.hidden, c.hidden), \
                nn.Linear(c.hidden, c.hidden)
            self.lstm = nn.LSTM(c.embed, c.hidden, batch_first=True)
            self.out = nn.Linear(c.hidden, c.vocab)

        def start(self, images):
            f = self.feature(self.encoder(images).flatten(1))
            return (torch.tanh(self.init_h(f))[None], torch.tanh(self.init_c(f))[None]), None

        def step(self, words, state, memory):
            h, state = self.lstm(self.embedding(words)[:, None], state)
            return self.out(h[:, 0]), state, None

        def forward(self, images, words_in):
            state, _ = self.start(images)
            h, _ = self.lstm(self.embedding(words_in), state)
            return self.out(h), None

    class ShowAttendTell(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.config = c
            D = c.channels[-1]
            self.encoder = Encoder(c)
            self.embedding = nn.Embedding(c.vocab, c.embed, padding_idx=c.pad_index)
            self.init_h, self.init_c = nn.Linear(D, c.hidden), nn.Linear(D, c.hidden)
            self.attention = Attention(c.hidden, D, c.attn_hidden)
            self.gate = nn.Linear(c.hidden, 1) if c.gate else None
            self.cell = nn.LSTMCell(c.embed + D, c.hidden)
            self.out_h, self.out_z = nn.Linear(c.hidden, c.embed), nn.Linear(D, c.embed, bias=False)
            self.out = nn.Linear(c.embed, c.vocab)

        def start(self, images):
            a = self.encoder(images).flatten(2).transpose(1, 2)
            mean = a.mean(1)
            return (torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))), (a, self.attention.w1(a))

        def _step(self, emb, state, memory):
            a, keys = memory
            h = state[0]
            e = self.attention.v(torch.tanh(keys + self.attention.w2(h)[:, None]))[..., 0]
            alpha = torch.softmax(e, 1)
            z = (alpha[..., None] * a).sum(1)
            if self.gate is not None:
                z = torch.sigmoid(self.gate(h)) * z
            state = self.cell(torch.cat([emb, z], 1), state)
            return emb + self.out_h(state[0]) + self.out_z(z), state, alpha

        def step(self, words, state, memory):
            deep, state, alpha = self._step(self.embedding(words), state, memory)
            return self.out(deep), state, alpha

        def forward(self, images, words_in):
            state, memory = self.start(images)
            deeps, alphas = [], []
            for t in range(words_in.shape[1]):
                deep, state, alpha = self._step(self.embedding(words_in[:, t]), state, memory)
                deeps.append(deep)
                alphas.append(alpha)
            return self.out(torch.stack(deeps, 1)), torch.stack(alphas, 1)

    return ShowAndTell, ShowAttendTell


def _to_torch(model, attention):
    import torch
    ShowAndTell, ShowAttendTell = _torch_models()
    peer = (ShowAttendTell if attention else ShowAndTell)(model.config)
    peer.load_state_dict({k: torch.tensor(np.asarray(v.detach().numpy())) for k, v in model.state_dict().items()},
                         strict=True)
    return peer


def _torch_greedy(peer, images, vocab, batch=250):
    import torch
    c = peer.config
    words, weights = [], []
    with torch.no_grad():
        for k in range(0, len(images), batch):
            x = torch.tensor(images[k:k + batch])
            state, memory = peer.start(x)
            y = torch.full((len(x),), c.bos_index, dtype=torch.int64)
            done = np.zeros(len(x), dtype=bool)
            tokens, alphas = [], []
            for _ in range(c.max_len):
                logits, state, alpha = peer.step(y, state, memory)
                nxt = np.where(done, c.pad_index, logits.argmax(-1).numpy())
                tokens.append(nxt)
                if alpha is not None:
                    alphas.append(np.where(done[:, None], 0.0, alpha.numpy()))
                done |= nxt == c.eos_index
                if done.all():
                    break
                y = torch.tensor(nxt)
            tokens = np.stack(tokens, 1)
            for j, row in enumerate(tokens):
                cap = vocab.decode(row, skip_specials=True, stop_at_eos=True)
                words.append(cap)
                weights.append(np.stack(alphas, 1)[j, :len(cap) + 1] if alphas else None)
    return words, weights


class _Side:
    """One library's model, optimizer and schedule, stepping on given batches like the recipe's loop."""

    def __init__(self, lib, model, config, vocab):
        self.lib, self.model, self.config, self.vocab = lib, model, config, vocab
        if lib == "nnzoo":
            from nnzoo import nn, optim
            self.opt = optim.Adam(model.parameters(), lr=config["lr"])
            self.sched = optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=config["steps"])
            self.loss_fn = nn.CrossEntropyLoss(ignore_index=vocab.pad_index)
        else:
            import torch
            self.opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
            self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=config["steps"])
            self.loss_fn = torch.nn.CrossEntropyLoss(ignore_index=vocab.pad_index)

    def step(self, images, words_in, words_out):
        """One training step on NumPy arrays; returns (loss, seconds)."""
        t0 = time.perf_counter()
        if self.lib == "nnzoo":
            import nnzoo
            from nnzoo.zoo.caption import ShowAttendTell
            x, wi, wo = nnzoo.tensor(images), nnzoo.tensor(words_in), nnzoo.tensor(words_out)
            out = self.model(x, wi, return_attention=True) if isinstance(self.model, ShowAttendTell) \
                else (self.model(x, wi), None)
            clip = nnzoo.nn.utils.clip_grad_norm_
        else:
            import torch
            x, wi, wo = torch.tensor(images), torch.tensor(words_in), torch.tensor(words_out)
            out = self.model(x, wi)
            clip = torch.nn.utils.clip_grad_norm_
        logits = out[0]
        loss = self.loss_fn(logits.reshape(-1, logits.shape[-1]), wo.reshape(-1))
        self.opt.zero_grad()
        loss.backward()
        clip(self.model.parameters(), self.config["clip_grad_norm"])
        self.opt.step()
        self.sched.step()
        return float(loss.detach()), time.perf_counter() - t0


def _batches(train, config, vocab, seed):
    """The recipe's batch draws: the same generator, the same order of draws."""
    from nnzoo.recipes.caption import encode_captions
    ids = encode_captions(train, vocab)
    rng = np.random.default_rng(seed + 1)
    for _ in range(config["steps"]):
        rows = rng.integers(len(train), size=config["batch_size"])
        caps = ids[rows, rng.integers(ids.shape[1], size=len(rows))]
        lengths = (caps != vocab.pad_index).sum(1)
        T = int(lengths.max()) + 1
        wi = np.full((len(rows), T), vocab.pad_index, dtype=np.int64)
        wo = wi.copy()
        wi[:, 0] = vocab.bos_index
        wi[:, 1:] = caps[:, :T - 1]
        wo[:, :T - 1] = caps[:, :T - 1]
        wo[np.arange(len(rows)), lengths] = vocab.eos_index
        yield train.images[rows], wi, wo


def peer_run(name, config, seed, timing_steps):
    """Train the recipe's network in nnzoo (timing only, ``timing_steps`` steps) and in torch (all steps) from
    the same initial weights on the same batches; the torch model's test figures and the paired step times."""
    import torch

    import nnzoo
    from nnzoo.data.datasets.scenes import FASHION_KINDS, SHAPE_KINDS
    from nnzoo.recipes import recipe
    from nnzoo.recipes.caption import _references, _vocab, attention_in_box, caption_scores, scene_data
    r = recipe(name)
    attention = name == "caption-attention"
    train, _, test = scene_data(config)
    vocab = _vocab(config)
    nnzoo.manual_seed(seed)
    torch.manual_seed(seed)
    model = r.build_model(config)
    peer = _to_torch(model, attention)
    sides = {"nnzoo": _Side("nnzoo", model, config, vocab), "torch": _Side("torch", peer, config, vocab)}
    times = {"nnzoo": [], "torch": []}
    losses = {"nnzoo": [], "torch": []}
    t0 = time.perf_counter()
    for k, (images, wi, wo) in enumerate(_batches(train, config, vocab, seed)):
        order = ("nnzoo", "torch") if k % 2 == 0 else ("torch", "nnzoo")
        for lib in order:
            if lib == "nnzoo" and k >= timing_steps:
                continue
            loss, sec = sides[lib].step(images, wi, wo)
            times[lib].append(sec)
            losses[lib].append(loss)
    torch_seconds = time.perf_counter() - t0
    peer.eval()
    hyps, weights = _torch_greedy(peer, test.images, vocab)
    scores = caption_scores(hyps, _references(test))
    if attention:
        kinds = SHAPE_KINDS if test.kinds == "shapes" else FASHION_KINDS
        hits = [m for i in range(len(test)) for m in attention_in_box(hyps[i], weights[i], test.items[i], kinds,
                                                                      test.size)]
        scores["attention_in_box"] = float(np.mean([h[1] for h in hits])) if hits else None
        scores["attention_chance"] = float(np.mean([h[2] for h in hits])) if hits else None
    n = min(timing_steps, len(times["nnzoo"]))
    paired = {"steps": n, "nnzoo_median_s": float(np.median(times["nnzoo"][1:n])),
              "torch_median_s": float(np.median(times["torch"][1:n]))}
    paired["ratio_nnzoo_over_torch"] = paired["nnzoo_median_s"] / paired["torch_median_s"]
    return {"test": scores, "final_train_loss": float(np.mean(losses["torch"][-20:])),
            "loss_first_steps": {"nnzoo": losses["nnzoo"][:n], "torch": losses["torch"][:n]},
            "paired_step_times": paired, "seconds": torch_seconds}


def _summary(values):
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "values": v.tolist()} \
        if len(v) else None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=None, help="training steps of both models (default: the recipes')")
    p.add_argument("--peer-seeds", type=int, nargs="*", default=[0])
    p.add_argument("--timing-steps", type=int, default=20)
    p.add_argument("--long-steps", type=int, default=2400, help="a longer Show and Tell run (seed 0; 0: none)")
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES, help="the recipes to train")
    p.add_argument("--merge", default=None, help="a result JSON of an earlier run of this benchmark: its runs and "
                   "peer results with today's configs are kept (and not rerun), the others recorded apart")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "caption.json"))
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(THREADS or 1)
    from nnzoo.recipes import recipe_config, run_recipe
    overrides = {"steps": args.steps} if args.steps else {}
    runs = {name: [] for name in RECIPES}
    results = {"machine": platform.machine(), "threads": THREADS, "torch": torch.__version__, "seeds": args.seeds,
               "config": {name: recipe_config(name, overrides) for name in RECIPES}, "runs": runs, "peer": {}}
    if args.merge:             # keep an earlier run's results of the same configs; record the others apart
        with open(args.merge) as f:
            earlier = json.load(f)
        results["earlier_configs"] = list(earlier.get("earlier_configs", []))
        for name in RECIPES:
            for run in earlier["runs"].get(name, []):
                if earlier["config"][name] == results["config"][name]:
                    runs[name].append(run)
                else:
                    results["earlier_configs"].append({"name": name, "config": earlier["config"][name], **run})
        for key, value in earlier.get("peer", {}).items():
            name = key.rsplit("-", 1)[0]
            if earlier["config"][name] == results["config"][name]:
                results["peer"][key] = value
            else:
                results["earlier_configs"].append({"peer": key, "config": earlier["config"][name], **value})
        results["merged_from"] = os.path.basename(args.merge)
    t_start = time.perf_counter()

    def dump():
        results["summary"] = _summarise(runs)
        results["wall_seconds"] = time.perf_counter() - t_start
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)

    # the order: seed 0 of both recipes, the peer's seeds, then the other seeds (a run cut short keeps the most)
    jobs = [("recipe", args.seeds[0])] + [("peer", s) for s in args.peer_seeds] + \
        [("recipe", s) for s in args.seeds[1:2]] + [("long", args.seeds[0])] * (args.long_steps > 0) + \
        [("recipe", s) for s in args.seeds[2:]]
    with tempfile.TemporaryDirectory() as tmp:
        for kind, seed in jobs:
            for name in RECIPES if seed % 2 == 0 else RECIPES[::-1]:
                if name not in args.recipes or (kind == "recipe" and any(run["seed"] == seed for run in runs[name])):
                    continue
                if kind == "long":        # Show and Tell trained longer: does it leave its plateau?
                    if name != "caption":
                        continue
                    r = run_recipe(name, out_dir=os.path.join(tmp, f"long-{seed}"), overrides={
                        "steps": args.long_steps}, seed=seed, progress=True)
                    results["long"] = {"name": name, "seed": seed, "steps": args.long_steps, "test": r["test"],
                                       "val": r["val"], "history": r["history"], "train_seconds": r["train_seconds"]}
                    print(f"long {name} seed {seed}: {json.dumps(r['test'])}", flush=True)
                elif kind == "peer":
                    res = results["peer"][f"{name}-{seed}"] = peer_run(name, results["config"][name], seed,
                                                                         args.timing_steps)
                    print(f"torch {name} seed {seed}: {json.dumps(res['test'])}, paired "
                          f"{json.dumps(res['paired_step_times'])}", flush=True)
                else:
                    r = run_recipe(name, out_dir=os.path.join(tmp, f"{name}-{seed}"), overrides=overrides, seed=seed,
                                   progress=True)
                    runs[name].append({"seed": seed, "test": r["test"], "val": r["val"], "train_seconds":
                                       r["train_seconds"], "seconds_per_step": r["seconds_per_step"],
                                       "examples": r["examples"][:4]})
                    print(f"{name} seed {seed}: {json.dumps(r['test'])}", flush=True)
                dump()
    print(json.dumps(results["summary"], indent=1))
    return results


def _summarise(runs):
    summary = {}
    for name in RECIPES:
        if not runs[name]:
            continue
        keys = ("bleu1", "bleu2", "bleu3", "bleu4", "exact_match", "beam_bleu4", "beam_exact_match") + \
            (("attention_in_box", "attention_chance", "attention_above_chance") if name == "caption-attention" else ())
        summary[name] = {k: _summary([run["test"].get(k) for run in runs[name]]) for k in keys}
        summary[name]["seconds_per_step"] = _summary([run["seconds_per_step"] for run in runs[name]])
    by_seed = {run["seed"]: run["test"]["bleu4"] for run in runs["caption"]}
    pairs = [(run["test"]["bleu4"], by_seed[run["seed"]]) for run in runs["caption-attention"]
             if run["seed"] in by_seed]
    summary["attention_beats_no_attention_bleu4"] = {"seeds": len(pairs), "wins": sum(a > b for a, b in pairs),
                                                     "differences": [a - b for a, b in pairs]}
    return summary


if __name__ == "__main__":
    main()
