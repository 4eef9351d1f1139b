"""The compiled-kernel machinery (nnzoo/kernels/jit.py): modes, dispatch, lazy compilation, threads."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from nnzoo.kernels import jit


def test_mode_switches_dispatch_and_restores():
    x = np.ones(3, dtype=np.float32)
    with jit.mode("numpy"):
        assert not jit.use(x)
        with jit.mode("compiled"):
            assert jit.use(x) == jit.available()
        assert not jit.use(x)


def test_use_refuses_what_the_kernels_do_not_take():
    with jit.mode("compiled"):
        assert not jit.use(np.ones(3, dtype=np.int64))
        assert not jit.use(np.ones(3, dtype=np.float16))
        assert not jit.use([1.0, 2.0])
        assert not jit.use(np.ones(3), np.ones(3, dtype=np.int32))


def test_bad_mode_names_the_choices():
    with pytest.raises(ValueError, match="compiled, numpy"), jit.mode("fast"):
        pass


def _run(code, **env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_bad_environment_value_is_refused_at_the_first_kernel_and_by_the_command():
    r = _run("import nnzoo, numpy; from nnzoo.kernels import jit; print('imported'); jit.use(numpy.ones(2))",
             NNZOO_KERNELS="fastest")
    assert r.stdout.split() == ["imported"] and "ValueError: NNZOO_KERNELS must be one of compiled, numpy" in r.stderr
    r = _run("import sys; from nnzoo.cli import main; sys.exit(main(['train', '--list']))", NNZOO_KERNELS="fastest")
    assert r.returncode == 2 and r.stderr.strip() == \
        "nnzoo: error: NNZOO_KERNELS must be one of compiled, numpy; got 'fastest'", r.stderr


def test_numpy_mode_from_the_environment():
    r = _run("from nnzoo.kernels import jit; import numpy as np; print(jit.active_mode(), jit.use(np.ones(2)))",
             NNZOO_KERNELS="numpy")
    assert r.stdout.split() == ["numpy", "False"], r.stderr


def test_kernel_compiles_on_first_call_and_matches_python():
    pytest.importorskip("numba")

    @jit.kernel()
    def axpy(a, x, y):
        for i in range(x.size):
            y[i] += a * x[i]

    assert axpy._compiled is None  # defining a kernel compiles nothing
    x, y = np.arange(5.0), np.ones(5)
    axpy(2.0, x, y)
    assert axpy._compiled is not None
    np.testing.assert_array_equal(y, 1 + 2 * np.arange(5.0))


def test_parallel_kernels_from_many_threads_do_not_abort():
    # Numba's workqueue layer aborts the process on concurrent parallel launches; jit serialises them
    pytest.importorskip("numba")
    code = """
        import threading, numpy as np
        from nnzoo.kernels import jit
        from nnzoo.kernels.jit import prange
        assert prange is range  # no Numba until a kernel compiles

        @jit.kernel(parallel=True)
        def total(a):
            s = 0.0
            for i in prange(a.size):
                s += a[i]
            return s

        a = np.ones(1_000_000)
        results = []
        def work():
            for _ in range(20):
                results.append(total(a))
        ts = [threading.Thread(target=work) for _ in range(3)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        import numba
        assert prange is numba.prange  # rebound in this module when the kernel compiled
        print(len(results), set(results), numba.threading_layer())
    """
    r = _run(code)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split()[:2] == ["60", "{1000000.0}"], r.stdout


def test_cache_folder_is_keyed_by_the_kernel_sources(tmp_path):
    # a kernel inlining a helper from another file must recompile when the helper changes: the folder's
    # digest covers every file of nnzoo/kernels
    pytest.importorskip("numba")
    code = "from nnzoo.kernels import jit; print(jit.cache_folder())"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    folder = r.stdout.strip()
    assert folder.startswith(str(tmp_path / "nnzoo" / "kernels-")), r.stderr
    r = _run(code, NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    assert r.stdout.strip() == str(tmp_path / "mine")  # the user's folder wins


def test_helpers_inline_into_kernels_and_run_from_python():
    pytest.importorskip("numba")

    @jit.helper
    def square_plus(v, c):
        return v * v + c

    @jit.kernel()
    def apply(x, out):
        for i in range(x.size):
            out[i] = square_plus(x[i], 1.0)

    x, out = np.arange(4.0), np.empty(4)
    apply(x, out)
    np.testing.assert_array_equal(out, x * x + 1)
    assert square_plus(3.0, 1.0) == 10.0


def test_division_by_zero_gives_inf_as_numpy():
    pytest.importorskip("numba")

    @jit.kernel()
    def div(a, b, out):
        for i in range(a.size):
            out[i] = a[i] / b[i]

    a, b, out = np.array([1.0, -1.0, 0.0]), np.zeros(3), np.empty(3)
    div(a, b, out)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(out, a / b)
