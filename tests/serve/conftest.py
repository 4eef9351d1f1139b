"""Fixtures of the nnzoo serve tests: a runs folder with a small digits CNN run (made in a second, untrained:
the pages must respond to any drawing, not recognise it), the Starlette app, a live server on a free port, and
headless Chromium (the OS package; the browser tests skip without it)."""
import json
import os
import pathlib
import shutil
import socket
import struct
import threading
import time
import zlib

import pytest

pytest.importorskip("starlette", reason="nnzoo serve needs the serve extra (starlette, uvicorn)")


def tiny_png(path):
    """A 2x2 grey PNG written by hand (a picture for the gallery, without matplotlib)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes([90, 200]) for _ in range(2))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    pathlib.Path(path).write_bytes(png)


def make_cnn_run(folder, seed=0, name="cnn"):
    """A finished run of recipe ``name`` (``cnn``, or ``mc-dropout`` on Fashion-MNIST; channels 4, 8; hidden 16) as
    ``nnzoo train`` lays it out: result.json, best.safetensors, a picture listed in ``figures``."""
    import nnzoo
    from nnzoo.recipes import recipe, recipe_config
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = recipe_config(name, {"channels": [4, 8], "hidden": 16})
    nnzoo.manual_seed(seed)
    model = recipe(name).build_model(config)
    nnzoo.save(model.state_dict(), folder / "best.safetensors")
    tiny_png(folder / "history.png")
    result = {"name": name, "config": config, "test": {"accuracy": 0.5}, "figures": [[str(folder / "history.png"),
                                                                                         "training history"]]}
    (folder / "result.json").write_text(json.dumps(result))
    return folder


@pytest.fixture(scope="session")
def cnn_run():
    """:func:`make_cnn_run`, for tests that need another run folder."""
    return make_cnn_run


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    make_cnn_run(root / "fashion", name="mc-dropout")
    past = time.time() - 3600                  # older than the digits run: the pages' default is the newest
    os.utime(root / "fashion" / "result.json", (past, past))
    make_cnn_run(root / "cnn")
    return root


@pytest.fixture(scope="session")
def app(runs_dir):
    from nnzoo.serve import create_app
    return create_app(runs_dir)


@pytest.fixture(scope="session")
def client(app):
    import warnings
    with warnings.catch_warnings():     # Starlette 1.x suggests httpx2; the test extra installs httpx
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


class LiveServer:
    """uvicorn serving ``app`` in a thread on a free loopback port; ``stop()`` asks it to exit and joins."""

    def __init__(self, app):
        import uvicorn
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app)
    yield server
    server.stop()


def chromium_path():
    """The Debian chromium (or another chromium on the PATH), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium executable found (apt install chromium); Playwright's own browsers are not used")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1300, "height": 950})
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(8000)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
