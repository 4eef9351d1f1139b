"""The ``nnzoo`` command. ``nnzoo tour`` walks through autograd with the lecture notes' examples."""
import argparse
import os
import sys


def _has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512f" in f.read()
    except OSError:
        return False


def ensure_fast_blas(argv):
    """Re-run this command with ``OPENBLAS_CORETYPE=SkylakeX`` when the CPU has AVX-512.

    NumPy's OpenBLAS picks its AVX2 kernels on some AVX-512 CPUs; its AVX-512 kernels roughly double
    float32 GEMM there. The variable must be set before NumPy loads, hence the re-exec. A value the user
    set (any value, e.g. ``OPENBLAS_CORETYPE=Haswell``) is respected, and ``NNZOO_NO_CORETYPE=1`` skips it.
    """
    if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("NNZOO_NO_CORETYPE") or not _has_avx512():
        return
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX")
    os.execve(sys.executable, [sys.executable, "-m", "nnzoo", *argv], env)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="nnzoo", description="nnzoo: deep learning from first principles")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    tour = sub.add_parser("tour", help="a guided tour of tensors and autograd (the notes' examples)")
    tour.add_argument("--steps", type=int, default=2000, help="training steps in the last part")
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__
        print(f"nnzoo {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    ensure_fast_blas(argv)
    if args.command == "tour":
        from .tour import run
        run(steps=args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
