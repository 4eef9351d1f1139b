"""Doctests: every docstring example in nnzoo/ runs with ``nnzoo`` in scope (GUIDE: examples that run),
inside a temporary directory, so examples that save files leave nothing behind."""
import numpy as np
import pytest
from _pytest.doctest import DoctestItem


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace, request):
    if not isinstance(request.node, DoctestItem):
        return
    import nnzoo
    doctest_namespace["nnzoo"] = nnzoo
    doctest_namespace["np"] = np
    nnzoo.manual_seed(0)
    request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))
