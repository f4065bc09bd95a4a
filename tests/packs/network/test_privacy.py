"""KPIFLOW_PSEUDONYMIZE_MSISDN: same KPIs, no raw msisdn in state, quarantine or output."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from kpiflow.cli import app
from kpiflow.errors import StateError
from kpiflow.store.tables import quarantine
from tests.helpers import make_settings, run_pack

from .files import FIVE, deliver, name, render, row
from .tables_read import read_kpis

MSISDNS = [306912345678, 306998765432, 4915112345678, 2**63 - 1]


def _data(root: Path) -> None:
    rows = [row(0, m, 10 * i, 1, i % 2, i % 3) for i, m in enumerate(MSISDNS * 3)]
    deliver(root / name(FIVE, 1), render(rows) + b"0,300000,306955555555,1,1,1\n"
            + b"0,300000,306944444444,-1,1,1,1\n")


def test_same_kpis_and_no_raw_msisdn_anywhere(tmp_path: Path, database_url: str) -> None:
    _data(tmp_path / "data")
    plain_url = f"sqlite:///{tmp_path / 'plain.db'}"
    run_pack(make_settings(tmp_path, plain_url, state_dir=tmp_path / "plain-state"), "network")
    net = {"pseudonymize_msisdn": SecretStr("k3y")}
    summary = run_pack(make_settings(tmp_path, database_url), "network", **net)
    assert summary.bad_rows == 2
    assert read_kpis(database_url) == read_kpis(plain_url)  # distinct counts unchanged
    stored = duckdb.sql(
        f"SELECT DISTINCT msisdn FROM read_parquet('{tmp_path / 'state'}/network/*/*.pairs.parquet')"
    ).fetchall()
    assert len(stored) == len(MSISDNS) and not {m for (m,) in stored} & set(MSISDNS)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        bad = [tuple(r) for r in conn.execute(select(quarantine.c.reason, quarantine.c.raw))]
    engine.dispose()
    text = repr(bad)
    assert "306955555555" not in text and "306944444444" not in text
    assert any("withheld" in raw for _, raw in bad)  # the short line, which cannot be split
    assert any(raw.startswith("0,300000,#") for _, raw in bad)


def test_changing_the_key_needs_a_fresh_state(tmp_path: Path, sqlite_url: str) -> None:
    _data(tmp_path / "data")
    settings = make_settings(tmp_path, sqlite_url)
    run_pack(settings, "network", pseudonymize_msisdn=SecretStr("one"))
    with pytest.raises(StateError, match=r"setting \(KPIFLOW_PSEUDONYMIZE_MSISDN\) changed"):
        run_pack(settings, "network", pseudonymize_msisdn=SecretStr("two"))
    with pytest.raises(StateError, match=r"setting \(KPIFLOW_PSEUDONYMIZE_MSISDN\) changed"):
        run_pack(settings, "network")


def test_cli_output_has_no_msisdn_or_key(tmp_path: Path, sqlite_url: str, monkeypatch) -> None:
    _data(tmp_path / "data")
    monkeypatch.setenv("KPIFLOW_PSEUDONYMIZE_MSISDN", "s3cret-key")
    args = ["--database-url", sqlite_url, "--data-dir", str(tmp_path / "data")]
    runner = CliRunner()
    outputs = [runner.invoke(app, [*args, "network", *cmd]).output
               for cmd in (["run"], ["quarantine"], ["ledger"], ["top", "--interval", "5"])]
    for output in outputs:
        assert "s3cret-key" not in output
        assert not any(str(m) in output for m in [*MSISDNS, 306955555555, 306944444444])
