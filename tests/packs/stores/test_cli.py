"""`kpiflow stores ...` through the real CLI: exit codes, output, files written."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from kpiflow.cli import app

HEADER = ("store_id,uptime_last_hour,uptime_last_day,uptime_last_week,downtime_last_hour,"
          "downtime_last_day,downtime_last_week")


def _inputs(tmp_path: Path) -> list[str]:
    (tmp_path / "s.csv").write_text("store_id,timestamp_utc,status\n"
                                    "s1,2023-01-23 15:14:00 UTC,active\n"
                                    "s1,2023-01-23 16:15:00 UTC,inactive\n"
                                    "s1,not a time,active\n")
    (tmp_path / "h.csv").write_text("store_id,day,start_time_local,end_time_local\n"
                                    "s1,0,09:00:00,12:00:00\n")
    (tmp_path / "z.csv").write_text("store_id,timezone_str\ns1,America/New_York\n")
    return ["--status", str(tmp_path / "s.csv"), "--hours", str(tmp_path / "h.csv"),
            "--timezones", str(tmp_path / "z.csv")]


def test_load_report_explain(tmp_path: Path, sqlite_url: str) -> None:
    runner = CliRunner()
    db = ["--database-url", sqlite_url]
    loaded = runner.invoke(app, [*db, "stores", "load", *_inputs(tmp_path)], terminal_width=300)
    assert loaded.exit_code == 3, loaded.output  # partly done: one poll row is quarantined
    assert ("partly done: 0 files rejected, 1 rows quarantined: see the Ingest page of the "
            "dashboard, or GET /api/v1/ledger/?pack=stores") in loaded.stderr
    assert "status" in loaded.output and "rows/s" in loaded.output
    report = runner.invoke(app, [*db, "stores", "report", "--now", "2023-01-23T17:00:00Z"])
    assert report.exit_code == 0
    lines = report.stdout.splitlines()
    assert lines[-2:] == [HEADER, "s1,15.00,2.25,2.25,45.00,0.75,0.75"]
    out = tmp_path / "r.csv"
    written = runner.invoke(app, [*db, "stores", "report", "--output", str(out), "--detail",
                                  "--now", "2023-01-23T17:00:00Z"])
    assert written.exit_code == 0 and out.read_text().splitlines()[1] == (
        "s1,15.00,2.25,2.25,45.00,0.75,0.75,60.00,3.00,3.00")
    explained = runner.invoke(app, [*db, "stores", "explain", "s1", "--now", "2023-01-23T17:00Z"])
    assert explained.exit_code == 0
    assert "09:00:00 EST" in explained.output and "14:00:00 UTC" in explained.output
    assert "inactive" in explained.output and "45.00" in explained.output


def test_errors_are_one_line_exit_1_and_bad_options_exit_2(tmp_path: Path, sqlite_url: str) -> None:
    runner = CliRunner()
    db = ["--database-url", sqlite_url]
    assert runner.invoke(app, [*db, "stores", "load"]).exit_code == 2  # usage: no file given
    missing = runner.invoke(app, [*db, "stores", "load", "--status", str(tmp_path / "no.csv")])
    assert missing.exit_code == 1 and "no such file" in missing.output
    for command in (["report"], ["explain", "s1"]):  # they only read: no schema is made
        bare = runner.invoke(app, [*db, "stores", *command])
        assert bare.exit_code == 1 and bare.output.count("\n") == 1, bare.output
        assert "run a pass first, or `kpiflow db upgrade`" in bare.output
    engine = create_engine(sqlite_url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()
    assert runner.invoke(app, [*db, "db", "upgrade"]).exit_code == 0
    empty = runner.invoke(app, [*db, "stores", "report"])
    assert empty.exit_code == 1 and "no polls" in empty.output
    bad_now = runner.invoke(app, [*db, "stores", "report", "--now", "soon"])
    assert bad_now.exit_code == 2 and "--now" in bad_now.output
    bad_hold = runner.invoke(app, [*db, "stores", "report", "--max-hold", "forever"])
    assert bad_hold.exit_code == 2 and "--max-hold" in bad_hold.output
    runner.invoke(app, [*db, "stores", "load", *_inputs(tmp_path)])
    unknown = runner.invoke(app, [*db, "stores", "explain", "nobody"])
    assert unknown.exit_code == 1 and "no polls" in unknown.output


def test_generate_writes_polls_for_the_given_stores(tmp_path: Path) -> None:
    hours = tmp_path / "h.csv"
    hours.write_text("store_id,day,start_time_local,end_time_local\na,0,09:00:00,12:00:00\n"
                     "b,1,09:00:00,12:00:00\n")
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(app, ["stores", "generate", "--hours", str(hours), "--out",
                                      str(out), "--days", "1", "--seed", "4"])
    assert result.exit_code == 0 and "for 2 stores" in result.output
    assert out.read_text().startswith("store_id,status,timestamp_utc\n")


def test_load_with_every_file_rejected_exits_3(tmp_path: Path, sqlite_url: str) -> None:
    (tmp_path / "s.csv").write_text("nothing,like,polls\n1,2,3\n")
    (tmp_path / "h.csv").write_text("not a header at all\n")
    loaded = CliRunner().invoke(app, ["--database-url", sqlite_url, "stores", "load", "--status",
                                      str(tmp_path / "s.csv"), "--hours", str(tmp_path / "h.csv")],
                                terminal_width=300)
    assert loaded.exit_code == 3, loaded.output
    assert "partly done: 2 files rejected, 0 rows quarantined" in loaded.stderr


def test_generate_with_a_missing_file_is_one_line(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["stores", "generate", "--hours", str(tmp_path / "no.csv"),
                                       "--out", str(tmp_path / "o.csv")])
    assert missing.exit_code == 1
    assert missing.stderr.strip().count("\n") == 0
    assert missing.stderr.startswith("error: cannot read the --hours/--timezones file: ")
    assert str(tmp_path / "no.csv") in missing.stderr


def test_load_and_hosts_run_speak_json_for_scripts(tmp_path: Path, sqlite_url: str) -> None:
    """`stores load --format json` lists each file's outcome (the bad row counted, exit 3);
    `hosts run --format json` prints the job's counts: the same `--format` as `network run`."""
    runner = CliRunner()
    db = ["--database-url", sqlite_url, "--state-dir", str(tmp_path / "state")]
    loaded = runner.invoke(app, [*db, "stores", "load", *_inputs(tmp_path), "--format", "json"])
    assert loaded.exit_code == 3, loaded.output
    files = json.loads(loaded.stdout)
    assert sorted((f["kind"], f["outcome"], f["rows"], f["bad_rows"]) for f in files) == [
        ("hours", "loaded", 1, 0), ("status", "loaded", 2, 1), ("timezones", "loaded", 1, 0)]
    flushed = runner.invoke(app, [*db, "hosts", "run", "flush", "--format", "json"])
    assert flushed.exit_code == 0, flushed.output
    [counts] = json.loads(flushed.stdout)
    assert isinstance(counts, dict) and counts and all(v == 0 for v in counts.values()), counts
