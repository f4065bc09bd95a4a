"""Browser fixtures: Debian's Chromium driven by Playwright, and a real site to point it at.

The site's database is filled by a real `kpiflow network run` over generated files (plus one
file with bad rows and one that is not a network file at all); it is served by uvicorn three
ways: with an API token, without one, and with `--root-path /kpiflow` behind a reverse proxy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kpiflow.config import Settings
from kpiflow.packs.network import generate
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.browser import Console  # noqa: F401  (re-exported for the page tests)
from tests.dashboard.servers import prefix_proxy, serve

TOKEN = "dashboard-test-token"
PREFIX = "/kpiflow"
START = datetime(2026, 11, 23, 18, tzinfo=UTC)
HOURS = 6
BAD_ROWS = [  # valid header, one good row, then one row per reason
    "interval_start_timestamp,interval_end_timestamp,msisdn,bytes_uplink,bytes_downlink,"
    "service_id,cell_id",
    "1795456800000,1795457100000,306900000001,100,200,1,1000",
    "1795456800000,1795457100000,306900000002,-5,200,1,1000",
    "1795456800000,1795457200000,306900000003,100,200,1,1000",
    "1795456800000,1795457100000,3069000000x4,100,200,1,1000",
]


def _clean_env(mp: pytest.MonkeyPatch, folder: Path) -> None:
    for name in list(os.environ):
        if name.startswith("KPIFLOW_") or name in ("DATABASE_URL", "DATA_DIR"):
            mp.delenv(name)
    mp.chdir(folder)




@dataclass
class Site:
    """A filled database and the servers in front of it."""

    root: Path
    data: Path
    database_url: str
    url: str  # token configured
    url_no_token: str  # no token configured: Run now disabled
    url_prefixed: str  # behind a reverse proxy at /kpiflow, uvicorn --root-path /kpiflow

    def settings(self, **extra: Any) -> Settings:
        return Settings(database_url=self.database_url, data_dir=self.data,
                        state_dir=self.root / "state", **extra)


def write_bad_files(data: Path) -> None:
    """One file with invalid rows (quarantined) and one without the header (rejected)."""
    extra = data / "extra"
    extra.mkdir(parents=True, exist_ok=True)
    (extra / "ipflow_data.ts-1795457100000.9.txt").write_text("\n".join(BAD_ROWS) + "\n")
    (extra / "notes.txt").write_text("this is not a network file\n")


def network_run(settings: Settings) -> str:
    """`kpiflow network run` through the real CLI; returns its output."""
    from kpiflow.cli import app

    result = CliRunner().invoke(app, [
        "--database-url", settings.database_url, "--data-dir", str(settings.data_dir),
        "--state-dir", str(settings.state_dir), "network", "run"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Six hours of generated traffic, run once, served three ways."""
    root = tmp_path_factory.mktemp("site")
    data = root / "data"
    generate.generate(data, START, HOURS, rows_per_interval=2400, parts=2, seed=7)
    write_bad_files(data)
    db = f"sqlite:///{root / 'kpiflow.db'}"
    with pytest.MonkeyPatch.context() as mp, ExitStack() as stack:
        _clean_env(mp, root)
        plain = Settings(database_url=db, data_dir=data, state_dir=root / "state")
        network_run(plain)
        packs = discover_packs()
        with_token = Settings(database_url=db, data_dir=data, state_dir=root / "state",
                              api_token=TOKEN)
        url = stack.enter_context(serve(create_app(Runtime.build(with_token, packs))))
        url_no_token = stack.enter_context(serve(create_app(Runtime.build(plain, packs))))
        behind = stack.enter_context(
            serve(create_app(Runtime.build(with_token, packs)), root_path=PREFIX))
        proxy = stack.enter_context(serve(prefix_proxy(PREFIX, behind)))
        yield Site(root, data, db, url, url_no_token, proxy + PREFIX)




