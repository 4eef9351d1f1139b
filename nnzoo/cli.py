"""The ``nnzoo`` command: ``tour``, ``datasets``, ``train``, ``sample``, ``translate``. ``nnzoo --help`` lists
them."""
import argparse
import json
import os
import sys

_DESCRIPTION = """\
nnzoo: deep learning from first principles, on NumPy, with PyTorch's surface.

commands:
  nnzoo tour                  the guided tour: autograd, the feature-map lesson, models trained on
                              bundled data; writes runs/tour/report.html (what `make demo` runs)
  nnzoo datasets [NAME]       list the datasets (bundled and downloadable), or describe one
  nnzoo train MODEL           train a zoo model on its task; `nnzoo train --list` shows the models
  nnzoo sample --prompt TEXT  write text with a trained language model (default: runs/char-rnn)
  nnzoo translate TEXT        translate with a trained seq2seq model, e.g. "saturday 9 may 2018"
                              (default: runs/date-translator)
"""


def _has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512f" in f.read()
    except OSError:
        return False


def ensure_fast_blas(argv):
    """Re-run this command with ``OPENBLAS_CORETYPE=SkylakeX`` when the CPU has AVX-512.

    NumPy's OpenBLAS picks its AVX2 kernels on some AVX-512 CPUs; its AVX-512 kernels are faster for
    float32 GEMM there. The variable must be set before NumPy loads, hence the re-exec. A value the user
    set (any value, e.g. ``OPENBLAS_CORETYPE=Haswell``) is respected, and ``NNZOO_NO_CORETYPE=1`` skips it.
    """
    if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("NNZOO_NO_CORETYPE") or not _has_avx512():
        return
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX")
    os.execve(sys.executable, [sys.executable, "-m", "nnzoo", *argv], env)


def _parse_set(items):
    """``key=value`` pairs; values parsed as JSON when they parse (numbers, lists, true/false)."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"nnzoo train: --set expects key=value, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _parser():
    parser = argparse.ArgumentParser(prog="nnzoo", description=_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    tour = sub.add_parser("tour", help="the guided tour; writes runs/tour/report.html",
                          description="Autograd on the notes' examples, the feature-map lesson, and the zoo's "
                                      "models trained on bundled data, with a one-page HTML report.")
    tour.add_argument("--out", default="runs/tour", help="folder for the report and plots (default: runs/tour)")
    tour.add_argument("--quick", action="store_true", help="a reduced tour (few epochs; for tests)")
    tour.add_argument("--no-progress", action="store_true", help="no progress bars")

    ds = sub.add_parser("datasets", help="list the datasets, or describe one",
                        description="Bundled datasets work offline; the others download once into "
                                    "$NNZOO_HOME (default ~/.cache/nnzoo) with checksums.")
    ds.add_argument("name", nargs="?", help="a dataset to describe")

    tr = sub.add_parser("train", help="train a zoo model on its task",
                        description="Train a model from the zoo with its recipe's data, loss and defaults; "
                                    "checkpoints, history.json and plots go to the output folder.")
    tr.add_argument("model", nargs="?", help="the model's name (see --list)")
    tr.add_argument("--list", action="store_true", help="list the models and their defaults")
    tr.add_argument("--epochs", type=int, help="number of epochs (default: the recipe's)")
    tr.add_argument("--lr", type=float, help="learning rate (default: the recipe's)")
    tr.add_argument("--batch-size", type=int, help="mini-batch size (default: the recipe's)")
    tr.add_argument("--out", help="output folder (default: runs/MODEL)")
    tr.add_argument("--resume", action="store_true", help="continue from OUT/last.safetensors")
    tr.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tr.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override any other hyper-parameter of the recipe, e.g. --set dropout=0.1")
    tr.add_argument("--no-progress", action="store_true", help="no progress bars")

    sa = sub.add_parser("sample", help="write text with a trained language model",
                        description="Load a run of `nnzoo train` (its result.json and best.safetensors) and "
                                    "continue a prompt one token at a time.")
    sa.add_argument("--run", default="runs/char-rnn", help="the run's folder (default: runs/char-rnn)")
    sa.add_argument("--prompt", default="\n", help="the text to continue (default: a newline)")
    sa.add_argument("--length", type=int, default=500, help="tokens to write (default: 500)")
    sa.add_argument("--temperature", type=float, default=0.8,
                    help="softmax temperature: < 1 safer, > 1 wilder, 0 greedy (default: 0.8)")
    sa.add_argument("--top-k", type=int, help="draw only among the k likeliest tokens")
    sa.add_argument("--seed", type=int, help="random seed for reproducible samples")

    tl = sub.add_parser("translate", help="translate a text with a trained seq2seq model (e.g. a date)",
                        description="Load a run of `nnzoo train date-translator` (or date-transformer) and "
                                    "translate TEXT by greedy decoding.")
    tl.add_argument("text", help='e.g. "saturday 9 may 2018"')
    tl.add_argument("--run", default="runs/date-translator", help="the run's folder (default: runs/date-translator)")
    return parser


def _cmd_datasets(args):
    from .data.datasets import catalog
    entries = catalog()
    if args.name:
        if args.name not in entries:
            print(f"nnzoo datasets: no dataset called {args.name!r}; known: {', '.join(entries)}", file=sys.stderr)
            return 2
        print(entries[args.name].describe())
        return 0
    width = max(map(len, entries))
    for kind in ("bundled", "download"):
        print("bundled (offline):" if kind == "bundled" else "\ndownloaded on first use (cached in $NNZOO_HOME):")
        for name, e in entries.items():
            if e.kind == kind:
                print(f"  {name:<{width}}  {e.summary}")
    print("\n`nnzoo datasets NAME` describes one (source, license, size, split).")
    return 0


def _cmd_train(args):
    from . import zoo
    if args.list or not args.model:
        width = max(map(len, zoo.recipes()))
        for name, r in zoo.recipes().items():
            d = ", ".join(f"{k}={v}" for k, v in r.defaults.items())
            print(f"  {name:<{width}}  {r.description}\n  {'':<{width}}  defaults: {d}")
        return 0
    from .train.recipes import run_recipe
    overrides = _parse_set(args.set)
    for key in ("epochs", "lr", "batch_size"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    try:
        zoo.recipe(args.model)
    except KeyError as e:
        print(f"nnzoo train: {e.args[0]}", file=sys.stderr)
        return 2
    result = run_recipe(args.model, out_dir=args.out, overrides=overrides, resume=args.resume,
                        seed=args.seed, progress=not args.no_progress)
    print(json.dumps(result["test"], indent=2))
    print(f"written to {result['out_dir']}")
    return 0


def _cmd_sample(args):
    from .random import Generator
    from .train.recipes import load_run
    try:
        r, config, model = load_run(args.run)
    except FileNotFoundError as e:
        print(f"nnzoo sample: {e}", file=sys.stderr)
        return 2
    if r.sample is None:
        print(f"nnzoo sample: {r.name!r} is not a model that writes text", file=sys.stderr)
        return 2
    if args.length < 0 or (args.temperature < 0) or (args.top_k is not None and args.top_k < 1):
        print("nnzoo sample: --length must be >= 0, --temperature >= 0 and --top-k >= 1", file=sys.stderr)
        return 2
    generator = Generator().manual_seed(args.seed) if args.seed is not None else None
    print(r.sample(model, config, args.prompt, args.length, args.temperature, args.top_k, generator))
    return 0


def _cmd_translate(args):
    from .train.recipes import load_run
    from .zoo.seq2seq import translate
    try:
        r, config, model = load_run(args.run)
    except FileNotFoundError as e:
        print(f"nnzoo translate: {e}", file=sys.stderr)
        return 2
    if r.name not in ("date-translator", "date-transformer"):
        print(f"nnzoo translate: {r.name!r} is not a translation model", file=sys.stderr)
        return 2
    print(translate(model, config, args.text))
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__
        print(f"nnzoo {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    if args.command in ("tour", "train", "sample", "translate"):
        ensure_fast_blas(argv)
    if args.command == "tour":
        from .tour import run
        run(out_dir=args.out, quick=args.quick, progress=not args.no_progress)
        return 0
    if args.command == "datasets":
        return _cmd_datasets(args)
    if args.command == "sample":
        return _cmd_sample(args)
    if args.command == "translate":
        return _cmd_translate(args)
    return _cmd_train(args)


if __name__ == "__main__":
    sys.exit(main())
