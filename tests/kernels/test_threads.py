"""nnzoo/kernels/threads.py: the two-way pair of Python threads (results, exceptions, nesting, concurrent
callers, the GIL released by NumPy's GEMMs) and OpenBLAS's thread count (one after the first pair)."""
import threading
import time

import numpy as np
import pytest

from nnzoo.kernels import threads

two_cpus = pytest.mark.skipif(threads._cpus() < 2, reason="one CPU: pair runs serially")


@pytest.fixture(autouse=True)
def two_threads_allowed():
    """make test runs with OMP_NUM_THREADS=1 (pairs then run serially): these tests allow two threads."""
    threads.set_max_threads(2)
    yield
    threads.set_max_threads(None)


def test_pair_returns_both_results_in_order():
    assert threads.pair(lambda: "a", lambda: "b") == ("a", "b")
    assert not threads.in_pair()


@two_cpus
def test_pair_runs_fa_on_another_thread_and_flags_both_halves():
    seen = {}

    def half(name):
        seen[name] = (threading.get_ident(), threads.in_pair(), threads.available())
    threads.pair(lambda: half("a"), lambda: half("b"))
    assert seen["a"][0] != seen["b"][0] == threading.get_ident()
    assert seen["a"][1:] == seen["b"][1:] == (True, False)  # inside a pair: no nested pair
    assert threads.available()


@pytest.mark.parametrize("which", ["a", "b"])
def test_an_exception_in_either_half_reaches_the_caller_after_both_ended(which):
    done = []

    def boom():
        raise ValueError(which)

    def ok():
        time.sleep(0.01)
        done.append(1)
    fa, fb = (boom, ok) if which == "a" else (ok, boom)
    with pytest.raises(ValueError, match=which):
        threads.pair(fa, fb)
    assert done == [1]
    assert threads.pair(lambda: 1, lambda: 2) == (1, 2)  # the pool still works


def test_a_nested_pair_runs_serially_in_its_half():
    inner = []

    def half(tag):
        r = threads.pair(lambda: (tag, "x", threading.get_ident()), lambda: (tag, "y", threading.get_ident()))
        inner.append(r)
        return tag
    assert threads.pair(lambda: half("a"), lambda: half("b")) == ("a", "b")
    for (_, _, ta), (_, _, tb) in inner:
        assert ta == tb  # both inner halves on the thread of their outer half


def test_concurrent_callers_each_get_their_own_results():
    out = {}

    def caller(i):
        for k in range(50):
            r = threads.pair(lambda k=k: (i, k, "a"), lambda k=k: (i, k, "b"))
            assert r == ((i, k, "a"), (i, k, "b"))
        out[i] = True
    ts = [threading.Thread(target=caller, args=(i,)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out == {0: True, 1: True, 2: True}


@two_cpus
def test_halves_of_a_gemm_overlap_and_blas_is_single_threaded_after_a_pair():
    """NumPy's GEMM releases the GIL, so two halves of it run side by side; after the first pair NumPy's
    OpenBLAS (where found) reports one thread."""
    a = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
    spans = {}

    def half(name):
        t0 = time.perf_counter()
        for _ in range(20):
            a @ a
        spans[name] = (t0, time.perf_counter())
    threads.pair(lambda: half("a"), lambda: half("b"))
    (a0, a1), (b0, b1) = spans["a"], spans["b"]
    assert max(a0, b0) < min(a1, b1)  # the two time spans intersect
    blas = threads._blas_threads()
    if blas:
        assert blas[0]() == 1


@two_cpus
def test_restore_blas_gives_back_the_thread_count_and_the_next_pair_takes_it_again():
    blas = threads._blas_threads()
    if not blas:
        pytest.skip("NumPy's OpenBLAS not found: nothing is switched")
    threads.pair(lambda: None, lambda: None)
    before = threads._blas_before
    assert before is not None and blas[0]() == 1
    threads.restore_blas()
    assert blas[0]() == before
    a = np.ones((256, 256), np.float32)
    assert float((a @ a)[0, 0]) == 256.0  # two-thread GEMMs work again (the workers are re-created)
    threads.pair(lambda: None, lambda: None)
    assert blas[0]() == 1


@pytest.mark.parametrize("how", ["set_max_threads", "set_num_threads", "environment"])
def test_one_thread_allowed_runs_both_halves_on_the_caller(how, monkeypatch):
    import nnzoo
    threads.set_max_threads(None)
    for var in threads._THREAD_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    if how == "set_max_threads":
        threads.set_max_threads(1)
    elif how == "set_num_threads":
        monkeypatch.setitem(nnzoo.backends._state, "num_threads", None)
        nnzoo.set_num_threads(1)
    else:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    me = threading.get_ident()
    assert threads.pair(threading.get_ident, threading.get_ident) == (me, me)
    assert not threads.available()


def test_max_threads_rejects_zero():
    with pytest.raises(ValueError, match="set_max_threads"):
        threads.set_max_threads(0)


@two_cpus
@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork")
def test_a_forked_child_starts_its_own_helper():
    import os
    threads.pair(lambda: 1, lambda: 2)            # the parent's helper thread exists now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                  # the child: the parent's helper thread did not survive fork
        import signal
        signal.alarm(20)                          # a pair waiting on a dead helper would hang: end the child
        try:
            ok = threads.pair(threading.get_ident, lambda: 0)[0] != threading.get_ident()
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    got = os.read(read, 1)
    os.waitpid(pid, 0)
    assert got == b"1"
