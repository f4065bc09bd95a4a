"""`/docs` (Swagger UI) and `/redoc` (ReDoc) served with assets from an installed package.

FastAPI's own pages load their JavaScript from a CDN and are blank without internet. The
`fastapi-offline` package ships Swagger UI's bundle and CSS and ReDoc's standalone script; kpiflow
serves them under `/docs-assets/`, relative to the root path, so the docs also work behind a
reverse proxy. Google Fonts stay off and Swagger UI's online validator badge is disabled;
ReDoc's script is served with its one hard-coded CDN image (a "powered by" logo, hidden when it
fails to load) pointed at nothing, so a page never asks another host for anything.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = Path(str(files("fastapi_offline") / "static"))
PREFIX = "/docs-assets"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def redoc_script() -> bytes:
    """ReDoc's standalone script without its CDN logo (an empty image: ReDoc then hides it)."""
    return (ASSETS / "redoc.standalone.js").read_bytes().replace(REDOC_LOGO.encode(), b"data:,")


def install(app: FastAPI) -> None:
    """Add `/docs`, `/redoc` and their static assets (build the app with docs_url=None)."""
    @app.get(f"{PREFIX}/redoc.standalone.js", include_in_schema=False)
    def redoc_js() -> Response:
        """ReDoc's script, offline in full (before the mount, which would serve it as is)."""
        return Response(redoc_script(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")

    def root(request: Request) -> str:
        return str(request.scope.get("root_path") or "").rstrip("/")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI, from local assets."""
        base = root(request)
        return get_swagger_ui_html(
            openapi_url=f"{base}{app.openapi_url}", title=f"{app.title} · API docs",
            swagger_js_url=f"{base}{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{base}{PREFIX}/favicon.png",
            oauth2_redirect_url=None, swagger_ui_parameters={"validatorUrl": None})

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        """ReDoc, from a local script and without web fonts."""
        base = root(request)
        return get_redoc_html(
            openapi_url=f"{base}{app.openapi_url}", title=f"{app.title} · API reference",
            redoc_js_url=f"{base}{PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{base}{PREFIX}/favicon.png", with_google_fonts=False)
