"""Every CLI option that takes a value, against the shared hostile values, on every database:
exit 0, or exit 1 with one line saying why; never a traceback (issue 11, hostile-input modules).
The stores commands' options are in tests/packs/stores/test_hostile_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpiflow.cli import app
from tests.hostile import HOSTILE_INSTANTS, HOSTILE_INTS, HOSTILE_TEXT

OPTIONS = {
    # label: (the command line before the value, the values)
    "network top --at": (["network", "top", "--at"], HOSTILE_INSTANTS + HOSTILE_TEXT[:4]),
    "network top --interval": (["network", "top", "--interval"], HOSTILE_INTS),
    "network ledger --status": (["network", "ledger", "--status"],
                                [v for v in HOSTILE_TEXT if v != "\ud800"]),
    "network ledger --limit": (["network", "ledger", "--limit"], HOSTILE_INTS),
    "network quarantine --limit": (["network", "quarantine", "--limit"], HOSTILE_INTS),
}


@pytest.mark.parametrize("option", list(OPTIONS))
def test_hostile_option_values_never_crash(tmp_path: Path, database_url: str, option: str) -> None:
    before, values = OPTIONS[option]
    for value in values:
        result = CliRunner().invoke(app, ["--database-url", database_url, "--data-dir",
                                          str(tmp_path), "--state-dir", str(tmp_path / "state"),
                                          *before, value])
        what = f"{option} {value[:12]!r}"
        assert result.exit_code in (0, 1, 2), (what, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            what, repr(result.exception))
        assert "Traceback" not in result.output, what
