"""The Logins page (`/usage/login`) in headless Chromium: the plot renders from local BokehJS,
the controls redraw it, no console errors, no request leaves 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kpiflow.server import create_app
from tests.browser import screenshot
from tests.dashboard.servers import serve
from tests.packs.logins.conftest import Logins, line

pytestmark = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("logins-site")
    harness = Logins(root, f"sqlite:///{root / 'k.db'}")
    harness.write("a.jsonl", [line(f"2024-{m:02d}-{d:02d}T10:00:00Z", f"u{(m * d) % 13}")
                              for m in range(1, 7) for d in range(1, 29, 3)])
    harness.run(date(2024, 1, 1), date(2024, 6, 30))
    with serve(create_app(harness.runtime)) as url:
        yield url


def test_plot_renders_and_controls_redraw(site: str, browser_page: tuple[Any, Any]) -> None:
    page, console = browser_page
    page.goto(f"{site}/usage/login?start=2024-01-01&end=2024-06-30&aggregate=M")
    page.wait_for_selector("body[data-state=ready]", state="attached", timeout=60_000)
    page.wait_for_selector("#logins-plot canvas", timeout=30_000)
    assert "6 periods" in page.inner_text("#logins-status")
    assert "W-SUN" in page.inner_text("#logins-status")
    page.select_option("#logins-aggregate", "W")
    page.click("#logins-show")
    page.wait_for_function(
        "document.getElementById('logins-status').textContent.startsWith('26 periods')",
        timeout=30_000)
    page.wait_for_selector("body[data-state=ready]", state="attached")
    assert page.locator("#logins-plot canvas").count() >= 1
    assert "aggregate=W" in page.url
    screenshot(page, "logins-page")
    assert console.errors == []
    assert console.requests and all(u.startswith("http://127.0.0.1:") for u in console.requests)
    assert any("/static/bokeh/js/bokeh.min.js" in u for u in console.requests)


def test_a_backwards_range_is_named_with_the_fix(site: str, browser_page: tuple[Any, Any]) -> None:
    page, console = browser_page
    page.goto(f"{site}/usage/login?start=2024-01-01&end=2024-06-30&aggregate=M")
    page.wait_for_selector("body[data-state=ready]", state="attached", timeout=60_000)
    page.fill("#logins-start", "2024-05-01")
    page.fill("#logins-end", "2024-02-01")
    page.click("#logins-show")
    page.wait_for_selector("body[data-state=error]", state="attached")
    assert page.inner_text("#logins-status") == (
        "End (2024-02-01) must not be before Start (2024-05-01).")
    assert page.get_attribute("#logins-end", "aria-invalid") == "true"
    assert page.get_attribute("#logins-start", "aria-invalid") == "false"
    page.fill("#logins-end", "2024-06-30")
    page.click("#logins-show")
    page.wait_for_selector("body[data-state=ready]", state="attached", timeout=30_000)
    assert page.get_attribute("#logins-end", "aria-invalid") == "false"
    assert "2 periods" in page.inner_text("#logins-status")  # May and June
    assert console.errors == []
