"""/docs and /redoc in Chromium with no internet: every request to another host fails the test."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser import screenshot
from tests.dashboard.site import Site


def _offline(page: Any) -> list[str]:
    """Abort and record every request that leaves 127.0.0.1."""
    elsewhere: list[str] = []

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return elsewhere


@pytest.mark.parametrize("where", ["url", "url_prefixed"])
def test_swagger_ui_works_offline(site: Site, browser_page: tuple[Any, Any], where: str) -> None:
    page, console = browser_page
    elsewhere = _offline(page)
    page.goto(getattr(site, where) + "/network")
    page.click("a.docs")  # the dashboard's "API docs" link
    page.wait_for_url("**/docs")
    console.errors.clear()  # the network page's own reads, cut short by leaving it
    page.wait_for_selector(".swagger-ui .opblock-summary-path", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/services-kpis/" in paths and "/readyz" in paths
    screenshot(page, f"api-docs-swagger-{where}")
    assert elsewhere == [] and console.errors == [], (elsewhere, console.errors)


@pytest.mark.parametrize("where", ["url", "url_prefixed"])
def test_redoc_works_offline(site: Site, browser_page: tuple[Any, Any], where: str) -> None:
    page, console = browser_page
    elsewhere = _offline(page)
    page.goto(getattr(site, where) + "/redoc")
    page.wait_for_selector(".api-content h1", timeout=30_000)
    assert page.locator(".api-content h1").first.inner_text().startswith("kpiflow")
    assert page.get_by_text("/api/v1/cell-kpis/").count() >= 1
    screenshot(page, f"api-docs-redoc-{where}")
    assert elsewhere == [] and console.errors == [], (elsewhere, console.errors)
