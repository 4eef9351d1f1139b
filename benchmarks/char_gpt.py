"""The character-level GPT trained by nnzoo and by PyTorch: the same model, the same initial weights, the same
data stream, the same optimizer and schedule; final validation loss and wall time of each.

nanoGPT's small CPU configuration (issue 7) and its optimizer and schedule (issue 14): 4 layers, 4 heads,
embedding 128, context 64, batch 12, 2000 iterations, AdamW (lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on
the parameters of 2 or more dimensions only), the lr warmed up linearly over 100 iterations then decayed by
cosine to 1e-4 (``LinearLR`` + ``CosineAnnealingLR`` joined by ``SequentialLR``, stepped per iteration),
gradients clipped to norm 1, dropout 0, on the bundled Shakespeare corpus (the char-RNN's vocabulary and
splits) — the defaults of the ``char-gpt`` recipe (nnzoo/recipes/gpt.py; the model nnzoo/zoo/gpt.py).

How:

- The parent process (which imports nnzoo but never torch) builds ``nnzoo.zoo.gpt.GPT`` exactly as the
  recipe does (``manual_seed(seed)``), draws the window offsets of every training batch from the recipe's
  generator (``window_starts``, seed ``seed``) and the fixed validation windows (seed ``seed + 1``), and
  writes the token streams, the offsets and the initial state_dict to one ``.npz``.
- Each library then trains in its own fresh process (``--child nnzoo`` / ``--child torch``; the torch
  process never imports nnzoo, the nnzoo process never imports torch): the nnzoo side trains
  ``nnzoo.zoo.gpt.GPT``, the torch side ``torch_gpt`` below (nanoGPT's model, the same parameter names),
  both after ``load_state_dict`` of the same weights, both through ``train_char_gpt(lib, ...)``, the loop
  written once, ``import nnzoo as torch`` style.
- Threads: ``--threads 1`` (default) runs both single-threaded (OMP/OpenBLAS/MKL variables, and
  ``torch.set_num_threads``): the development machine has 2 cores shared with other work, where a
  2-thread OpenBLAS stalls (a GPT step of nnzoo measured 90 ms on 1 thread, 1.3 s on 2 under load).
  ``--threads 0`` leaves each library's default. The nnzoo process gets ``OPENBLAS_CORETYPE=SkylakeX``
  when the CPU has AVX-512, as in the benchmark runner.

Run (minutes)::

    .venv/bin/python -m benchmarks.char_gpt                 # writes benchmarks/results/char_gpt.json
    .venv/bin/python -m benchmarks.char_gpt --iters 50      # a quick look
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULT = os.path.join(ROOT, "benchmarks", "results", "char_gpt.json")
TARGET = 0.03  # nats/char: the largest accepted gap between the two final validation losses


# ---- the model, PyTorch side (nanoGPT's model.py; nnzoo's is nnzoo.zoo.gpt.GPT) --------------------------
def torch_gpt(torch, vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0, bias=True):
    """nanoGPT's GPT built with ``torch`` (the library module): the parameter names, the layout and the
    forward of ``nnzoo.zoo.gpt.GPT``, so their state_dicts move between them unchanged. Weights are left at
    PyTorch's defaults: the caller loads nnzoo's."""
    nn, F = torch.nn, torch.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
            self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
            self.resid_dropout = nn.Dropout(dropout)

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(n_embd, dim=2)                    # 3 x (B, T, C)
            q = q.view(B, T, n_head, C // n_head).transpose(1, 2)             # (B, nh, T, hs)
            k = k.view(B, T, n_head, C // n_head).transpose(1, 2)             # (B, nh, T, hs)
            v = v.view(B, T, n_head, C // n_head).transpose(1, 2)             # (B, nh, T, hs)
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout if self.training else 0.0,
                                               is_causal=True)                # (B, nh, T, hs)
            y = y.transpose(1, 2).contiguous().view(B, T, C)                  # (B, T, C)
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(vocab_size, n_embd), wpe=nn.Embedding(block_size, n_embd),
                drop=nn.Dropout(dropout), h=nn.ModuleList([Block() for _ in range(n_layer)]),
                ln_f=nn.LayerNorm(n_embd, bias=bias)))
            self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight                # weight tying

        def forward(self, idx, targets=None):
            T = idx.size(1)                                                  # idx (B, T)
            pos = torch.arange(0, T, dtype=torch.long)                       # (T,)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # (B, T, C)
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))                  # (B, T, V)
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
            return logits, loss

    return GPT()


# ---- the data: windows at given offsets ------------------------------------------------------------------
def windows_at(stream, starts, block_size):
    """(inputs, targets) (B, T) int64 arrays: stream[i:i + T] and stream[i + 1:i + 1 + T] for i in starts
    (what ``nnzoo.recipes.gpt.random_windows`` returns for the same offsets)."""
    cols = np.asarray(starts)[:, None] + np.arange(block_size)              # (B, T)
    return stream[cols].astype(np.int64), stream[cols + 1].astype(np.int64)


# ---- the training loop, once for both libraries ---------------------------------------------------------
def evaluate(lib, model, batches):
    """The mean loss over ``batches`` [(x, y)] (all of one size), in eval mode without gradients."""
    model.eval()
    with lib.no_grad():
        losses = [model(x, y)[1].item() for x, y in batches]
    model.train()
    return float(np.mean(losses))


def nanogpt_optimizer(lib, model, lr, weight_decay, betas):
    """nanoGPT's ``configure_optimizers`` with ``lib``: AdamW, weight decay on the parameters of 2 or more
    dimensions only (the recipe's ``make_optimizer``, nnzoo/recipes/gpt.py)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return lib.optim.AdamW(groups, lr=lr, betas=tuple(betas))


def nanogpt_scheduler(lib, optimizer, iters, warmup_iters, min_lr):
    """nanoGPT's ``get_lr`` with ``lib``'s stock schedulers, stepped per iteration: ``LinearLR`` from
    1 / (warmup + 1) over ``warmup_iters``, then ``CosineAnnealingLR`` to ``min_lr`` at ``iters``, joined by
    ``SequentialLR`` (the recipe's ``make_scheduler``)."""
    sched = lib.optim.lr_scheduler
    sequential = sched.SequentialLR
    cosine = sched.CosineAnnealingLR(optimizer, T_max=iters - warmup_iters, eta_min=min_lr)
    if not warmup_iters:
        return sequential(optimizer, [cosine], milestones=[])
    warm = sched.LinearLR(optimizer, start_factor=1 / (warmup_iters + 1), end_factor=1.0, total_iters=warmup_iters)
    return sequential(optimizer, [warm, cosine], milestones=[warmup_iters])


def train_char_gpt(lib, model, train_batch, val_batches, iters, eval_interval, lr=1e-3, min_lr=1e-4,
                   weight_decay=0.1, betas=(0.9, 0.99), warmup_iters=100, grad_clip=1.0, log=None):
    """Train ``model`` (its forward ``(idx, targets) -> (logits, loss)``) for ``iters`` iterations with
    ``lib`` (the nnzoo or the torch module): batch ``train_batch(it)`` -> loss -> backward -> clip -> AdamW
    step (:func:`nanogpt_optimizer`) -> scheduler step (:func:`nanogpt_scheduler`, per iteration); the mean
    loss over ``val_batches`` every ``eval_interval`` iterations and at the end.

    Returns:
        dict: ``val_loss`` (final), ``history`` [(iteration, mean train loss since the last eval, val loss)],
        ``train_s`` (the iterations), ``eval_s`` (the evaluations), ``wall_s`` (both).
    """
    optimizer = nanogpt_optimizer(lib, model, lr, weight_decay, betas)
    scheduler = nanogpt_scheduler(lib, optimizer, iters, warmup_iters, min_lr)
    model.train()
    history, running, train_s, eval_s = [], [], 0.0, 0.0
    start = time.perf_counter()
    for it in range(iters):
        x, y = train_batch(it)
        _, loss = model(x, y)                                               # logits (B, T, V), loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            lib.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        scheduler.step()
        running.append(loss.item())
        if (it + 1) % eval_interval == 0 or it + 1 == iters:
            t = time.perf_counter()
            train_s += t - start
            val = evaluate(lib, model, val_batches)
            start = time.perf_counter()
            eval_s += start - t
            history.append((it + 1, float(np.mean(running)), val))
            running = []
            if log:
                log(f"iter {it + 1}: train {history[-1][1]:.4f}, val {val:.4f} ({train_s:.0f} s)")
    train_s += time.perf_counter() - start
    return {"val_loss": history[-1][2], "history": history, "train_s": train_s, "eval_s": eval_s,
            "wall_s": train_s + eval_s}


# ---- the two processes ----------------------------------------------------------------------------------
def _child(side, data_path, out_path, threads):
    data = np.load(data_path)
    config = json.loads(str(data["config"]))
    if side == "torch":
        import torch as lib
        if threads:
            lib.set_num_threads(threads)
        model = torch_gpt(lib, **{k: config[k] for k in ("vocab_size", "block_size", "n_layer", "n_head",
                                                         "n_embd", "dropout", "bias")})
        from benchmarks.machine import torch_facts as facts
    else:
        import nnzoo as lib
        from nnzoo.zoo.gpt import GPT
        model = GPT(**{k: config[k] for k in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd",
                                              "dropout", "bias")})
        from benchmarks.machine import nnzoo_facts as facts
    assert ("torch" in sys.modules) == (side == "torch") and ("nnzoo" in sys.modules) == (side == "nnzoo")
    state = {k[len("w."):]: lib.tensor(data[k]) for k in data.files if k.startswith("w.")}
    model.load_state_dict(state)
    T = config["block_size"]
    train, starts = data["train"], data["train_starts"]                     # starts (iters, B)
    val_batches = [tuple(lib.tensor(a) for a in windows_at(data["valid"], s, T)) for s in data["val_starts"]]

    def train_batch(it):
        return tuple(lib.tensor(a) for a in windows_at(train, starts[it], T))

    result = train_char_gpt(lib, model, train_batch, val_batches, config["iters"], config["eval_interval"],
                            lr=config["lr"], min_lr=config["min_lr"], weight_decay=config["weight_decay"],
                            betas=config["betas"], warmup_iters=config["warmup_iters"], grad_clip=config["grad_clip"],
                            log=lambda m: print(f"[{side}] {m}", file=sys.stderr, flush=True))
    result["facts"] = facts()
    with open(out_path, "w") as f:
        json.dump(result, f)


def _prepare(args, path):
    """Write the shared data, offsets and initial weights of the run to ``path`` (an .npz); returns the config."""
    import nnzoo
    from nnzoo.random import Generator
    from nnzoo.recipes import recipe
    from nnzoo.recipes.gpt import window_starts
    from nnzoo.recipes.runner import _config

    r = recipe("char-gpt")
    rc = _config(r, {"epochs": 1, "eval_interval": args.iters, "eval_batches": args.eval_batches})
    nnzoo.manual_seed(args.seed)                             # as run_recipe: the seed, the data, the model
    train, valid, _ = r.load_data(rc)
    model = r.build_model(rc)
    B, T = rc["batch_size"], rc["block_size"]
    g_train, g_val = Generator().manual_seed(args.seed), Generator().manual_seed(args.seed + 1)  # the recipe's
    train_starts = np.stack([window_starts(len(train), B, T, g_train._rng) for _ in range(args.iters)])
    val_starts = np.stack([window_starts(len(valid), B, T, g_val._rng) for _ in range(args.eval_batches)])
    config = {"vocab_size": model.config.vocab_size, "block_size": T, "n_layer": rc["n_layer"],
              "n_head": rc["n_head"], "n_embd": rc["n_embd"], "dropout": rc["dropout"], "bias": rc["bias"],
              "batch_size": B, "iters": args.iters, "eval_interval": args.eval_interval,
              "eval_batches": args.eval_batches, "lr": rc["lr"], "min_lr": rc["min_lr"],
              "weight_decay": rc["weight_decay"], "betas": [rc["beta1"], rc["beta2"]],
              "warmup_iters": min(rc["warmup_iters"], args.iters - 1), "grad_clip": rc["clip_grad_norm"],
              "seed": args.seed, "optimizer": "nanoGPT's: AdamW (betas 0.9, 0.99), weight decay on >= 2-D parameters "
              "only, linear warm-up then cosine per iteration", "threads": args.threads,
              "train_chars": len(train), "valid_chars": len(valid)}
    weights = {"w." + k: v.numpy() for k, v in model.state_dict().items()}
    np.savez(path, config=json.dumps(config), train=train.numpy().astype(np.uint8),
             valid=valid.numpy().astype(np.uint8), train_starts=train_starts, val_starts=val_starts, **weights)
    return config


def _side_env(side, threads):
    from benchmarks.runner import child_env, coretype_setting
    coretype, why = coretype_setting(False)
    env = child_env(side, coretype)
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    return env, (why if side == "nnzoo" else None)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.char_gpt", description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--eval-interval", type=int, default=200)
    p.add_argument("--eval-batches", type=int, default=50, help="fixed validation batches of 12 windows")
    p.add_argument("--threads", type=int, default=1, help="threads per library (0: the libraries' defaults)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=RESULT, help="where the result goes ('' for nowhere)")
    p.add_argument("--child", choices=("nnzoo", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _child(args.child, args.data, args.out, args.threads)

    from benchmarks.machine import OtherLoad, machine_facts
    with tempfile.TemporaryDirectory(prefix="nnzoo-char-gpt-") as tmp:
        data_path = os.path.join(tmp, "data.npz")
        config = _prepare(args, data_path)
        sides = {}
        for side in ("nnzoo", "torch"):
            out = os.path.join(tmp, side + ".json")
            env, coretype_why = _side_env(side, args.threads)
            cmd = [sys.executable, "-m", "benchmarks.char_gpt", "--child", side, "--data", data_path, "--out", out,
                   "--threads", str(args.threads)]
            t0 = time.perf_counter()
            with OtherLoad() as load:
                proc = subprocess.run(cmd, cwd=ROOT, env=env)
            if proc.returncode:
                raise SystemExit(f"char_gpt: the {side} process failed with exit status {proc.returncode}")
            with open(out) as f:
                sides[side] = json.load(f)
            sides[side]["process_s"] = time.perf_counter() - t0
            sides[side]["other_load_cpus"] = load.cpus
            if coretype_why:
                sides[side]["openblas_coretype"] = coretype_why
    a, b = sides["nnzoo"], sides["torch"]
    gap = a["val_loss"] - b["val_loss"]
    result = {"benchmark": "char_gpt", "config": config, "nnzoo": a, "torch": b,
              "val_loss_gap": gap, "target_abs_gap": TARGET, "within_target": abs(gap) <= TARGET,
              "time_ratio_torch_over_nnzoo": b["train_s"] / a["train_s"], "machine": machine_facts(ROOT)}
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print("| model | iterations | val loss nnzoo | val loss PyTorch | gap (nats/char) | train time nnzoo | "
          "train time PyTorch | PyTorch/nnzoo |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| char-GPT {config['n_layer']}x{config['n_head']}x{config['n_embd']}, T {config['block_size']}, "
          f"B {config['batch_size']} | {config['iters']} | {a['val_loss']:.4f} | {b['val_loss']:.4f} | "
          f"{gap:+.4f} | {a['train_s']:.0f} s ({1e3 * a['train_s'] / config['iters']:.0f} ms/it) | "
          f"{b['train_s']:.0f} s ({1e3 * b['train_s'] / config['iters']:.0f} ms/it) | "
          f"{result['time_ratio_torch_over_nnzoo']:.2f} |")
    return 0 if result["within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
