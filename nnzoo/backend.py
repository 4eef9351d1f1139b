"""The one place that chooses the array module.

Every op computes through ``xp``. NumPy today; a CuPy backend later swaps this module's choice,
not the ops.
"""
import numpy as np

xp = np
