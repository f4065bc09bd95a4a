"""Real servers for browser tests: uvicorn in a thread on a free port, and a reverse proxy
that serves an app under a path prefix the way nginx's `location /kpiflow/` would."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
              "content-encoding", "host", "upgrade"}


@contextmanager
def serve(app: ASGIApp, root_path: str = "") -> Iterator[str]:
    """Run `app` with uvicorn on 127.0.0.1 and a free port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, root_path=root_path, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def prefix_proxy(prefix: str, upstream: str) -> Starlette:
    """A reverse proxy: `<prefix>/x` is forwarded to `<upstream>/x`; anything else is 404."""
    client = httpx.AsyncClient(base_url=upstream, timeout=300)

    async def forward(request: Request) -> Response:
        path = request.url.path
        if not (path == prefix or path.startswith(prefix + "/")):
            return Response(f"not under {prefix}/", status_code=404)
        upstream_path = path[len(prefix):] or "/"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        reply = await client.request(
            request.method, upstream_path, params=request.query_params, headers=headers,
            content=await request.body())
        out = {k: v for k, v in reply.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(reply.content, status_code=reply.status_code, headers=out)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)
