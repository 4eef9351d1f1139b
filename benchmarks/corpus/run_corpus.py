"""Run a corpus of real, unmodified PyTorch programs through ``nnzoo run`` and tabulate what happened.

    python benchmarks/corpus/run_corpus.py CORPUS [--only NAME ...] [--timeout S] [--readme benchmarks/README.md]

CORPUS is a folder holding the programs' repositories, each checked out at the commit the manifest names,
in a folder ``owner+name`` (``pytorch+examples``, ``karpathy+nanoGPT``, ...); the programs are third-party
code and are not part of nnzoo. ``manifest.json`` (next to this file) lists each program: its repository,
the folder to copy and the script to run, arguments for a short run, and the stand-in data to put in place
where the program would download (subsets of Fashion-MNIST in MNIST's files, synthetic CIFAR-10 batches,
Shakespeare's text). Each program runs in a fresh copy of its folder, with a timeout; the table records
whether it ran to its end, the error's last line when it did not, and whether the losses it printed fell
(mean of the last third below the mean of the first third). Results go to ``results.json`` here and, with
``--readme``, into the "Real PyTorch programs" section of benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
SHARED = pathlib.Path(os.environ.get("NNZOO_CORPUS_DATA", "/work/shared/data"))
_LOSS = r"loss[^0-9\n]{0,16}?(-?\d+\.\d+(?:[eE][-+]?\d+)?)"


# ---- stand-in data ----------------------------------------------------------------------------------------

def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def _read_idx(path: pathlib.Path) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _mnist_like(folder: pathlib.Path, n_train: int, n_test: int) -> None:
    """Fashion-MNIST subsets (the shared copy) in MNIST's four IDX files; synthetic digits without it."""
    folder.mkdir(parents=True, exist_ok=True)
    src = SHARED / "fashion-mnist"
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        if (src / f"{split}-images-idx3-ubyte.gz").is_file():
            images = _read_idx(src / f"{split}-images-idx3-ubyte.gz")[:n]
            labels = _read_idx(src / f"{split}-labels-idx1-ubyte.gz")[:n]
        else:   # a learnable stand-in: a bright bar whose position is the label
            labels = rng.integers(0, 10, n).astype(np.uint8)
            images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
            for i, c in enumerate(labels):
                images[i, 2 + 2 * c:4 + 2 * c, 4:24] = 255
        (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(_idx(images))
        (folder / f"{split}-labels-idx1-ubyte.gz").write_bytes(_idx(labels))


def _cifar_like(folder: pathlib.Path, per_batch: int) -> None:
    """Synthetic CIFAR-10 binary batches: each class a colour of its own plus noise (learnable)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, (10, 3))
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, per_batch)
        planes = colours[labels][:, :, None] + rng.normal(0, 40, (per_batch, 3, 1024))
        records = np.concatenate([labels[:, None], np.clip(planes, 0, 255).reshape(per_batch, -1)], 1)
        records.astype(np.uint8).tofile(folder / name)
    (folder / "batches.meta.txt").write_text("\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog",
                                                        "frog", "horse", "ship", "truck"]) + "\n")


def _shakespeare(chars: int) -> str:
    folder = SHARED / "shakespeare"
    texts = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if texts:
        text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in texts[:8])
    else:
        from nnzoo.data.datasets import shakespeare
        text = shakespeare() if isinstance(shakespeare(), str) else str(shakespeare())
    return text[:chars]


def _setup(step: dict, cwd: pathlib.Path) -> None:
    kind = step["kind"]
    if kind in ("mnist", "fashion-mnist"):
        sub = "MNIST" if kind == "mnist" else "FashionMNIST"
        _mnist_like(cwd / step.get("root", "data") / sub / "raw", step.get("train", 2000), step.get("test", 500))
    elif kind == "cifar10":
        _cifar_like(cwd / step.get("root", "data") / "cifar-10-batches-bin", step.get("per_batch", 200))
    elif kind == "text":
        path = cwd / step["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_shakespeare(step.get("chars", 100_000)))
    elif kind == "wikitext":    # word-level train/valid/test files in wikitext-2's layout
        folder = cwd / step["dir"]
        folder.mkdir(parents=True, exist_ok=True)
        lines = [" ".join(line.split()) for line in _shakespeare(step.get("chars", 300_000)).splitlines()]
        lines = [line for line in lines if line]
        n = len(lines)
        for name, part in (("train", lines[:int(0.8 * n)]), ("valid", lines[int(0.8 * n):int(0.9 * n)]),
                           ("test", lines[int(0.9 * n):])):
            (folder / f"{name}.txt").write_text("\n".join(part) + "\n")
    elif kind == "nanogpt-char":   # what nanoGPT's data/shakespeare_char/prepare.py writes (it needs requests)
        import pickle
        folder = cwd / step["dir"]
        folder.mkdir(parents=True, exist_ok=True)
        text = _shakespeare(step.get("chars", 200_000))
        chars = sorted(set(text))
        stoi = {ch: i for i, ch in enumerate(chars)}
        ids = np.array([stoi[c] for c in text], dtype=np.uint16)
        n = int(0.9 * len(ids))
        ids[:n].tofile(folder / "train.bin")
        ids[n:].tofile(folder / "val.bin")
        meta = {"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi}
        (folder / "meta.pkl").write_bytes(pickle.dumps(meta))
    elif kind == "mkdir":
        (cwd / step["path"]).mkdir(parents=True, exist_ok=True)
    elif kind == "names":   # a list of names, one a line (makemore's input)
        (cwd / step["path"]).write_text(step["text"])
    else:
        raise ValueError(f"run_corpus: unknown data step kind {kind!r}")


# ---- running -----------------------------------------------------------------------------------------------

def _losses(text: str, pattern: str) -> list[float]:
    return [float(m) for m in re.findall(pattern, text, flags=re.IGNORECASE)]


def _fell(losses: list[float]) -> bool | None:
    if len(losses) < 2:
        return None
    third = max(1, len(losses) // 3)
    return float(np.mean(losses[-third:])) < float(np.mean(losses[:third]))


def _reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lines = [line for line in lines if "Warning" not in line and not line.startswith("warnings.warn")]
    return lines[-1][:200] if lines else "(no message)"


def run_one(entry: dict, corpus: pathlib.Path, timeout: float) -> dict:
    src = corpus / entry["repo"].replace("/", "+") / entry["dir"]
    result = {"name": entry["name"], "source": entry["source"]}
    if not src.is_dir():
        return {**result, "status": "missing", "reason": f"{src} not found"}
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        work = pathlib.Path(tmp) / "w" / entry["dir"]
        shutil.copytree(src, work, ignore=shutil.ignore_patterns("*.bin", "*.pt"))
        for step in entry.get("data", []):
            _setup(step, work)
        env = dict(os.environ, MPLBACKEND="Agg", **entry.get("env", {}))
        start = time.time()
        try:
            for pre in entry.get("pre", []):
                subprocess.run([sys.executable, *pre], cwd=work, env=env, capture_output=True, timeout=timeout,
                               check=True)
            done = subprocess.run([sys.executable, "-m", "nnzoo", "run", entry["script"], *entry.get("args", [])],
                                  cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            losses = _losses(out, entry.get("loss", _LOSS))
            return {**result, "status": "timeout", "reason": f"still running after {timeout:.0f} s",
                    "seconds": round(time.time() - start, 1), "losses": losses[:3] + losses[-3:],
                    "fell": _fell(losses)}
        except subprocess.CalledProcessError as e:
            return {**result, "status": "setup failed", "reason": _reason(e.stderr.decode(errors="replace"))}
        seconds = round(time.time() - start, 1)
    losses = _losses(done.stdout, entry.get("loss", _LOSS)) if entry.get("loss") is not False else []
    status = "ran" if done.returncode == 0 else "failed"
    return {**result, "status": status, "seconds": seconds, "reason": "" if status == "ran" else _reason(done.stderr),
            "losses": losses[:3] + losses[-3:], "n_losses": len(losses), "fell": _fell(losses)}


def table(results: list[dict]) -> str:
    ran = sum(r["status"] == "ran" for r in results)
    fell = sum(r["status"] == "ran" and r.get("fell") is not False for r in results)
    lines = [f"**{ran}/{len(results)} ran to the end** through `nnzoo run`, unmodified; {fell}/{len(results)} ran "
             "to the end with their printed losses falling (or printing none to judge).", "",
             "| program | result | losses (first -> last) | seconds | why it stopped |", "|---|---|---|---|---|"]
    for r in results:
        losses = r.get("losses") or []
        shown = f"{losses[0]:.4g} -> {losses[-1]:.4g}" if len(losses) >= 2 else "-"
        verdict = {True: " (fell)", False: " (did not fall)", None: ""}[r.get("fell")]
        name = f"[{r['name']}]({r['source']})"
        reason = (r.get("reason") or "").replace("|", "\\|")
        lines.append(f"| {name} | {r['status']} | {shown}{verdict if losses else ''} | {r.get('seconds', '-')} | "
                     f"{reason} |")
    return "\n".join(lines)


_BEGIN, _END = "<!-- corpus:begin -->", "<!-- corpus:end -->"


def write_readme(path: pathlib.Path, text: str) -> None:
    readme = path.read_text()
    block = f"{_BEGIN}\n{text}\n{_END}"
    if _BEGIN in readme:
        head, _, rest = readme.partition(_BEGIN)
        readme = head + block + rest.partition(_END)[2]
    else:
        readme = readme.rstrip("\n") + "\n\n## Real PyTorch programs\n\n" + block + "\n"
    path.write_text(readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=pathlib.Path, help="the folder of checked-out repositories")
    parser.add_argument("--only", nargs="*", help="run only these programs (manifest names)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per program (default: 300)")
    parser.add_argument("--readme", type=pathlib.Path, help="write the table into this README's corpus section")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "results.json")
    args = parser.parse_args(argv)
    entries = json.loads((HERE / "manifest.json").read_text())["programs"]
    if args.only:
        entries = [e for e in entries if e["name"] in args.only]
    old = {r["name"]: r for r in json.loads(args.out.read_text())} if args.only and args.out.is_file() else {}
    results = []
    for entry in entries:
        r = run_one(entry, args.corpus, entry.get("timeout", args.timeout))
        print(f"{r['name']:<34} {r['status']:<8} {r.get('seconds', '-'):>6}  fell={r.get('fell')}  "
              f"{r.get('reason', '')}", flush=True)
        results.append(r)
    if old:   # a partial run updates its programs' rows and keeps the others
        merged = {**old, **{r["name"]: r for r in results}}
        order = [e["name"] for e in json.loads((HERE / "manifest.json").read_text())["programs"]]
        results = [merged[n] for n in order if n in merged]
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    text = table(results)
    print(text)
    if args.readme:
        write_readme(args.readme, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
