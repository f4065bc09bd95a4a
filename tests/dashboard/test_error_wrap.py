"""A failed run's error is shown whole on the Ingest page: wrapped, never cut at the page edge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kpiflow.config import Settings
from kpiflow.errors import DataDirMissing
from kpiflow.lifecycle import run_job
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.browser import Console, screenshot
from tests.dashboard.servers import serve

pytestmark = pytest.mark.xdist_group("browser")

# Per error cell: its text, its right edge, and whether its table needs a sideways scroll.
ERRORS = """() => Array.from(document.querySelectorAll("td.error"), (td) => {
  const box = td.closest(".scroll") || document.documentElement;
  const rect = td.getBoundingClientRect();
  return {text: td.textContent, right: rect.right, width: rect.width,
          hidden: box.scrollWidth - box.clientWidth};
})"""


def test_a_long_error_wraps_inside_the_page(
    tmp_path: Path, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    # a pass that fails for real, with an error as long as a deep DATA_DIR path, no spaces in it
    missing = tmp_path / ("d" * 120) / ("e" * 120) / "network-files-from-the-collector"
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}", data_dir=missing,
                        state_dir=tmp_path / "state")
    runtime = Runtime.build(settings, discover_packs())
    network = next(p for p in runtime.packs if p.name == "network")
    with pytest.raises(DataDirMissing):
        run_job(runtime, network)
    with serve(create_app(runtime)) as url:
        for width in (1440, 1280):  # laptops
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{url}/ingest")
            page.wait_for_selector("body[data-state=ready]", state="attached", timeout=30_000)
            screenshot(page, f"ingest-long-error-{width}")
            cells = [c for c in page.evaluate(ERRORS) if c["text"]]
            assert len(cells) == 2  # the scheduled job's last result and the run itself
            for cell in cells:
                assert str(missing) in cell["text"]  # whole, not cut
                assert cell["right"] <= width, cell  # inside the window
                assert cell["width"] >= 200, cell  # readable lines, not a letter per line
                assert cell["hidden"] <= 0, cell  # nothing to scroll sideways to
    assert console.errors == []
