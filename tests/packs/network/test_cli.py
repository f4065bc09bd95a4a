"""`kpiflow network ...` through the real CLI: exit codes, one-line errors, output."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from kpiflow.cli import app

SAMPLE = Path(__file__).resolve().parents[3] / "sample-data" / "network"
runner = CliRunner()


def test_run_then_top(tmp_path: Path, sqlite_url: str) -> None:
    shutil.copytree(SAMPLE, tmp_path / "data")
    args = ["--database-url", sqlite_url, "--data-dir", str(tmp_path / "data")]
    result = runner.invoke(app, [*args, "network", "run", "--top-n", "3"])
    assert result.exit_code == 0, result.output
    assert "files new" in result.output and "40" in result.output
    top = runner.invoke(app, [*args, "network", "top", "--interval", "5",
                              "--at", "2017-03-01T08:00:00Z"])
    assert top.exit_code == 0, top.output
    assert "16,100" in top.output and "1001" in top.output


def test_env_settings_are_read(tmp_path: Path, sqlite_url: str, monkeypatch) -> None:
    shutil.copytree(SAMPLE, tmp_path / "in")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "in"))
    monkeypatch.setenv("KPIFLOW_TOP_N", "2")
    assert runner.invoke(app, ["network", "run"]).exit_code == 0
    top = runner.invoke(app, ["network", "top", "--interval", "60"])
    assert "32,200" in top.output and "18,520" not in top.output  # only two ranks kept


def test_missing_data_dir_is_one_line_and_exit_1(tmp_path: Path, sqlite_url: str) -> None:
    result = runner.invoke(app, ["--database-url", sqlite_url, "--data-dir",
                                 str(tmp_path / "nope"), "network", "run"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "error:" in result.output and "does not exist" in result.output


def test_unreachable_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    url = "postgresql://postgres:s3cret@127.0.0.1:9/kpiflow"  # nothing listens on port 9
    result = runner.invoke(app, ["--database-url", url, "--data-dir", str(tmp_path / "data"),
                                 "network", "run"])
    assert result.exit_code == 1
    assert "cannot reach database" in result.output
    assert "s3cret" not in result.output  # the password is never shown


def test_invalid_settings_are_reported(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--database-url", "::not a url::", "network", "run"])
    assert result.exit_code == 1 and "invalid setting" in result.output
    result = runner.invoke(app, ["--database-url", "oracle://x/y", "--data-dir", str(tmp_path),
                                 "network", "run"])
    assert result.exit_code == 1 and "unsupported database" in result.output


def test_generate_is_deterministic(tmp_path: Path) -> None:
    args = ["network", "generate", "--start", "2026-11-24T23:30:00Z", "--hours", "1",
            "--rows-per-interval", "500", "--parts", "2", "--seed", "3"]
    for out in ("a", "b"):
        result = runner.invoke(app, [*args, "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.txt"))
    assert len(files_a) == 24
    assert {p.parts[0] for p in files_a} == {"2026-11-24", "2026-11-25"}  # a folder per day
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    first = (tmp_path / "a" / files_a[0]).read_text().splitlines()
    assert first[0].startswith("interval_start_timestamp,interval_end_timestamp,msisdn")
    assert len(first) == 251
    bad = runner.invoke(app, [*args[:2], "--out", str(tmp_path / "c"), "--start", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_db_upgrade(database_url: str) -> None:
    result = runner.invoke(app, ["--database-url", database_url, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "schema up to date" in result.output


def test_ledger_and_quarantine_commands(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    header = ("interval_start_timestamp,interval_end_timestamp,msisdn,bytes_uplink,"
              "bytes_downlink,service_id,cell_id\n")
    good = "1488355200000,1488355500000,1,1,1,1,1\n"
    (data / "mixed.txt").write_text(header + good + "1488355200000,x,1,1,1,1,1\n" + good[:-3] + "\n")
    (data / "junk.bin").write_bytes(b"\xff\xfe\x00\x00")
    args = ["--database-url", database_url, "--data-dir", str(data)]
    partly = runner.invoke(app, [*args, "network", "run"], terminal_width=300)
    assert partly.exit_code == 3  # done, but a file was rejected and rows quarantined
    assert ("partly done: 1 files rejected, 2 rows quarantined: see `kpiflow network ledger "
            "--status rejected` and `kpiflow network quarantine`") in partly.stderr
    as_json = runner.invoke(app, [*args, "network", "run", "--format", "json"])
    assert as_json.exit_code == 0  # this pass found nothing new: nothing set aside
    assert json.loads(as_json.stdout)[0]["files_unchanged"] == 2
    shown = runner.invoke(app, [*args, "network", "ledger"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "mixed.txt" in shown.output and "junk.bin" in shown.output
    rejected = runner.invoke(app, [*args, "network", "ledger", "--status", "rejected"],
                             terminal_width=200)
    assert "junk.bin" in rejected.output and "mixed.txt" not in rejected.output
    assert runner.invoke(app, [*args, "network", "ledger", "--status", "odd"]).exit_code == 2
    listed = runner.invoke(app, [*args, "network", "quarantine"])
    assert listed.exit_code == 0 and "2 of 2 rows" in listed.output
    assert "64-bit" in listed.output and "mixed.txt" in listed.output  # full text: the export
    target = tmp_path / "q.csv"
    rows = json.loads(runner.invoke(app, [*args, "network", "quarantine", "--format", "json"]).stdout)
    assert sorted((r["path"].rsplit("/", 1)[-1], r["line"]) for r in rows) == [
        ("mixed.txt", 3), ("mixed.txt", 4)]
    as_csv = runner.invoke(app, [*args, "network", "ledger", "--format", "csv"]).stdout
    assert as_csv.splitlines()[0].startswith("id,pack,path,")
    assert len(as_csv.splitlines()) == 3
    exported = runner.invoke(app, [*args, "network", "quarantine", "--export", str(target)])
    assert exported.exit_code == 0 and "wrote 2 quarantined rows" in exported.output
    with open(target, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["path", "line", "reason", "raw"],
        ["mixed.txt", "3", "interval_end_timestamp: not a 64-bit integer: 'x'",
         "1488355200000,x,1,1,1,1,1"],
        ["mixed.txt", "4", "expected 7 fields, found 6", "1488355200000,1488355500000,1,1,1,1"],
    ]
    nowhere = runner.invoke(app, [*args, "network", "quarantine", "--export",
                                  str(tmp_path / "no" / "such" / "dir.csv")])
    assert nowhere.exit_code == 1 and "cannot write" in nowhere.output


def test_reading_commands_never_migrate_nor_lock(tmp_path: Path, database_url: str) -> None:
    """`top`, `ledger`, `quarantine` and `kpiflow runs` only read: on a bare database they say
    how to make the schema, in one line, and leave the database as it was."""
    args = ["--database-url", database_url, "--state-dir", str(tmp_path / "state")]
    for command in (["network", "top"], ["network", "ledger"], ["network", "quarantine"],
                    ["runs"]):
        bare = runner.invoke(app, [*args, *command])
        assert bare.exit_code == 1 and bare.output.count("\n") == 1, bare.output
        assert "no up-to-date kpiflow schema" in bare.output
        assert "run a pass first, or `kpiflow db upgrade`" in bare.output
    engine = create_engine(database_url)
    assert inspect(engine).get_table_names() == []  # nothing was created
    engine.dispose()
    assert not (tmp_path / "state").exists()  # no lock file either
    shutil.copytree(SAMPLE, tmp_path / "data")
    ran = runner.invoke(app, [*args, "--data-dir", str(tmp_path / "data"), "network", "run"])
    assert ran.exit_code == 0, ran.output
    runs = runner.invoke(app, [*args, "runs", "--pack", "network"])
    assert runs.exit_code == 0, runs.output
    assert "network.ingest" in runs.output and "ok" in runs.output
    for count in ("files new 4 ", "rows 40 ", "bad rows 0 ", "intervals updated 2 ",
                  "hours updated 1 "):  # the pack's own counts, as they are
        assert count in runs.output, runs.output
    assert runner.invoke(app, [*args, "network", "top"]).exit_code == 0
