"""The zoo gallery: every cell of the Neural Network Zoo chart (the Asimov Institute's, as the notes list it)
with its nnzoo class, its task, its recorded result and a picture, built from run folders.

A cell's result is the newest ``result.json`` among the run folders given (``nnzoo train`` writes one per run;
the tour writes its own) whose recipe is the cell's and whose config agrees with the cell's settings (the GRU
cell takes an ``rnn-digits`` run with ``cell=gru``). A cell that no run covers says which command records it;
a cell whose model is not built yet says which issue brings it.

``nnzoo gallery --runs runs --out docs/zoo`` writes ``docs/zoo/README.md`` with the pictures copied next to it;
the tour puts the same table into its report.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
from dataclasses import dataclass, field

__all__ = ["Cell", "CELLS", "find_runs", "gallery", "write_markdown", "summarize_test"]


@dataclass(frozen=True)
class Cell:
    """One cell of the chart.

    Args:
        abbr: the chart's abbreviation (``'RBM'``).
        name: the cell's name.
        model: the nnzoo class or function that builds it (a dotted path under ``nnzoo.``), or None.
        recipes: the recipes that train it, in order of preference.
        task: what it learns, in a few words.
        match: config items a run must have to count for this cell (``{'cell': 'gru'}``).
        coming: the issue that builds it, for cells not built yet.
    """

    abbr: str
    name: str
    model: str | None
    recipes: tuple = ()
    task: str = ""
    match: dict = field(default_factory=dict)
    coming: str | None = None


# The chart's cells in the order the syllabus lists them.
CELLS = (
    Cell("P", "Perceptron", "zoo.perceptron", ("perceptron",),
         "Rosenblatt's rule: separable data within Novikoff's bound, XOR fails, digits one-vs-rest"),
    Cell("FF", "Feed forward", "zoo.mlp.MLP", ("mlp",), "one hidden layer of 256 ReLU units on the 8x8 digits",
         match={"hidden": [256]}),
    Cell("RBF", "Radial basis network", "zoo.rbf", ("rbf",),
         "Gaussian units on k-means centres, least-squares output: XOR, two moons, digits"),
    Cell("DFF", "Deep feed forward", "zoo.mlp.MLP", ("mlp",), "MLP 64-256-256-10 on the 8x8 digits",
         match={"hidden": [256, 256]}),
    Cell("RNN", "Recurrent neural network", "zoo.rnn_shapes.SequenceClassifier", ("rnn-digits",),
         "reads the digits one row at a time (tanh cell)", match={"cell": "rnn"}),
    Cell("LSTM", "Long short-term memory", "zoo.char_rnn.CharRNN", ("char-rnn",),
         "character-level language model of Shakespeare"),
    Cell("GRU", "Gated recurrent unit", "zoo.rnn_shapes.SequenceClassifier", ("rnn-digits",),
         "reads the digits one row at a time (GRU cell)", match={"cell": "gru"}),
    Cell("AE", "Autoencoder", "zoo.autoencoder", ("ae", "linear-ae"),
         "reconstructs Fashion-MNIST, L = ||f(x) - x||²; with linear units, PCA's subspace"),
    Cell("VAE", "Variational autoencoder", "zoo.vae.VAE", ("vae",),
         "Fashion-MNIST: ELBO, samples, importance-weighted likelihood"),
    Cell("DAE", "Denoising autoencoder", "zoo.autoencoder", ("dae",), "corrupted image in, clean image out"),
    Cell("SAE", "Sparse autoencoder", "zoo.autoencoder", ("sae",), "KL sparsity toward a target activation"),
    Cell("MC", "Markov chain", "zoo.markov", ("markov",), "n-gram chains over Shakespeare: held-out perplexity"),
    Cell("HN", "Hopfield network", "zoo.hopfield", ("hopfield",),
         "Hebbian storage: capacity against 0.138N, recall of corrupted patterns"),
    Cell("BM", "Boltzmann machine", "zoo.boltzmann", ("boltzmann",), "the 4-2-4 encoder problem"),
    Cell("RBM", "Restricted Boltzmann machine", "zoo.rbm", ("rbm",),
         "digits features for logistic regression; AIS against the exact likelihood"),
    Cell("DBN", "Deep belief network", "zoo.dbn", ("dbn",),
         "greedy RBM pretraining, then fine-tuning on Fashion-MNIST"),
    Cell("DCN", "Deep convolutional network", "zoo.lenet.DigitsCNN", ("cnn",),
         "CNN on the 8x8 digits (LeNet, AlexNet, VGG, ResNet are built too)"),
    Cell("DN", "Deconvolutional network", "zoo.autoencoder", ("conv-ae",),
         "convolutional encoder, transposed-convolution decoder"),
    Cell("DCIGN", "Deep convolutional inverse graphics network", "zoo.dcign", ("dcign",),
         "latent units tied to the factors of generated shapes"),
    Cell("GAN", "Generative adversarial network", "zoo.gan", ("pacgan-ring", "gan-ring", "dcgan"),
         "ring of 8 Gaussians (mode collapse, PacGAN), DCGAN on Fashion-MNIST"),
    Cell("LSM", "Liquid state machine", "zoo.lsm", ("lsm",), "jittered Poisson spike templates"),
    Cell("ELM", "Extreme learning machine", "zoo.elm", ("elm",),
         "random hidden layer, ridge readout: Fashion-MNIST and digits"),
    Cell("ESN", "Echo state network", "zoo.esn", ("esn",), "Mackey-Glass one-step and free-running prediction"),
    Cell("DRN", "Deep residual network", "zoo.resnet.CifarResNet", (),
         "ResNet-20..110 for CIFAR-10 and ResNet-18..152 (torchvision's keys); CIFAR-10 is not bundled"),
    Cell("DNC", "Differentiable neural computer", "zoo.dnc.DNC", ("dnc-repeat-copy", "dnc-graph"),
         "repeat copy (DeepMind's small setting); graph traversal from triples against an LSTM of equal size"),
    Cell("NTM", "Neural Turing machine", "zoo.ntm.NTM", ("ntm-copy", "ntm-repeat-copy", "ntm-recall"),
         "copy 8-bit sequences of lengths 1-20 (and 30-50 never seen), repeat copy, associative recall"),
    Cell("CN", "Capsule network", "zoo.capsnet.CapsNet", ("capsnet",),
         "Fashion-MNIST: primary capsules, dynamic routing (3 iterations), margin loss, reconstruction decoder; "
         "capsule dimensions as pictures"),
    Cell("KN", "Kohonen network", "zoo.som", ("som",), "self-organising map of the digits"),
    Cell("AN", "Attention network", "zoo.seq2seq.Seq2Seq", ("date-translator", "date-transformer"),
         "human-readable dates to ISO with Bahdanau attention"),
)


def find_runs(*roots: str | os.PathLike) -> list[tuple[pathlib.Path, dict]]:
    """Every run folder under ``roots`` (a folder holding a readable ``result.json`` with a recipe ``name``),
    newest first, as ``(folder, result)``. Unreadable or foreign JSON files are skipped."""
    found = []
    for root in roots:
        root = pathlib.Path(root)
        if not root.is_dir():
            continue
        for path in root.rglob("result.json"):
            try:
                result = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(result, dict) and isinstance(result.get("name"), str):
                found.append((path.stat().st_mtime, path.parent, result))
    found.sort(key=lambda t: t[0], reverse=True)
    return [(folder, result) for _, folder, result in found]


def summarize_test(test: dict | None, limit: int = 4) -> str:
    """The numbers of a run's ``test`` object, ``'accuracy 0.9712, loss 0.0931'`` (at most ``limit``)."""
    if not isinstance(test, dict):
        return ""
    items = [(k, v) for k, v in test.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return ", ".join(f"{k} {v:.4g}" for k, v in items[:limit])


def _changed_settings(result: dict) -> str:
    """The run's settings that differ from its recipe's defaults, ``'epochs=2 train_size=512'`` ('' for none, or
    for a recipe this nnzoo does not know)."""
    from . import recipes
    known = recipes().get(result["name"])
    config = result.get("config") or {}
    if known is None:
        return ""
    changed = []
    for key, default in known.defaults.items():
        value = config.get(key, default)
        if json.dumps(value) != json.dumps(list(default) if isinstance(default, tuple) else default):
            changed.append(f"{key}={value if isinstance(value, str) else json.dumps(value).replace(' ', '')}")
    return " ".join(changed)


def _picture(folder: pathlib.Path, result: dict) -> pathlib.Path | None:
    """The run's first picture that exists (its path as recorded, else its name inside the run folder)."""
    for item in result.get("figures") or ():
        path = pathlib.Path(item[0] if isinstance(item, (list, tuple)) else item)
        for candidate in (path, folder / path.name):
            if candidate.suffix.lower() == ".png" and candidate.is_file():
                return candidate
    return None


def gallery(*roots: str | os.PathLike) -> list[dict]:
    """One row per cell: ``abbr``, ``name``, ``model``, ``task``, ``recipe``, ``result`` (a summary of the run's
    test figures, or what to run, or the issue that brings the cell), ``run`` (its folder or None) and
    ``picture`` (a PNG path or None)."""
    runs = find_runs(*roots)
    rows = []
    for cell in CELLS:
        row = {"abbr": cell.abbr, "name": cell.name, "model": f"nnzoo.{cell.model}" if cell.model else "",
               "task": cell.task, "recipe": ", ".join(cell.recipes), "run": None, "picture": None}
        hit = next(((folder, result) for name in cell.recipes for folder, result in runs
                    if result["name"] == name and all((result.get("config") or {}).get(k) == v
                                                      for k, v in cell.match.items())), None)
        if cell.coming:
            row["result"] = f"coming ({cell.coming})"
        elif hit is None:
            setting = " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v).replace(' ', '')}"
                               for k, v in cell.match.items())
            row["result"] = ("not run here: nnzoo train " + cell.recipes[0] + (f" --set {setting}" if setting else "")
                             if cell.recipes else "built; no recipe (see benchmarks/README.md)")
        else:
            folder, result = hit
            settings = _changed_settings(result)
            row.update(result=f"{result['name']}: {summarize_test(result.get('test')) or 'no test figures'}"
                              + (f" ({settings})" if settings else ""),
                       run=str(folder), picture=_picture(folder, result))
        rows.append(row)
    return rows


def write_markdown(rows: list[dict], out_dir: str | os.PathLike) -> pathlib.Path:
    """Write ``out_dir/README.md``: the gallery as a Markdown table, each picture copied to ``out_dir/img/``.

    Returns:
        the path of the page.
    """
    out = pathlib.Path(out_dir)
    (out / "img").mkdir(parents=True, exist_ok=True)
    lines = ["# The Neural Network Zoo in nnzoo", "",
             "Every cell of the chart the notes teach, with the nnzoo model, its task and the figures of its "
             "newest recorded run (generated by `nnzoo gallery`; the numbers are the runs' own `result.json`).",
             "", "| cell | name | nnzoo | task | result | picture |", "|---|---|---|---|---|---|"]
    for row in rows:
        picture = ""
        if row["picture"] is not None:
            name = f"{row['abbr'].lower()}-{pathlib.Path(row['picture']).name}"
            shutil.copyfile(row["picture"], out / "img" / name)
            picture = f"![{row['abbr']}](img/{name})"
        cells = [row["abbr"], row["name"], f"`{row['model']}`" if row["model"] else "", row["task"], row["result"],
                 picture]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    page = out / "README.md"
    page.write_text("\n".join(lines) + "\n")
    return page
