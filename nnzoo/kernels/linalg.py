"""Matrix products on arrays: matmul with the outer-product fast path, one GEMM over all leading dims, linear's
biased GEMM (the bias added by BLAS, through ctypes in NumPy's own OpenBLAS), and sums by BLAS with a vector of
ones (a bias gradient, a broadcast undone).

The Ops (:mod:`nnzoo.ops.linalg`, :mod:`nnzoo.ops.nn`) hold the derivatives and call these.
"""
import numpy as np

from ..backend import xp

__all__ = ["addmm_rows", "matmul", "matmul_rows", "reduce_to", "sum_rows"]


def matmul(a, b):
    """xp.matmul(a, b), except an outer product (inner dimension 1) as a broadcast multiply.

    NOTE: NumPy hands a K = 1 product to its generic loop: (64, 30, 1) @ (64, 1, 128) took 385 us against
    77 us as a * b, and (1920, 1) @ (1, 64) 234 us against 64 us (the attention seq2seq's backward has
    both). The broadcast gives the same shape and dtype and, with one term per sum, the same values."""
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1 and b.shape[-2] == 1:
        out = a * b
        if out.dtype == xp.result_type(a, b):
            return out
    return xp.matmul(a, b)


def matmul_rows(a, m):
    """a (*, k) @ m (k, n) as ONE GEMM over all leading dims.

    NOTE: NumPy's matmul of a 3-D array with a 2-D one runs one GEMM per leading index: (32, 64, 128) @
    (128, 384) took 6.2 ms against 2.7 ms as a single (2048, 128) @ (128, 384). Rows of ``a`` merge without a
    copy when ``a`` is C-contiguous over its leading dims, or over a reordering of them (the rows are then
    multiplied in memory order and the result's leading dims put back as a view); otherwise ``a`` is copied
    contiguous first (see :func:`_rows`)."""
    if a.ndim <= 2:
        return matmul(a, m)
    rows, order = _rows(a, m.shape[-1])
    return _unrows(matmul(rows, m), a, order)


def _rows(a, n):
    """a (*, k), ndim >= 3, as a 2-D (M, k) array for a product with n columns, and the order of a's leading dims
    its rows follow (None: as they are).

    NOTE: seq2seq's attention keys, w1(memory) with memory (64, 30, 128) a batch-major view of the GRU's
    time-major output, ran as 64 GEMMs in 499 us; copied contiguous and one GEMM 202 us; one GEMM over the
    rows in memory order (no copy) 123 us, plus the (64, 30, 64) result copied back to a's order (the product
    stays C-contiguous, as PyTorch's, so ``view`` works on it): that path when n <= k, the input's copy
    otherwise. A copy also beats the per-slice GEMMs at (8, 50, 64), (16, 20, 32) and (4, 100, 256) (31 / 13 /
    77 us against 35 / 21 / 88 us)."""
    k = a.shape[-1]
    flat = a.view()
    try:
        flat.shape = (-1, k)  # raises instead of copying when the rows do not merge
        return flat, None
    except AttributeError:
        pass
    if n <= k:
        lead = a.ndim - 1
        order = sorted(range(lead), key=lambda i: -abs(a.strides[i]))
        p = a.transpose(order + [lead])
        if p.flags.c_contiguous:
            return p.reshape(-1, k), tuple(order)
    return xp.ascontiguousarray(a).reshape(-1, k), None


def _unrows(out, a, order):
    """The (M, n) product of ``_rows(a, n)`` in a's leading shape, C-contiguous."""
    n = out.shape[-1]
    lead = a.ndim - 1
    if order is None:
        return out.reshape(a.shape[:-1] + (n,))
    out = out.reshape(tuple(a.shape[i] for i in order) + (n,))
    inverse = sorted(range(lead), key=order.__getitem__)
    return xp.ascontiguousarray(out.transpose(inverse + [lead]))


# ---- column sums and the biased GEMM ------------------------------------------------------------------------
_ONES = {}


def _ones(n, dtype):
    """A read-only vector of n ones of ``dtype``, kept for the next call with the same n."""
    key = (n, dtype)
    one = _ONES.get(key)
    if one is None:
        if len(_ONES) > 32:
            _ONES.clear()
        one = _ONES[key] = xp.ones(n, dtype)
        one.flags.writeable = False
    return one


def sum_rows(a):
    """a (*, n) summed over all its leading dims: (n,); a 1-D ``a`` is returned as it is.

    NOTE: on float arrays the sum is a GEMV, ones @ a, not ``a.sum(0)``: NumPy's reduction over the leading axis
    of (2048, 384) float32 took 133 us against 54 us (2048, 512): 168 / 101 us; (2048, 128): 43 / 10 us; two
    threads, paired, one process), and its error against a float64 sum was lower (BLAS keeps 16 partial sums;
    both are well inside float32's rounding of a sum of 2048 terms). Linear's bias gradient is this sum."""
    if a.ndim < 2:
        return a
    rows = a.reshape(-1, a.shape[-1])
    if type(rows) is not np.ndarray or rows.dtype not in _BLAS_FLOATS or not rows.size:
        return rows.sum(0)
    return xp.matmul(_ones(rows.shape[0], rows.dtype), rows)


_BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_cblas = None  # (sgemm, dgemm) of NumPy's own OpenBLAS once looked up; False when not found
_openblas = None  # NumPy's bundled OpenBLAS as a ctypes library once looked up; False when not found


def numpy_openblas():
    """The OpenBLAS that NumPy's wheel bundles (scipy-openblas, 64-bit integers) as a ``ctypes.CDLL`` (the library
    NumPy already loaded, so the same threads and state), or None (another BLAS, another build, another
    platform: callers then do without it)."""
    global _openblas
    if _openblas is None:
        _openblas = False
        try:
            import ctypes
            import glob
            import os
            here = os.path.dirname(np.__file__)  # host: the folder of NumPy's wheel, where its OpenBLAS is bundled
            libs = glob.glob(os.path.join(here, os.pardir, "numpy.libs", "libscipy_openblas64_*"))
            if len(libs) == 1:
                _openblas = ctypes.CDLL(libs[0])
        except (OSError, ImportError):
            _openblas = False
    return _openblas or None


def _find_cblas():
    """cblas_sgemm and cblas_dgemm of :func:`numpy_openblas` through ctypes, or False (not found: callers then
    use NumPy)."""
    global _cblas
    if _cblas is not None:
        return _cblas
    _cblas = False
    lib = numpy_openblas()
    if lib is None:
        return _cblas
    try:
        import ctypes
        i64, ptr, enum = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
        found = []
        for name, real in (("scipy_cblas_sgemm64_", ctypes.c_float), ("scipy_cblas_dgemm64_", ctypes.c_double)):
            f = getattr(lib, name)
            f.restype = None
            f.argtypes = [enum, enum, enum, i64, i64, i64, real, ptr, i64, ptr, i64, real, ptr, i64]
            found.append(f)
        _cblas = tuple(found)
    except AttributeError:
        _cblas = False
    return _cblas


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_ADDMM_MIN = 1 << 14  # output elements below which the bias is added by NumPy (see addmm_rows)


def addmm_rows(x, w, b):
    """x (*, k) @ w.T + b for w (n, k), b (n,) or a scalar: one GEMM over all leading dims (as
    :func:`matmul_rows`), the bias written into the output first and the GEMM added onto it (BLAS's beta = 1,
    PyTorch's addmm) instead of a second pass over the output.

    NOTE: NumPy's matmul has no beta; the GEMM is called through ctypes in NumPy's own OpenBLAS (the same
    library, threads and results as NumPy's matmul). Measured (two threads, one process, paired): (2048, 128)
    -> 384 float32 with bias 943 -> 840 us, -> 512 1147 -> 1076 us, (128, 784) -> 256 257 -> 236 us; below
    ~16k output elements the call costs what it saves. Anything else (no OpenBLAS found, other dtypes, rows
    that are not unit-strided, empty sizes) takes ``matmul_rows(x, w.T) + b``."""
    n, k = w.shape
    if b is None or b.dtype != x.dtype or w.dtype != x.dtype or x.dtype not in _BLAS_FLOATS \
            or type(x) is not np.ndarray or type(w) is not np.ndarray or type(b) is not np.ndarray \
            or x.ndim < 2 or k == 0 or n == 0:
        out = matmul_rows(x, w.T)
        if b is not None:
            out += b
        return out
    rows, order = _rows(x, n) if x.ndim > 2 else (x, None)
    m = rows.shape[0]
    size = x.itemsize
    if m * n < _ADDMM_MIN or not _find_cblas() or rows.strides[1] != size or rows.strides[0] % size \
            or w.strides[1] != size or w.strides[0] % size or rows.strides[0] < size * k \
            or w.strides[0] < size * k:
        out = matmul(rows, w.T)
        out += b
        return _unrows(out, x, order) if x.ndim > 2 else out
    out = xp.empty((m, n), x.dtype)
    out[...] = b
    gemm = _cblas[0] if size == 4 else _cblas[1]
    gemm(_ROW_MAJOR, _NO_TRANS, _TRANS, m, n, k, 1.0, rows.ctypes.data, rows.strides[0] // size,
         w.ctypes.data, w.strides[0] // size, 1.0, out.ctypes.data, n)
    return _unrows(out, x, order) if x.ndim > 2 else out


_REDUCE_MAX = 1 << 16  # the most terms per output element reduce_to sums by BLAS
_REDUCE_MIN = 1 << 12  # below this many elements NumPy's sum is as fast as the call (1.0 against 2.1 us at 128)


def reduce_to(a, shape):
    """``a`` summed down to ``shape`` (undoing a broadcast, as ``sum_to``) by BLAS with a vector of ones, or
    None when this does not apply (the caller then sums as before): a C-contiguous float array of 4,096 elements
    or more whose summed dims form one run (after dropping dims of size 1), at most 65,536 terms per output
    element.

    NOTE: Add's backward of seq2seq's ``keys + w2(s).unsqueeze(1)`` sums (64, 30, 64) over its middle dim: NumPy's
    sum 41.7 us, einsum 15.2 us, ones (1, 30) @ (64, 30, 64) 6.9 us (one process, paired). The sums keep BLAS's
    float32 accumulation (several partial sums), as :func:`sum_rows`."""
    if type(a) is not np.ndarray or a.dtype not in _BLAS_FLOATS or not a.flags.c_contiguous or a.size < _REDUCE_MIN:
        return None
    lead = a.ndim - len(shape)
    if lead < 0:
        return None
    runs = []  # (size, summed) for each dim of size > 1, consecutive ones of a kind merged
    for i, d in enumerate(a.shape):
        summed = i < lead or shape[i - lead] == 1
        if not summed and shape[i - lead] != d:
            return None
        if d == 1:
            continue
        if runs and runs[-1][1] == summed:
            runs[-1][0] *= d
        else:
            runs.append([d, summed])
    kinds = [s for _, s in runs]
    if kinds.count(True) != 1:
        return None  # nothing to sum, or two separate runs
    at = kinds.index(True)
    before = runs[0][0] if at == 1 else 1
    k = runs[at][0]
    after = runs[at + 1][0] if at + 1 < len(runs) else 1
    if k > _REDUCE_MAX:
        return None
    one = _ones(k, a.dtype)
    if after == 1:  # the last dims: row sums, a GEMV
        out = xp.matmul(a.reshape(before, k), one)
    elif before == 1:  # the leading dims: column sums, a GEMV
        out = xp.matmul(one, a.reshape(k, after))
    else:  # a middle run: one small GEMV a leading index
        out = xp.matmul(one[None, :], a.reshape(before, k, after))
    return out.reshape(shape)
