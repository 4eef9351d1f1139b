"""Doctests: every docstring example in nnzoo/ runs with ``nnzoo`` in scope (GUIDE: examples that run)."""
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    import nnzoo
    doctest_namespace["nnzoo"] = nnzoo
    doctest_namespace["np"] = np
    nnzoo.manual_seed(0)
