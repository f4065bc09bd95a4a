"""Request hygiene before any route: trusted hosts, redirects that stay on the site, no NUL.

A NUL in a query or path parameter is refused with a 422 naming it: PostgreSQL cannot store
or compare text holding one, and no id, status or name kpiflow knows contains one.

Starlette's trailing-slash redirect builds its absolute Location from the request's `Host`
header, so `Host: evil.example` used to redirect a client off-site. Every redirect kpiflow
sends is to itself, so its Location is rewritten to the path alone (RFC 9110 allows a
relative reference), whatever the Host header said.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kpiflow.config import Settings

_REDIRECTS = {301, 302, 303, 307, 308}


class SameSiteRedirects:
    """ASGI middleware: a redirect's absolute Location becomes a path on this site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass everything through; strip scheme and host from redirect Locations."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relative_location(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in _REDIRECTS:
                message["headers"] = [
                    (k, _path_only(v) if k.lower() == b"location" else v)
                    for k, v in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, relative_location)


class RejectNul:
    """ASGI middleware: 422 for a NUL anywhere in the query string or the path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 422 naming the parameter, or pass the request on."""
        where = _nul_at(scope) if scope["type"] == "http" else None
        if where is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"detail": [{"type": "value_error", "loc": where,
                                       "msg": "must not contain a NUL character"}]}).encode()
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _nul_at(scope: Scope) -> list[str] | None:
    """Where a NUL is: ["query", name] or ["path"]; None when there is none."""
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True,
                                    encoding="latin-1"):
            if "\x00" in key or "\x00" in value:
                return ["query", key.replace("\x00", "")]
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    if b"\x00" in unquote_to_bytes(raw_path):
        return ["path"]
    return None


def _path_only(location: bytes) -> bytes:
    text = location.decode("latin-1")
    parts = urlsplit(text)
    if not parts.scheme and not parts.netloc and not text.startswith(("/", "\\")):
        return location  # relative: stays on this site, behind a path prefix too
    path = "/" + parts.path.lstrip("/")  # "//evil.example" would be a host again
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")


def install(app: FastAPI, settings: Settings) -> None:
    """Add the trusted-hosts check (when `KPIFLOW_TRUSTED_HOSTS` is set), safe redirects and
    the NUL check."""
    app.add_middleware(SameSiteRedirects)
    app.add_middleware(RejectNul)
    if settings.trusted_host_list:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_host_list)
