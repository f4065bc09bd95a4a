"""`kpiflow logins ...` through Typer's CliRunner: exit codes, output, one-line errors."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from kpiflow.cli import app
from tests.packs.logins.conftest import line

runner = CliRunner()


def _env(tmp: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp / 'k.db'}", "KPIFLOW_STATE_DIR": str(tmp / "state")}


def test_run_then_uniques_in_every_format(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_text("\n".join([
        line("2024-01-01T10:00:00Z", "ann"), line("2024-01-02T10:00:00Z", "ann"),
        line("2024-01-09T10:00:00Z", "bob")]) + "\n")
    env = _env(tmp_path)
    r = runner.invoke(app, ["logins", "run", "--source", str(logs), "--start", "2024-01-01",
                            "--end", "2024-01-14"], env=env)
    assert r.exit_code == 0, r.output
    assert "days" in r.output and "14" in r.output
    args = ["logins", "uniques", "--aggregate", "W", "--start", "2024-01-01", "--end", "2024-01-14"]
    csv = runner.invoke(app, [*args, "--format", "csv"], env=env)
    assert csv.exit_code == 0
    assert csv.stdout.splitlines() == ["period,unique_users,days_covered,days_in_period",
                                       "2024-01-07,1,7,7", "2024-01-14,1,7,7"]
    body = json.loads(runner.invoke(app, [*args, "--format", "json"], env=env).stdout)
    assert body["week_ends"] == "W-SUN" and body["timezone"] == "UTC"
    table = runner.invoke(app, args, env=env, terminal_width=200)
    assert table.exit_code == 0 and "2024-01-14" in table.stdout
    # the title wraps at the table's width
    assert "unique users per week, days in UTC, weeks W-SUN, extracted through 2024-01-14" \
        in " ".join(table.stdout.split())


def test_uniques_before_any_run_says_how_to_extract(tmp_path: Path) -> None:
    shown = runner.invoke(app, ["logins", "uniques", "--aggregate", "q", "--start", "2024-01-01",
                                "--end", "2024-06-30"], env=_env(tmp_path), terminal_width=200)
    assert shown.exit_code == 0, shown.output
    title = " ".join(shown.stdout.split())
    assert "unique users per quarter, days in UTC, weeks W-SUN, nothing extracted yet " \
        "(`kpiflow logins run`)" in title


def test_errors_are_one_red_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "logs").mkdir()
    later = (date.today() + timedelta(days=3)).isoformat()
    logs = ["--source", str(tmp_path / "logs")]
    cases = [  # (arguments, exit code, what the line says)
        (["logins", "run", *logs, "--end", later], 2, "after today"),
        (["logins", "run", *logs, "--start", "2024-02-01", "--end", "2024-01-01"], 2,
         "before --start"),
        (["logins", "run", "--source", str(tmp_path / "nowhere")], 1, "does not exist"),
        (["logins", "run", "--start", "01/02/2024"], 2, "--start: not a date"),
        (["logins", "run", "--end", "2024-02-30"], 2, "--end: not a date"),
        (["logins", "run", "--start", "1900-01-01"], 2, "outside 1970-01-01"),
        (["logins", "uniques", "--aggregate", "H"], 2, "--aggregate"),
        (["logins", "uniques", "--start", "2024-02-01", "--end", "2024-01-01"], 2,
         "before --start"),
        (["logins", "uniques", "--start", "1970-01-01", "--end", "9998-12-31"], 2,
         "shorter range"),
        (["logins", "generate", "--out", str(tmp_path / "g"), "--form", "xml"], 2, "--form"),
    ]
    for args, code, message in cases:
        r = runner.invoke(app, args, env=env)
        assert r.exit_code == code, (args, r.output)
        assert message in r.stderr and "Traceback" not in r.output, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


def test_generate_is_seeded(tmp_path: Path) -> None:
    for name in ("a", "b"):
        r = runner.invoke(app, ["logins", "generate", "--out", str(tmp_path / name), "--lines",
                                "5000", "--users", "50", "--days", "40", "--form", "mongo"])
        assert r.exit_code == 0, r.output
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["log-2024-01.jsonl", "log-2024-02.jsonl"]
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    first = json.loads((tmp_path / "a" / files[0]).read_text().splitlines()[0])
    assert set(first) == {"_id", "created", "user", "message"} and "$date" in first["created"]
