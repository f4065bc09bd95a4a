"""What a page's `render` receives and returns (the contract behind `registry.Page`).

A pack declares `Page("/network", "Network", render)`; the dashboard calls
`render(ctx: PageContext) -> PageContent | str` for each request and wraps the result in the
shell (header, navigation, styles, scripts). A plain `str` is the body's HTML.

URLs in a body and its scripts must be relative (`api/v1/...`, `static/...`, no leading `/`):
the shell sets `<base>` to the dashboard's root, so they work behind a path prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from starlette.datastructures import QueryParams
from starlette.requests import Request

from kpiflow.runtime import Runtime


@dataclass(frozen=True)
class PageContext:
    """One request for a page: the request, the runtime and a database connection."""

    request: Request
    runtime: Runtime
    conn: Connection

    @property
    def query(self) -> QueryParams:
        """The request's query parameters."""
        return self.request.query_params


@dataclass(frozen=True)
class PageContent:
    """A rendered page body, the scripts it runs after the shared ones, and whether it charts."""

    body: str
    scripts: tuple[str, ...] = ()  # JavaScript source, run in order after the shared scripts
    bokeh: bool = False  # load BokehJS (served from the installed bokeh package)
