"""The page shell: navigation from every pack's `Page`s plus core's, and the static assets.

Everything is served by kpiflow from installed packages (BokehJS from the bokeh package's own
static files): no CDN, nothing from the internet. Every URL in a page is relative to `<base>`,
which is the request's root path (uvicorn `--root-path`) or, without one, a relative path back
to the dashboard's root, so the dashboard works behind a reverse proxy at any prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import bokeh
from bokeh.util.paths import bokehjs_path
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.staticfiles import StaticFiles

from kpiflow.api.auth import token_matches
from kpiflow.api.deps import DbDep, RuntimeDep
from kpiflow.dashboard import ingest_page
from kpiflow.dashboard.page import PageContent, PageContext
from kpiflow.registry import Page
from kpiflow.runtime import Runtime

STATIC = Path(__file__).parent / "static"
BOKEH_VERSION = bokeh.__version__
CORE_PAGES = (Page("/ingest", "Ingest", ingest_page.render),)


def pages_of(runtime: Runtime) -> tuple[Page, ...]:
    """Every page in navigation order: the packs' (by pack name), then core's."""
    pages = [p for pack in runtime.packs for p in pack.pages] + list(CORE_PAGES)
    seen: set[str] = set()
    for page in pages:
        if not page.path.startswith("/") or page.path == "/" or page.path.endswith("/"):
            raise ValueError(f"page path {page.path!r} must look like '/name'")
        if page.path in seen:
            raise ValueError(f"two pages claim the path {page.path!r}")
        seen.add(page.path)
    return tuple(pages)


def base_href(request: Request, page_path: str) -> str:
    """Where relative URLs start: the root path if the server knows it, else relative."""
    root = str(request.scope.get("root_path") or "").rstrip("/")
    if root:
        return escape(root + "/")
    depth = page_path.strip("/").count("/")
    return "../" * depth if depth else "./"


# Shown by dashboard.js when a read is refused (401/403) while KPIFLOW_API_TOKEN_READS is on.
TOKEN_COOKIE = "kpiflow_token"  # set by the token prompt: pages are navigations, not fetches
TOKEN_PROMPT = """<section class="panel token-prompt" id="token-prompt" hidden>
  <h2>API token needed</h2>
  <p id="token-message">This server's data needs its API token (KPIFLOW_API_TOKEN).</p>
  <form id="token-form" autocomplete="off">
    <label>API token <input type="password" id="token-input" required size="32"
      autocomplete="off"></label>
    <button type="submit" class="primary">Use this token</button>
  </form>
  <p class="hint">Kept in this browser tab only (sessionStorage) and sent as a bearer header.</p>
</section>
"""


def shell(request: Request, pages: tuple[Page, ...], current: str, title: str,
          content: PageContent, locked: str = "", refused: bool = False) -> str:
    """The whole HTML document around a page's body; `locked` (a message) shows only the
    token prompt, open, instead of the page."""
    reads_protected = request.app.state.runtime.settings.api_token_reads
    prompt = TOKEN_PROMPT if reads_protected else ""
    if locked:
        prompt = (TOKEN_PROMPT.replace(" hidden>", ">", 1)
                  .replace('id="token-input"', 'id="token-input" autofocus', 1)
                  .replace('id="token-prompt"',
                           'id="token-prompt" data-refused="1"' if refused else 'id="token-prompt"', 1)
                  .replace("This server's data needs its API token (KPIFLOW_API_TOKEN).",
                           escape(locked), 1))
    links = "".join(
        f'<a href="{escape(p.path.lstrip("/"))}"'
        f'{" class=active aria-current=page" if p.path == current else ""}>{escape(p.title)}</a>'
        for p in pages
    )
    bokeh_js = (
        f'<script src="static/bokeh/js/bokeh.min.js?v={BOKEH_VERSION}"></script>'
        if content.bokeh else ""
    )
    page_js = "".join(f"<script>\n{js}\n</script>" for js in content.scripts)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<base href="{base_href(request, current)}">
<title>{escape(title)} · kpiflow</title>
<link rel="icon" href="static/dashboard/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="static/dashboard/dashboard.css">
</head>
<body>
<header class="top">
  <a class="brand" href="./">kpiflow</a>
  <nav aria-label="pages">{links}</nav>
  <span class="refresh">
    <label>Auto-refresh <select id="refresh-every" aria-label="auto-refresh interval">
      <option value="0">off</option><option value="10">10 s</option>
      <option value="30">30 s</option><option value="60" selected>1 min</option>
      <option value="300">5 min</option></select></label>
    <button type="button" id="refresh-pause" aria-pressed="false">Pause</button>
    <span id="refresh-status" aria-live="polite"></span>
  </span>
  <a class="docs" href="docs">API docs</a>
</header>
<main>
{prompt}{content.body}
</main>
{bokeh_js}
<script src="static/dashboard/dashboard.js"></script>
<script src="static/dashboard/refresh.js"></script>
{page_js}
</body>
</html>
"""


LOCKED_MISSING = "This page needs the API token of this server (KPIFLOW_API_TOKEN): enter it to see it."
LOCKED_REFUSED = "The API token was refused: enter the right one to see this page."


def _page_route(page: Page, pages: tuple[Page, ...]) -> Callable[..., HTMLResponse]:
    def route(request: Request, runtime: RuntimeDep, db: DbDep) -> HTMLResponse:
        if runtime.settings.api_token_reads:
            cookie = request.cookies.get(TOKEN_COOKIE)
            given = unquote(cookie) if cookie else None  # the prompt sets it URI-encoded
            if not token_matches(runtime.settings, given):
                # Server-built pages hold data too: without the token, only the prompt.
                message = (LOCKED_REFUSED if given else LOCKED_MISSING)
                body = shell(request, pages, page.path, page.title, PageContent(""), message,
                             refused=bool(given))
                return HTMLResponse(body, status_code=401)
        result: Any = page.render(PageContext(request, runtime, db))
        content = result if isinstance(result, PageContent) else PageContent(str(result))
        return HTMLResponse(shell(request, pages, page.path, page.title, content))

    route.__name__ = f"page_{page.path.strip('/').replace('/', '_')}"
    route.__doc__ = f"Dashboard page: {page.title}."
    return route


def install(app: FastAPI, runtime: Runtime) -> None:
    """Mount the static assets and add a route for the home page and for every page."""
    pages = pages_of(runtime)
    app.mount("/static/bokeh", StaticFiles(directory=bokehjs_path()), name="bokehjs")
    app.mount("/static/dashboard", StaticFiles(directory=STATIC), name="dashboard-static")

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        """The dashboard opens on the first page of the navigation."""
        first = pages[0].path.lstrip("/")
        return RedirectResponse(base_href(request, "/") + first, status_code=307)

    for page in pages:
        app.add_api_route(page.path, _page_route(page, pages), methods=["GET"],
                          response_class=HTMLResponse, include_in_schema=False)
