"""Array-level kernels: how the ops are made fast.

``nnzoo/ops/<family>.py`` holds the Op classes (forward and backward side by side, the derivative in the
docstring); ``nnzoo/kernels/<family>.py`` holds the array code those ops call: convolution windows and
row shifts, the fused time loops of the recurrent layers, pooling loops, the attention backward, the
erf approximation. Kernels take and return arrays (never Tensors), compute through ``backend.xp`` and
import nothing from nnzoo above :mod:`nnzoo.backend` and :mod:`nnzoo.dtypes`.
"""
