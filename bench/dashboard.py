"""How fast the Network page loads on a year of 5-minute KPIs (about 105k intervals).

Fills a SQLite database with a year of synthetic top-10 rows (5-minute and hourly, both KPIs),
serves it with uvicorn and loads the page in Debian's headless Chromium with Playwright:
the default view (the last 24 hours), the whole year, a click on a bar (a year-long series),
and the hourly interval over the year. Prints a Markdown table for docs/benchmarks.md.

    .venv/bin/python bench/dashboard.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import uvicorn
from sqlalchemy import create_engine, insert

from kpiflow.config import Settings
from kpiflow.packs.network import tables
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from kpiflow.store.migrate import ensure_schema

OUT = Path(__file__).resolve().parent / "out" / "dashboard"
YEAR_START = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)
FIVE, HOUR = 300_000, 3_600_000
INTERVALS = 365 * 24 * 12
TOP = 10
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _rows(rng: np.random.Generator, starts: np.ndarray, length: int, id_pool: int,
          scale: float, id_col: str, value_col: str) -> list[dict[str, int]]:
    """Top-10 rows with a daily cycle and noise, values falling with rank; ids 1-3 lead and
    the others rotate through a pool, distinct within an interval, recurring over the year."""
    n = len(starts)
    hour = (starts // HOUR) % 24
    level = scale * (1.2 + np.sin((hour - 6) / 24 * 2 * np.pi))
    shares = np.sort(rng.uniform(0.05, 1.0, (n, TOP)), axis=1)[:, ::-1]
    values = (level[:, None] * shares / np.arange(1, TOP + 1) ** 0.5).astype(np.int64) + 1
    offsets = rng.integers(0, id_pool, n)
    out = []
    for rank in range(1, TOP + 1):
        ids = np.full(n, rank) if rank <= 3 else 4 + (offsets + rank) % (id_pool - 3)
        for s, i, v in zip(starts.tolist(), ids.tolist(), values[:, rank - 1].tolist(),
                           strict=True):
            out.append({"interval_start_timestamp": s, "interval_end_timestamp": s + length,
                        "interval": length // 60_000, "rank": rank, id_col: i, value_col: v})
    return out


def fill(database_url: str, state_dir: Path) -> int:
    """A year of top-10 rows for both KPIs, 5-minute and hourly; returns the row count."""
    engine = create_engine(database_url)
    ensure_schema(engine, state_dir)
    rng = np.random.default_rng(1)
    total = 0
    kpis = ((tables.service_traffic_volume, "service_id", "total_bytes", 40, 3e8),
            (tables.cell_unique_users, "cell_id", "number_of_unique_users", 400, 5e3))
    for table, id_col, value_col, pool, scale in kpis:
        for length, count in ((FIVE, INTERVALS), (HOUR, INTERVALS // 12)):
            starts = YEAR_START + np.arange(count, dtype=np.int64) * length
            factor = scale * (12 if length == HOUR and id_col == "service_id" else 1)
            for chunk in range(0, count, 20_000):
                rows = _rows(rng, starts[chunk:chunk + 20_000], length, pool, factor,
                             id_col, value_col)
                with engine.begin() as conn:
                    conn.execute(insert(table), rows)
                total += len(rows)
    engine.dispose()
    return total


def serve(settings: Settings) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(
        create_app(Runtime.build(settings, discover_packs())), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


READY = "document.body.dataset.state === 'ready'"


def _wait(page, extra: str = "") -> None:
    page.wait_for_function(READY + extra, timeout=120_000)


STEPS = (
    ("page load, last 24 h of 5-minute intervals (default view)",
     lambda page, url: (page.goto(f"{url}/network"), _wait(page))),
    ("range: the whole year, 5-minute intervals",
     lambda page, url: (page.click(".presets >> text=all"), _wait(page))),
    ("click a bar: one service across the year",
     lambda page, url: (page.evaluate("window.kpiflowNetwork.tapped('services', [3])"),
                        _wait(page))),
    ("interval: hourly, the whole year",
     lambda page, url: (page.select_option("#interval", "60"),
                        _wait(page, " && window.kpiflowNetwork.state.interval === 60"))),
)


def _round(browser, url: str, results: dict[str, list[float]], sizes: dict[str, int]) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    received: list[int] = []
    page.on("response", lambda r: received.append(
        int(r.headers.get("content-length", 0)) if "/api/" in r.url else 0))
    for name, action in STEPS:
        received.clear()
        t0 = time.perf_counter()
        action(page, url)
        results.setdefault(name, []).append(time.perf_counter() - t0)
        sizes[name] = sum(received)
    context.close()


def measure(url: str, repeat: int) -> list[tuple[str, list[float], int]]:
    """Time each step of STEPS in a fresh browser context, `repeat` times."""
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for _ in range(repeat):
            _round(browser, url, results, sizes)
        browser.close()
    return [(name, times, sizes[name]) for name, times in results.items()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / "kpiflow.db"
    url_db = f"sqlite:///{db}"
    settings = Settings(database_url=url_db, data_dir=OUT / "data", state_dir=OUT / "state")
    if not db.exists():
        t0 = time.perf_counter()
        rows = fill(url_db, settings.resolved_state_dir)
        print(f"filled {rows:,} KPI rows in {time.perf_counter() - t0:.1f} s")
    url, server, thread = serve(settings)
    try:
        results = measure(url, args.repeat)
    finally:
        server.should_exit = True
        thread.join()
    print(f"\n{INTERVALS:,} 5-minute intervals (a year), top {TOP}, SQLite, "
          f"median of {args.repeat} runs in headless Chromium\n")
    print("| view | median | slowest | API data received |")
    print("| --- | ---: | ---: | ---: |")
    for name, times, size in results:
        print(f"| {name} | {statistics.median(times):.2f} s | {max(times):.2f} s "
              f"| {size / 1000:.0f} kB |")


if __name__ == "__main__":
    main()
