"""The ``nnzoo`` command: ``tour``, ``datasets``, ``train``, ``sample``, ``translate``, ``gallery``, ``serve``, ``run``.
``nnzoo --help`` lists them."""
import argparse
import json
import math
import os
import sys
import warnings

_DESCRIPTION = """\
nnzoo: deep learning from first principles, on NumPy, with PyTorch's surface.

commands:
  nnzoo tour                  the guided tour: autograd, the feature-map lesson, models trained on
                              bundled data; writes runs/tour/report.html (what `make demo` runs)
  nnzoo datasets [NAME]       list the datasets (bundled and downloadable), or describe one
  nnzoo train MODEL           train a zoo model on its task; `nnzoo train --list` shows the models
  nnzoo sample --prompt TEXT  write text with a trained model whose recipe samples text
                              (default: runs/char-rnn)
  nnzoo translate TEXT        translate with a trained model whose recipe translates, e.g. "saturday 9
                              may 2018" (default: runs/date-translator)
  nnzoo gallery               every cell of the Neural Network Zoo chart with its nnzoo model and the
                              figures of its newest run (reads runs/, writes docs/zoo/README.md)
  nnzoo serve                 web pages at http://127.0.0.1:8000: draw a digit and see every CNN layer,
                              step through backprop, the playgrounds and the zoo gallery (reads runs/)
  nnzoo run SCRIPT [ARGS...]  run a PyTorch program unchanged, with nnzoo as `torch` and nnzoo.vision
                              as `torchvision`
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


# A user's mistake gets one line on stderr, "nnzoo COMMAND: what is wrong and what is allowed", and exit
# status 2 (argparse's own usage errors included); a diverged training run exits 1; tracebacks are for bugs.
class _UsageError(Exception):
    """A mistake in the command line, found after parsing: ``main`` prints it as one line, exit status 2."""


def _one_line(text):
    return " ".join(str(text).split())


def _fail(command, message):
    print(_one_line(f"nnzoo {command}: {message}"), file=sys.stderr)
    return 2


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line: ``nnzoo train: argument --epochs: invalid int value:
    'abc' (see nnzoo train --help)``, exit status 2."""

    def error(self, message):
        self.exit(2, _one_line(f"{self.prog}: {message} (see `{self.prog} --help`)") + "\n")


def _parse_set(items):
    """``key=value`` pairs; values parsed as JSON when they parse (numbers, lists, true/false, null),
    else kept as strings."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _UsageError(f"argument --set: expected KEY=VALUE, e.g. --set dropout=0.1, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _parser():
    parser = _Parser(prog="nnzoo", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    tr.add_argument("--set", action="extend", nargs="+", metavar="KEY=VALUE",
                    help="override any other hyper-parameters of the recipe, e.g. --set dropout=0.1 epochs=3")
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
                        description="Load a run of `nnzoo train` whose recipe translates (date-translator, "
                                    "date-transformer, ...) and translate TEXT.")
    tl.add_argument("text", help='e.g. "saturday 9 may 2018"')
    tl.add_argument("--run", default="runs/date-translator", help="the run's folder (default: runs/date-translator)")
    ga = sub.add_parser("gallery", help="the zoo gallery: every cell of the chart with its newest run",
                        description="Every cell of the Neural Network Zoo chart with its nnzoo model, its task, "
                                    "and the test figures and first picture of the newest run of its recipe "
                                    "found under the --runs folders; written as Markdown with the pictures.")
    ga.add_argument("--runs", action="append", help="a folder of runs (repeatable; default: runs)")
    ga.add_argument("--out", default="docs/zoo", help="where README.md and img/ go (default: docs/zoo)")
    sv = sub.add_parser("serve", help="web pages: the CNN visualiser, the backprop stepper, playgrounds, the gallery",
                        description="Serve the pages (Starlette on uvicorn; the serve extra) over the runs under "
                                    "--runs. When no run there can drive the CNN visualiser, the digits CNN is "
                                    "trained first (seconds). Binds 127.0.0.1 unless --host says otherwise.")
    sv.add_argument("--host", help="the address to bind (default: 127.0.0.1); another than this machine's "
                                   "loopback exposes the pages to the network and must be given explicitly")
    sv.add_argument("--port", type=int, default=8000, help="the port (default: 8000)")
    sv.add_argument("--runs", default="runs", help="the folder of runs the pages read (default: runs)")
    rn = sub.add_parser("run", help="run a PyTorch program unchanged with nnzoo as torch", add_help=False,
                        description="Run SCRIPT as `python SCRIPT ARGS...` would, with `import torch` and "
                                    "`import torchvision` answered by nnzoo (see nnzoo/run.py).")
    rn.add_argument("script", nargs="?", help="the program")
    rn.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    parser.commands = {"tour": tour, "datasets": ds, "train": tr, "sample": sa, "translate": tl, "gallery": ga,
                       "serve": sv, "run": rn}
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
    from .recipes import recipe, recipes
    if args.list or not args.model:
        width = max(map(len, recipes()))
        for name, r in recipes().items():
            d = ", ".join(f"{k}={v}" for k, v in r.defaults.items())
            print(f"  {name:<{width}}  {r.description}\n  {'':<{width}}  defaults: {d}")
        return 0
    from . import recipes as _recipes
    from .io import CheckpointError, dumps_json
    from .recipes import ConfigError, recipe_config
    from .train import NonFiniteError
    try:
        recipe(args.model)
    except KeyError as e:
        return _fail("train", f"argument MODEL: {e.args[0][len('recipes: '):]} (`nnzoo train --list` describes them)")
    overrides = _parse_set(args.set)
    flags = [key for key in _TRAIN_FLAGS if getattr(args, key) is not None]
    overrides.update({key: getattr(args, key) for key in flags})
    try:
        config = recipe_config(args.model, overrides)
        result = _recipes.run_recipe(args.model, out_dir=args.out, overrides=overrides, resume=args.resume,
                            seed=args.seed, progress=not args.no_progress)
    except ConfigError as e:
        if e.key in flags or e.key in _RUN_FLAGS:
            where = f"argument {_RUN_FLAGS.get(e.key) or '--' + e.key.replace('_', '-')}"
        else:
            where = f"argument --set {e.key}"
        return _fail("train", f"{where}: {e.problem}")
    except CheckpointError as e:
        return _fail("train", f"{'argument --resume: ' if args.resume else ''}{e}; delete that file to start "
                              "afresh, or give another --out")
    except NonFiniteError as e:
        print(_one_line(f"nnzoo train: {_diverged(e, config)}"), file=sys.stderr)
        return 1
    from . import distributed as dist
    if not dist.is_initialized() or dist.get_rank() == 0:  # under mpirun, rank 0 speaks for the group
        print(dumps_json(result["test"], indent=2))
        print(f"written to {result['out_dir']}")
    return 0


_TRAIN_FLAGS = ("epochs", "lr", "batch_size")                          # hyper-parameters with their own flag
_RUN_FLAGS = {"seed": "--seed", "out_dir": "--out", "resume": "--resume"}  # run_recipe's other arguments


def _diverged(e, config):
    """One line for a run stopped by ``NonFiniteError``: where, what, the checkpoint kept, what to try."""
    where = [f"epoch {e.epoch}"] if e.epoch is not None else []
    if e.batch is not None:
        where.append(f"batch {e.batch + 1} of the epoch")
    if e.step is not None:
        where.append(f"after {e.step} optimizer steps")
    if e.what in (None, "loss"):
        what = "the loss"
    else:   # a gradient in a batch, else a parameter or buffer at the end of an epoch
        what = f"the gradient of {e.what!r}" if e.batch is not None else repr(e.what)
    what = f"{what} is not finite{' at ' + ', '.join(where) if where else ''}"
    # NOTE: a resumed run restores the saved learning rate and the same batches, so it would diverge
    # again at the same step: the hint is a fresh run, not --resume.
    kept = f"the last good weights are in {e.checkpoint}" if e.checkpoint else "no checkpoint was kept"
    hint = (f"train afresh with {'another --out and ' if e.checkpoint else ''}a lower --lr "
            f"(this run: {config['lr']:g})")
    if not config.get("clip_grad_norm"):
        hint += " or --set clip_grad_norm=1"
    return f"training diverged: {what}; {kept}; {hint}"


def _load_run(run):
    """``load_run(run)``, its errors (no run, a damaged result.json or checkpoint) as :class:`_UsageError`."""
    from .io import CheckpointError
    from .recipes import RunError, load_run
    try:
        return load_run(run)
    except (FileNotFoundError, RunError) as e:
        raise _UsageError(f"argument --run: {e}") from None
    except CheckpointError as e:
        raise _UsageError(f"argument --run: {e}; train the run again, or give another --run") from None


def _cmd_sample(args):
    from .random import Generator
    if args.length < 0:
        raise _UsageError(f"argument --length: must be an integer >= 0, got {args.length}")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise _UsageError(f"argument --temperature: must be a finite number >= 0 (0: greedy), "
                          f"got {args.temperature}")
    if args.top_k is not None and args.top_k < 1:
        raise _UsageError(f"argument --top-k: must be an integer >= 1, got {args.top_k}")
    if args.seed is not None and not 0 <= args.seed < 2 ** 63:
        raise _UsageError(f"argument --seed: must be an integer in [0, 2**63), got {args.seed}")
    r, config, model = _load_run(args.run)
    if r.sample is None:
        raise _UsageError(f"argument --run: {args.run} holds a {r.name!r} run, not a model that writes text "
                          f"({_able('sample')})")
    generator = Generator().manual_seed(args.seed) if args.seed is not None else None
    print(r.sample(model, config, args.prompt, args.length, args.temperature, args.top_k, generator))
    return 0


def _able(hook):
    """The recipes that have ``hook`` (``'sample'``, ``'translate'``): ``'char-rnn, char-gpt'``."""
    from .recipes import recipes
    return ", ".join(name for name, r in recipes().items() if getattr(r, hook) is not None)


def _cmd_translate(args):
    if not args.text.strip():
        raise _UsageError("argument TEXT: nothing to translate; give a date, e.g. \"saturday 9 may 2018\"")
    r, config, model = _load_run(args.run)
    if r.translate is None:
        raise _UsageError(f"argument --run: {args.run} holds a {r.name!r} run, not a translation model "
                          f"({_able('translate')})")
    try:
        text, notes = r.translate(model, config, args.text)
    except ValueError as e:
        raise _UsageError(f"argument TEXT: {e}") from None
    if notes:
        print(_one_line(f"nnzoo translate: {'; '.join(notes)}"), file=sys.stderr)
    print(text)
    return 0


def main(argv=None):
    try:
        return _main(argv)
    except BrokenPipeError:   # `nnzoo datasets | head`: the reader left; stop quietly, as a shell tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    from .kernels import jit
    problem = jit.environment_error()
    if problem:
        print(f"nnzoo: error: {problem}", file=sys.stderr)
        return 2
    if argv[:1] == ["run"]:
        # everything after SCRIPT belongs to the program, and its warnings print as python prints them
        from .run import main as run_main
        ensure_fast_blas(argv)
        return run_main(argv[1:])
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:   # said by the command's parser: "nnzoo train: unrecognized arguments: ..."
        parser.commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    with warnings.catch_warnings():
        # a warning is one line too: "nnzoo train: warning: Trainer.fit: resume=True but ..."
        warnings.showwarning = lambda message, category, *rest, **kw: print(
            _one_line(f"nnzoo {args.command or ''}: warning: {message}"), file=sys.stderr)
        # NumPy's "overflow encountered in ..." of a diverging run: the divergence guard says what went wrong
        warnings.filterwarnings("ignore", message=".* encountered in ", category=RuntimeWarning)
        try:
            return _run(parser, args, argv)
        except _UsageError as e:
            return _fail(args.command, e)


def _run(parser, args, argv):
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
        from .recipes import ConfigError, make_out_dir
        from .tour import run
        try:
            make_out_dir(args.out)
        except ConfigError as e:
            raise _UsageError(f"argument --out: {e.problem}") from None
        run(out_dir=args.out, quick=args.quick, progress=not args.no_progress)
        return 0
    if args.command == "datasets":
        return _cmd_datasets(args)
    if args.command == "sample":
        return _cmd_sample(args)
    if args.command == "translate":
        return _cmd_translate(args)
    if args.command == "gallery":
        return _cmd_gallery(args)
    if args.command == "serve":
        return _cmd_serve(args)
    return _cmd_train(args)


def _cmd_gallery(args):
    from .recipes.gallery import gallery, write_markdown
    roots = args.runs or ["runs"]
    missing = [r for r in roots if not os.path.isdir(r)]
    if missing:
        raise _UsageError(f"argument --runs: no folder {missing[0]!r} (train a model first: nnzoo train NAME)")
    rows = gallery(*roots)
    try:
        page = write_markdown(rows, args.out)
    except OSError as e:
        raise _UsageError(f"argument --out: cannot write there ({e.strerror or e})") from None
    done = sum(r["run"] is not None for r in rows)
    print(f"{len(rows)} cells, {done} with a recorded run; written to {page}")
    return 0


def _cmd_serve(args):
    if not 1 <= args.port <= 65535:
        raise _UsageError(f"argument --port: must be an integer in [1, 65535], got {args.port}")
    if args.host is not None and not args.host.strip():
        raise _UsageError("argument --host: empty; give an address, e.g. 127.0.0.1")
    if os.path.exists(args.runs) and not os.path.isdir(args.runs):
        raise _UsageError(f"argument --runs: {args.runs!r} is a file, not a folder of runs")
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise _UsageError("needs Starlette and uvicorn: pip install 'nnzoo[serve]'") from None
    from .serve import is_loopback, serve
    host = args.host or "127.0.0.1"
    if not is_loopback(host):
        print(f"nnzoo serve: warning: --host {host} makes the pages reachable from other machines", file=sys.stderr)
    where = f"http://{'[' + host + ']' if ':' in host else host}:{args.port}"
    announce = (f"nnzoo serve: the pages at {where}/ (CNN visualiser /cnn, backprop stepper /backprop, "
                f"playgrounds /play, zoo gallery /gallery); runs from {args.runs}; Ctrl-C stops")
    try:
        serve(host=host, port=args.port, runs_dir=args.runs, allow_remote=args.host is not None, announce=announce)
    except OSError as e:
        raise _UsageError(f"cannot serve at {host}:{args.port} ({e.strerror or e})") from None
    except SystemExit as e:     # uvicorn exits 1 when it cannot bind (it has logged why)
        if e.code not in (None, 0):
            raise _UsageError(f"cannot serve at {host}:{args.port} (the address is in use or not this "
                              "machine's)") from None
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
