"""Speed benchmarks: nnzoo against PyTorch (CPU), each side timed in its own fresh process.

Run ``python -m benchmarks --list`` to see the workloads and ``python -m benchmarks all`` to time them;
see benchmarks/README.md for the methodology and the recorded results.

Importing this package (or :mod:`benchmarks.registry`) loads neither nnzoo nor torch: each workload
imports its library inside its setup function, so the runner's child processes stay single-library.
"""
from .registry import Workload, get, names, register, workload, workloads

__all__ = ["Workload", "get", "names", "register", "workload", "workloads"]
