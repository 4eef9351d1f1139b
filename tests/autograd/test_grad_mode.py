"""no_grad / enable_grad / set_grad_enabled / inference_mode as context managers and decorators."""
import nnzoo


def test_no_grad_context_and_decorator():
    x = nnzoo.ones(2, requires_grad=True)
    with nnzoo.no_grad():
        assert not (x * 2).requires_grad
        with nnzoo.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @nnzoo.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert nnzoo.is_grad_enabled()


def test_set_grad_enabled_as_call_context_and_decorator():
    x = nnzoo.ones(2, requires_grad=True)
    nnzoo.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    nnzoo.set_grad_enabled(True)
    assert (x * 2).requires_grad
    with nnzoo.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert nnzoo.is_grad_enabled()

    @nnzoo.set_grad_enabled(False)
    def g(t):
        return t * 2

    assert nnzoo.is_grad_enabled()
    assert not g(x).requires_grad
    assert nnzoo.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    try:
        with nnzoo.no_grad():
            raise ValueError
    except ValueError:
        pass
    assert nnzoo.is_grad_enabled()


def test_inference_mode():
    x = nnzoo.ones(2, requires_grad=True)
    with nnzoo.inference_mode():
        assert not (x * 2).requires_grad
    with nnzoo.inference_mode(False):
        assert (x * 2).requires_grad
