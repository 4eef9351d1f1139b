"""The char-RNN learning run of the recurrent issue, in nnzoo and in PyTorch: same data, same initial weights,
same steps.

A 2-layer LSTM of 256 (embedding 64) on the bundled Shakespeare corpus (42 works, 4.55 M training characters),
truncated BPTT with T = 100 and B = 32 (the hidden state carried across chunks, detached), Adam 2e-3,
gradients clipped to norm 5. The validation loss (nats per character over the whole validation split, 253 K
characters) is measured every ``--eval-every`` steps, with the elapsed training time.

Run::

    python -m benchmarks.char_rnn                 # both libraries, one after the other, 3000 steps each
    python -m benchmarks.char_rnn --steps 200     # a short check

The parent process prepares the encoded corpus and nnzoo's initial weights (saved to a temporary folder);
each library trains in its own child process (neither imports the other), and the parent writes
``benchmarks/results/char_rnn.json`` and prints a Markdown summary.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

RESULTS = os.path.join(os.path.dirname(__file__), "results", "char_rnn.json")
CONFIG = {"embed": 64, "hidden": 256, "layers": 2, "bptt": 100, "batch_size": 32, "lr": 2e-3, "clip": 5.0}


def _prepare(folder, seed):
    """Encode the corpus with the char-RNN recipe's vocabulary and save nnzoo's initial weights."""
    import nnzoo
    from nnzoo.data.datasets.shakespeare import shakespeare
    from nnzoo.recipes.char_rnn import shakespeare_vocab
    from nnzoo.zoo.char_rnn import CharRNN
    vocab = shakespeare_vocab(None)
    for split in ("train", "valid"):
        np.save(os.path.join(folder, f"{split}.npy"), np.asarray(vocab.encode(shakespeare(split)), dtype=np.int64))
    nnzoo.manual_seed(seed)
    model = CharRNN(vocab_size=len(vocab), embed=CONFIG["embed"], hidden=CONFIG["hidden"], layers=CONFIG["layers"])
    np.savez(os.path.join(folder, "init.npz"), **{k: v.numpy() for k, v in model.state_dict().items()})
    return vocab


def _model(lib, V, init):
    nn = lib.nn

    class CharModel(nn.Module):  # the same modules and names as nnzoo.zoo.char_rnn.CharRNN
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, CONFIG["embed"])
            self.rnn = nn.LSTM(CONFIG["embed"], CONFIG["hidden"], num_layers=CONFIG["layers"])
            self.head = nn.Linear(CONFIG["hidden"], V)

        def forward(self, x, state=None):           # x (T, B)
            out, state = self.rnn(self.embedding(x), state)
            return self.head(out), state            # (T, B, V)

    model = CharModel()
    model.load_state_dict({k: lib.tensor(v) for k, v in init.items()})
    return model


def _batchify(ids, B):
    T = len(ids) // B
    return np.ascontiguousarray(ids[:T * B].reshape(B, T).T)  # (T, B): column b continues the text


def _evaluate(lib, model, source, bptt, V):
    model.eval()
    total, count, state = 0.0, 0, None
    with lib.no_grad():
        for i in range(0, source.shape[0] - 1, bptt):
            L = min(bptt, source.shape[0] - 1 - i)
            x, y = lib.tensor(source[i:i + L]), lib.tensor(source[i + 1:i + 1 + L])
            logits, state = model(x, state)
            loss = lib.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="sum")
            total += loss.item()
            count += y.numel()
    model.train()
    return total / count


def _detach(state):
    return None if state is None else tuple(s.detach() for s in state)


def train(lib_name, folder, steps, eval_every):
    """Train in this process with ``lib_name`` ('nnzoo' or 'torch'); returns the run's record."""
    lib = __import__(lib_name)
    init = dict(np.load(os.path.join(folder, "init.npz")))
    train_ids, val_ids = np.load(os.path.join(folder, "train.npy")), np.load(os.path.join(folder, "valid.npy"))
    V = init["head.weight"].shape[0]
    B, T = CONFIG["batch_size"], CONFIG["bptt"]
    source, val = _batchify(train_ids, B), _batchify(val_ids, B)
    model = _model(lib, V, init)
    opt = lib.optim.Adam(model.parameters(), lr=CONFIG["lr"])
    params = list(model.parameters())
    evals, losses = [], []
    state, row, elapsed = None, 0, 0.0
    for step in range(1, steps + 1):
        if row >= source.shape[0] - 1:  # a new epoch: start again at the top, with a fresh state
            row, state = 0, None
        L = min(T, source.shape[0] - 1 - row)
        x, y = lib.tensor(source[row:row + L]), lib.tensor(source[row + 1:row + 1 + L])
        row += L
        start = time.perf_counter()
        logits, state = model(x, _detach(state))
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        lib.nn.utils.clip_grad_norm_(params, CONFIG["clip"])
        opt.step()
        elapsed += time.perf_counter() - start
        losses.append(loss.item())
        if step % eval_every == 0 or step == steps:
            v = _evaluate(lib, model, val, T, V)
            evals.append({"step": step, "train_seconds": round(elapsed, 2), "val_loss": v,
                          "train_loss": float(np.mean(losses[-eval_every:]))})
            print(f"{lib_name} step {step}: val {v:.4f} nats/char ({v / math.log(2):.3f} bpc), "
                  f"{elapsed:.0f} s", file=sys.stderr, flush=True)
    record = {"lib": lib_name, "steps": steps, "evals": evals, "train_seconds": elapsed,
              "ms_per_step": 1000 * elapsed / steps, "final_val_loss": evals[-1]["val_loss"]}
    if lib_name == "nnzoo":
        np.savez(os.path.join(folder, "final.npz"), **{k: v.numpy() for k, v in model.state_dict().items()})
    return record


def _sample(folder, vocab, length=500):
    """500 characters from nnzoo's trained model (the recipe's sampler, temperature 0.8, seeded)."""
    import nnzoo
    from nnzoo.zoo.char_rnn import CharRNN
    final = dict(np.load(os.path.join(folder, "final.npz")))
    model = CharRNN(vocab_size=len(vocab), embed=CONFIG["embed"], hidden=CONFIG["hidden"], layers=CONFIG["layers"])
    model.load_state_dict({k: nnzoo.tensor(v) for k, v in final.items()})
    return model.sample(vocab, "ROMEO:", length=length, temperature=0.8, generator=nnzoo.Generator().manual_seed(0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--libs", default="nnzoo,torch")
    parser.add_argument("--out", default=RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # lib_name,folder: train in this process
    args = parser.parse_args(argv)
    if args.child:
        lib_name, folder = args.child.split(",", 1)
        print(json.dumps(train(lib_name, folder, args.steps, args.eval_every)))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        vocab = _prepare(folder, args.seed)
        runs = {}
        for lib_name in args.libs.split(","):
            cmd = [sys.executable, "-m", "benchmarks.char_rnn", "--child", f"{lib_name},{folder}",
                   "--steps", str(args.steps), "--eval-every", str(args.eval_every)]
            out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True,
                                 cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            runs[lib_name] = json.loads(out.stdout.strip().splitlines()[-1])
        sample = _sample(folder, vocab) if "nnzoo" in runs else None
    result = {"config": {**CONFIG, "vocab_size": len(vocab), "steps": args.steps, "seed": args.seed},
              "runs": runs, "sample": sample}
    if {"nnzoo", "torch"} <= set(runs):
        result["final_val_loss_difference"] = runs["nnzoo"]["final_val_loss"] - runs["torch"]["final_val_loss"]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print("| library | steps | final val loss (nats/char) | bpc | training time | ms/step |")
    print("|---|--:|--:|--:|--:|--:|")
    for name, r in runs.items():
        v = r["final_val_loss"]
        print(f"| {name} | {r['steps']} | {v:.4f} | {v / math.log(2):.3f} | {r['train_seconds']:.0f} s | "
              f"{r['ms_per_step']:.0f} |")
    if sample:
        print("\n" + sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
