"""Debian's Chromium driven by Playwright: one browser per test process for every page test.

Registered once for the whole suite (`pytest_plugins` in tests/conftest.py), so that the
dashboard's and every pack's page tests share it: a second sync Playwright in one process fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts" / "dashboard"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium (never a downloaded browser)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Console:
    """Console errors, uncaught exceptions and failed requests of one browser page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        page.on("request", lambda r: self.requests.append(r.url))


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[tuple[Any, Console]]:
    """A fresh laptop-sized page in a zone that is not UTC, with its console recorded."""
    context = chromium.new_context(viewport={"width": 1440, "height": 900},
                                   timezone_id="Europe/Athens", locale="en-US")
    page = context.new_page()
    console = Console(page)
    yield page, console
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/test-artifacts/dashboard/ (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.mouse.move(0, 0)  # no hover tooltip over the picture
    page.screenshot(path=str(path), full_page=True)
    return path
