"""Workload modules: each registers its workloads with :mod:`benchmarks.registry` on import.

A workload module imports only NumPy at module level (to build inputs); nnzoo or torch arrive as the
``torch`` argument of the setup function, so the same code runs under both libraries.
"""
