"""Every CLI option that takes a value, against the shared hostile values: exit 0, or exit 1
with one line saying why; never a traceback (issue 11, hostile-input modules)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpiflow.cli import app
from tests.hostile import HOSTILE_INSTANTS, HOSTILE_INTS, HOSTILE_TEXT

OPTIONS = (
    [("network", "top", "--at", v) for v in HOSTILE_INSTANTS + HOSTILE_TEXT[:4]]
    + [("network", "top", "--interval", v) for v in HOSTILE_INTS]
    + [("network", "ledger", "--status", v) for v in HOSTILE_TEXT if v != "\ud800"]
    + [("network", "ledger", "--limit", v) for v in HOSTILE_INTS]
    + [("network", "quarantine", "--limit", v) for v in HOSTILE_INTS]
)


@pytest.mark.parametrize("argv", OPTIONS, ids=lambda a: f"{a[1]}{a[2]}={a[3][:12]!r}")
def test_hostile_option_values_never_crash(tmp_path: Path, sqlite_url: str, argv) -> None:
    result = CliRunner().invoke(app, ["--database-url", sqlite_url, "--data-dir", str(tmp_path),
                                      "--state-dir", str(tmp_path / "state"), *argv])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    assert "Traceback" not in result.output
