"""`kpiflow logins ...` as real processes: exit codes, --format, examples in every help."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from datetime import date, timedelta
from pathlib import Path

from tests.helpers import KPIFLOW
from tests.packs.logins.conftest import line


def _kpiflow(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KPIFLOW_") and k not in ("DATABASE_URL", "DATA_DIR")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp / 'k.db'}", "KPIFLOW_STATE_DIR": str(tmp / "s"),
                "KPIFLOW_LOGINS_SOURCE": str(tmp / "logs")})
    return subprocess.run([str(KPIFLOW), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_run_exit_codes_and_formats(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_text("\n".join([
        line("2024-01-01T10:00:00Z", "ann"), line("2024-01-02T10:00:00Z", "bob")]) + "\n")
    clean = _kpiflow(tmp_path, "logins", "run", "--start", "2024-01-01", "--end", "2024-01-02",
                     "--format", "json")
    assert clean.returncode == 0, clean.stderr
    [counts] = json.loads(clean.stdout)
    assert (counts["sources"], counts["lines"], counts["logins"], counts["days"]) == (1, 2, 2, 2)
    # A file with a bad line: done, the good lines count, exit 3 naming where to look.
    (logs / "b.jsonl").write_text(line("2024-01-02T11:00:00Z", "cid") + "\n{not json\n")
    partial = _kpiflow(tmp_path, "logins", "run", "--start", "2024-01-01", "--end",
                       "2024-01-02", "--format", "csv")
    assert partial.returncode == 3, partial.stderr
    [row] = list(csv.DictReader(io.StringIO(partial.stdout)))
    assert (row["bad_lines"], row["logins"], row["files_unchanged"]) == ("1", "3", "0")
    assert "1 rows quarantined" in partial.stderr and "quarantine/?pack=logins" in partial.stderr
    # The files hold a look-back day, so they are read again: the bad line again, exit 3.
    again = _kpiflow(tmp_path, "logins", "run", "--end", "2024-01-02", "--format", "json")
    assert again.returncode == 3 and json.loads(again.stdout)[0]["bad_lines"] == 1
    # The bad line fixed: the file changed, is read, and the run is done (exit 0).
    (logs / "b.jsonl").write_text(line("2024-01-02T11:00:00Z", "cid") + "\n")
    fixed = _kpiflow(tmp_path, "logins", "run", "--end", "2024-01-02")
    assert fixed.returncode == 0, fixed.stderr
    assert "logins run" in fixed.stdout and "bad lines" in fixed.stdout


def test_bad_options_are_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    later = (date.today() + timedelta(days=2)).isoformat()
    for args, message in [
        (["logins", "run", "--end", later], "after today"),
        (["logins", "run", "--start", "2024-03-01", "--end", "2024-02-01"], "before --start"),
        (["logins", "run", "--start", "2024/03/01"], "not a date"),
        (["logins", "uniques", "--aggregate", "fortnight"], "--aggregate must be one of"),
    ]:
        r = _kpiflow(tmp_path, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count("\n") == 1 and message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and r.stdout == ""
    missing = _kpiflow(tmp_path, "logins", "run", "--source", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1, missing.stderr


def test_every_command_help_has_an_example(tmp_path: Path) -> None:
    for command in ("run", "uniques", "generate"):
        r = _kpiflow(tmp_path, "logins", command, "--help")
        assert r.returncode == 0
        assert f"Example: kpiflow logins {command}" in r.stdout, r.stdout
