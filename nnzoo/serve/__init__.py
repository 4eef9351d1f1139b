"""``nnzoo serve``: web pages that look inside the zoo's networks, on Starlette and uvicorn (the ``serve`` extra).

* ``/cnn``: the CNN visualiser (Harley 2015): draw a digit (mouse or touch); the drawing is reduced as the bundled
  digits were made (a 32x32 bitmap summed over 4x4 blocks into 8x8 counts 0-16), or to 28x28 for a Fashion-MNIST
  run, and every layer's activation maps, the class probabilities and the first and second guesses update.
* ``/backprop``: the backprop stepper: the notes' circuits or a typed expression, forward then backward edge by
  edge ("local gradient × upstream gradient"), computed by nnzoo's autograd (:func:`nnzoo.viz.backprop_trace`).
* ``/play``: the date translator with its attention heat-map, the Shakespeare sampler streamed character by
  character.
* ``/gallery``: every cell of the Neural Network Zoo chart with its newest run's result and picture.

The JSON API under ``/api/`` is documented in docs/serve.md. Runs are read from the runs folder only.
"""
from __future__ import annotations

import ipaddress
import os

__all__ = ["create_app", "serve", "is_loopback"]


def create_app(runs_dir: str | os.PathLike = "runs", **kwargs):
    """The Starlette application (see :func:`nnzoo.serve.app.create_app`)."""
    from .app import create_app as _create
    return _create(runs_dir, **kwargs)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, ``127.0.0.0/8``, ``::1``).

    Example::

        >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 8000, runs_dir: str | os.PathLike = "runs",
          train_if_missing: bool = True, allow_remote: bool = False, log_level: str = "warning",
          announce: str | None = None) -> None:
    """Train the digits CNN if the runs folder has no image classifier, then serve the pages until interrupted.

    Args:
        host, port: where to listen.
        runs_dir: the runs folder.
        train_if_missing: train the digits CNN first when no run can drive the CNN visualiser.
        allow_remote: bind an address other than the loopback (``nnzoo serve --host`` sets it: exposing the
            pages to the network is an explicit choice).
        log_level: uvicorn's.
        announce: a line printed to stderr once the pages are about to be served (after any training).

    Raises:
        ValueError: a non-loopback ``host`` without ``allow_remote``.
    """
    if not allow_remote and not is_loopback(host):
        raise ValueError(f"serve: {host!r} is not a loopback address; the pages would be reachable from other "
                         "machines: pass allow_remote=True (nnzoo serve --host) to mean it")
    import sys

    import uvicorn
    if train_if_missing:
        from .models import Runs
        if not Runs(runs_dir).classifiers():
            print(f"nnzoo serve: no image classifier in {runs_dir}: training the digits CNN first (nnzoo train cnn "
                  "--out ...; seconds)", file=sys.stderr, flush=True)
    app = create_app(runs_dir, train_if_missing=train_if_missing)
    if app.state.runs.notice:
        print(f"nnzoo serve: {app.state.runs.notice}", file=sys.stderr, flush=True)
    if announce:
        print(announce, file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
