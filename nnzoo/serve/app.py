"""The Starlette application of ``nnzoo serve``: the pages (static HTML, CSS and JavaScript in ``static/``) and the
JSON API under ``/api/`` that they call (documented in docs/serve.md).

Every mistake of a client is a 4xx answer ``{"error": "what is wrong and what is allowed"}``; a bug is a 500
``{"error": "internal error ..."}`` with the traceback in the server's log only, never in the answer.
"""
from __future__ import annotations

import json
import logging
import pathlib

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import models
from .models import BadRequest, Runs

__all__ = ["create_app", "MAX_BODY", "STATIC"]

STATIC = pathlib.Path(__file__).parent / "static"
MAX_BODY = 256 * 1024      # bytes of a request body: a 28x28 drawing in JSON is about 5 KB
PAGES = {"/": "index.html", "/cnn": "cnn.html", "/backprop": "backprop.html", "/play": "play.html",
         "/gallery": "gallery.html"}
log = logging.getLogger("nnzoo.serve")


def _reject_constant(name):
    raise BadRequest(f"body: {name} is not a number JSON allows (NaN and infinities are refused)", 422)


async def read_json(request: Request, limit: int = MAX_BODY) -> dict:
    """The request's JSON object, read at most ``limit`` bytes; :class:`BadRequest` 413 for a bigger body, 400
    for a body that is not a JSON object, 422 for NaN or infinities."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > limit
        except ValueError:
            raise BadRequest("body: a Content-Length that is not a number", 400) from None
        if too_big:
            raise BadRequest(f"body: at most {limit} bytes, got {declared}", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadRequest(f"body: at most {limit} bytes", 413)
    try:
        data = json.loads(bytes(body).decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        if isinstance(e, BadRequest):
            raise
        raise BadRequest("body: not JSON (send a JSON object, Content-Type application/json)", 400) from None
    if not isinstance(data, dict):
        raise BadRequest(f"body: expected a JSON object, got a JSON {type(data).__name__}", 400)
    return data


def _run_field(body: dict):
    run = body.get("run")
    if run is not None and not isinstance(run, str):
        raise BadRequest("run: expected the run's folder relative to the runs folder (a string), or null", 400)
    return run


def create_app(runs_dir="runs", *, train_if_missing: bool = False, train_overrides: dict | None = None,
               max_body: int = MAX_BODY) -> Starlette:
    """The web application over the runs under ``runs_dir``.

    Args:
        runs_dir: the runs folder (``nnzoo train --out`` wrote there); the pages use the runs inside it only.
        train_if_missing: train the digits CNN (recipe ``cnn``, seconds) into ``runs_dir/cnn`` first when no
            run there can drive the CNN visualiser (``nnzoo serve`` does).
        train_overrides: settings of that training run (``{"epochs": 1}`` in tests).
        max_body: the largest request body accepted, in bytes.
    """
    runs = Runs(runs_dir)
    if train_if_missing:
        runs.root.mkdir(parents=True, exist_ok=True)
        runs.real_root = runs.root.resolve()
        models.ensure_cnn_run(runs, train_overrides)

    def page(name):
        async def endpoint(request):
            return FileResponse(STATIC / name, media_type="text/html")
        return endpoint

    async def api_runs(request):
        return JSONResponse({"runs_dir": runs.root.as_posix(), "notice": runs.notice,
                             "cnn": await run_in_threadpool(runs.classifiers),
                             "translate": await run_in_threadpool(runs.with_hook, "translate"),
                             "sample": await run_in_threadpool(runs.with_hook, "sample"),
                             "analogy": await run_in_threadpool(runs.word_vectors)})

    async def api_cnn(request):
        body = await read_json(request, max_body)
        if "pixels" not in body:
            raise BadRequest("pixels: missing; send {\"pixels\": [[...]] (8x8 or 28x28), \"run\": optional}")
        # NOTE: run on the event loop, not in the thread pool: a forward pass of the digits CNN takes ~3 ms, and two
        # thread hand-offs cost more than that on a loaded 2-core machine (benchmarks/serve_latency.py)
        return JSONResponse(models.classify(runs, body["pixels"], _run_field(body)))

    async def api_circuits(request):
        from ..viz.graph import FUNCTIONS, LECTURE_CIRCUITS
        return JSONResponse({"circuits": LECTURE_CIRCUITS, "functions": FUNCTIONS})

    async def api_backprop(request):
        body = await read_json(request, max_body)
        return JSONResponse(await run_in_threadpool(_backprop, body))

    async def api_translate(request):
        body = await read_json(request, max_body)
        return JSONResponse(await run_in_threadpool(models.translate, runs, body.get("text"), _run_field(body)))

    async def api_sample(request):
        body = await read_json(request, max_body)
        settings = models.check_sample_request(body)
        rel, name, chars = await run_in_threadpool(models.sample_stream, runs, settings, _run_field(body))
        return StreamingResponse(chars, media_type="text/plain; charset=utf-8",
                                 headers={"X-Run": rel, "X-Recipe": name, "Cache-Control": "no-store"})

    async def api_analogy(request):
        body = await read_json(request, max_body)
        return JSONResponse(await run_in_threadpool(models.analogy, runs, body, _run_field(body)))

    async def api_gallery(request):
        return JSONResponse({"rows": await run_in_threadpool(models.gallery_rows, runs)})

    async def api_file(request):
        path = await run_in_threadpool(runs.file, request.path_params["path"])
        return FileResponse(path)

    async def bad_request(request, exc: BadRequest):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def http_error(request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    async def server_error(request, exc: Exception):
        log.error("nnzoo serve: %s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error (the server's log has the details)"}, status_code=500)

    routes = [Route(path, page(name)) for path, name in PAGES.items()]
    routes += [
        Route("/api/runs", api_runs),
        Route("/api/cnn", api_cnn, methods=["POST"]),
        Route("/api/circuits", api_circuits),
        Route("/api/backprop", api_backprop, methods=["POST"]),
        Route("/api/translate", api_translate, methods=["POST"]),
        Route("/api/sample", api_sample, methods=["POST"]),
        Route("/api/analogy", api_analogy, methods=["POST"]),
        Route("/api/gallery", api_gallery),
        Route("/api/runs-file/{path:path}", api_file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(_SecurityHeaders)],
                    exception_handlers={BadRequest: bad_request, HTTPException: http_error, Exception: server_error})
    app.state.runs = runs
    return app


def _backprop(body: dict) -> dict:
    """``POST /api/backprop``: ``{"circuit": name}`` or ``{"expression": text, "values": {...}}`` -> the trace of
    :func:`nnzoo.viz.backprop_trace` with a layout (``layer``, ``pos`` per node: inputs in layer 0)."""
    from ..viz.graph import LECTURE_CIRCUITS, ExpressionError, _layout, backprop_trace
    circuit, expression, values = body.get("circuit"), body.get("expression"), body.get("values")
    if circuit is not None:
        if not isinstance(circuit, str) or circuit not in LECTURE_CIRCUITS:
            raise BadRequest(f"circuit: one of {', '.join(LECTURE_CIRCUITS)}", 404)
        c = LECTURE_CIRCUITS[circuit]
        expression, values = c["expression"], c["values"]
    if not isinstance(expression, str):
        raise BadRequest("expression: give a formula such as \"(x + y) * z\" with \"values\", or a \"circuit\"")
    if values is not None and not isinstance(values, dict):
        raise BadRequest("values: expected an object {\"x\": -2, ...}")
    try:
        trace = backprop_trace(expression, values or {})
    except ExpressionError as e:
        raise BadRequest(str(e)) from None
    nodes = [(n["name"], n["kind"]) for n in trace["nodes"]]
    edges = [(e["source"], e["target"], "") for e in trace["edges"]]
    pos, depth, _ = _layout(nodes, edges)
    top = max(depth)
    for n in trace["nodes"]:
        n["layer"], n["pos"] = top - depth[n["id"]], pos[n["id"]]
    trace["circuit"] = circuit
    return trace


class _SecurityHeaders:
    """Pure ASGI middleware: the pages run their own scripts only; nothing is sniffed or framed."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                            (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; "
                                                         b"style-src 'self' 'unsafe-inline'")]
                message = {**message, "headers": headers}
            await send(message)
        await self.app(scope, receive, send_with_headers)
