"""nnzoo.backend: the array module and the malloc tuning done on import."""
import os
import subprocess
import sys

import numpy as np
import pytest

import nnzoo
from nnzoo import backend

# A training step's pattern: 12 arrays of 8 MB (a step's activations) allocated, touched and all freed, five
# times over after one warm-up step; prints the minor page faults of the five.
_FAULTS = """
import resource, numpy as np
{setup}
def step():
    held = [np.ones(2 << 20, np.float32) for _ in range(12)]
    del held
step()
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)
"""


def _faults(setup, **env):
    out = subprocess.run([sys.executable, "-c", _FAULTS.format(setup=setup)], capture_output=True, text=True,
                         env=dict(os.environ, **env), check=True)
    return int(out.stdout.split()[-1])


def test_xp_is_numpy():
    assert backend.xp is np
    assert nnzoo.ones(2)._data.__class__ is np.ndarray


@pytest.mark.skipif(not backend.allocator_tuned, reason="malloc tuning needs Linux with glibc")
def test_tuned_allocator_reuses_freed_arrays():
    # untuned glibc returns freed memory at the top of its heap to the OS (above twice its dynamic 8 MB
    # threshold) and faults the pages in again next step: at least one 8 MB array's 2048 pages a step
    untuned = _faults("", NNZOO_MALLOC_TUNING="0")
    tuned = _faults("import nnzoo")
    assert untuned > 5 * 2048
    assert tuned < untuned / 20


def test_tuning_can_be_turned_off():
    out = subprocess.run([sys.executable, "-c", "import nnzoo.backend as b; print(b.allocator_tuned)"],
                         capture_output=True, text=True, env=dict(os.environ, NNZOO_MALLOC_TUNING="0"), check=True)
    assert out.stdout.strip() == "False"


def test_tune_allocator_is_repeatable():
    assert backend.tune_allocator() is backend.allocator_tuned
