"""The extraction and the periods on constructed logs, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, insert, select

from kpiflow.errors import ConfigError
from kpiflow.store.tables import checkpoints
from tests.packs.logins.conftest import Logins, line

D = date(2024, 1, 1)  # a Monday


def at(day: int, hour: int = 12) -> str:
    """ISO text of a UTC instant `day` days after 2024-01-01."""
    return (datetime(2024, 1, 1, hour, tzinfo=UTC) + timedelta(days=day)).isoformat()


def test_constructed_periods(logins_any_db: Logins) -> None:
    logins_any_db.write("a.jsonl", [
        line(at(0), "ann"), line(at(3), "ann"),  # two days of one week: once that week
        line(at(1), "bob"), line(at(1, 13), "bob"),  # twice on one day: once
        line(at(40), "ann"), line(at(70), "cid"),  # Feb and March: quarter = 3, not 2+1+1+...
        line(at(2), "admin"),  # excluded
        line(at(2), "dan", "logout"), line(at(2), "eve", "login failed"),  # not logins
    ])
    summary = logins_any_db.run(D, date(2024, 4, 30))
    assert summary.logins == 6 and summary.days == 121 and summary.bad_lines == 0
    weeks = logins_any_db.counts("W", D, date(2024, 1, 21))
    assert weeks == {"2024-01-07": 2, "2024-01-14": 0, "2024-01-21": 0}
    assert logins_any_db.counts("D", D, date(2024, 1, 4)) == {
        "2024-01-01": 1, "2024-01-02": 1, "2024-01-03": 0, "2024-01-04": 1}
    months = logins_any_db.counts("M", D, date(2024, 4, 30))
    assert months == {"2024-01-31": 2, "2024-02-29": 1, "2024-03-31": 1, "2024-04-30": 0}
    assert sum(months.values()) == 4
    assert logins_any_db.counts("Q", D, date(2024, 4, 30)) == {"2024-03-31": 3, "2024-06-30": 0}
    assert logins_any_db.counts("Y", D, date(2024, 4, 30)) == {"2024-12-31": 3}
    assert logins_any_db.day_users(D) == {"ann"}
    answer = logins_any_db.uniques("Q", D, date(2024, 4, 30))
    assert answer.timezone == "UTC" and answer.week_ends == "W-SUN"
    assert answer.checkpoint == date(2024, 4, 30)
    first, second = answer.periods
    assert (first.days_covered, first.days_in_period, first.complete) == (91, 91, True)
    assert (second.days_covered, second.days_in_period, second.complete) == (30, 91, False)


def test_a_range_cuts_periods_and_counts_only_its_days(logins_db: Logins) -> None:
    logins_db.write("a.jsonl", [line(at(0), "ann"), line(at(5), "bob")])
    logins_db.run(D, date(2024, 1, 31))
    answer = logins_db.uniques("W", date(2024, 1, 3), date(2024, 1, 9))
    assert [(p.period.isoformat(), p.unique_users, p.days_covered) for p in answer.periods] == [
        ("2024-01-07", 1, 5), ("2024-01-14", 0, 2)]
    assert not any(p.complete for p in answer.periods)


def test_a_day_that_became_empty_is_cleared(logins_any_db: Logins) -> None:
    path = logins_any_db.write("a.jsonl", [line(at(0), "ann"), line(at(1), "bob")])
    logins_any_db.run(D, date(2024, 1, 2))
    assert logins_any_db.day_users(date(2024, 1, 2)) == {"bob"}
    path.write_text(line(at(0), "ann") + "\n" + line(at(1), "bob", "logout") + "\n")
    logins_any_db.run(D, date(2024, 1, 2))
    assert logins_any_db.day_users(date(2024, 1, 2)) == set()
    assert logins_any_db.counts("D", D, date(2024, 1, 2)) == {"2024-01-01": 1, "2024-01-02": 0}


def test_malformed_lines_are_quarantined_with_file_and_line(logins_db: Logins) -> None:
    path = logins_db.write("a.jsonl", [
        line(at(0), "ann"), "{not json", json.dumps({"user": "x", "message": "successful login"}),
        line("yesterday", "bob"), line(at(0), "", "successful login"), line(at(0), "cid")])
    summary = logins_db.run(D, D)
    assert (summary.lines, summary.bad_lines, summary.logins) == (6, 4, 2)
    from kpiflow.ingest.history import quarantine_rows

    with logins_db.runtime.db.connect() as conn:
        rows = quarantine_rows(conn, "logins")
    assert {(r["path"], r["line"]) for r in rows} == {(str(path), n) for n in (2, 3, 4, 5)}
    assert any("created" in r["reason"] for r in rows)
    logins_db.run(D, D)  # a second pass replaces, never duplicates
    with logins_db.runtime.db.connect() as conn:
        assert len(quarantine_rows(conn, "logins")) == 4


def test_bad_ranges_are_clear_errors(logins_db: Logins) -> None:
    logins_db.write("a.jsonl", [line(at(0), "ann")])
    with pytest.raises(ConfigError, match="before start"):
        logins_db.run(date(2024, 1, 5), date(2024, 1, 4))
    with pytest.raises(ConfigError, match="after today"):
        logins_db.run(D, date.today() + timedelta(days=2))


def test_checkpoint_and_look_back(logins_db: Logins) -> None:
    logins_db.write("a.jsonl", [line(at(0), "ann"), line(at(1), "bob"), line(at(2), "cid")])
    first = logins_db.run(D, date(2024, 1, 2))
    assert first.days == 2
    logins_db.write("late.jsonl", [line(at(1), "late")])  # a late line for an extracted day
    second = logins_db.run(end=date(2024, 1, 3))  # from the checkpoint, less 2 days look-back
    assert second.days == 3
    assert logins_db.day_users(date(2024, 1, 2)) == {"bob", "late"}
    with logins_db.runtime.db.connect() as conn:
        value = conn.execute(select(checkpoints.c.value).where(
            checkpoints.c.pack == "logins")).scalar()
    assert value == "2024-01-03"
    assert logins_db.run(end=date(2024, 1, 3), logins_lookback_days=0).days == 0
    assert logins_db.run(end=date(2024, 1, 3), reset=True).days == 3  # from the first log day


def _table_source(url: str) -> None:
    engine = create_engine(url)
    meta = MetaData()
    log = Table("log", meta, Column("id", Integer, primary_key=True),
                Column("created", DateTime), Column("user", String(64)),
                Column("message", String(200)))
    meta.create_all(engine)
    rows = [
        {"created": datetime(2024, 1, 1, 9), "user": "ann", "message": "successful login"},
        {"created": datetime(2024, 1, 2, 23, 59), "user": "bob", "message": "successful login"},
        {"created": datetime(2024, 1, 3, 0, 0), "user": "ann", "message": "successful login"},
        {"created": datetime(2024, 1, 3, 1), "user": "admin", "message": "successful login"},
        {"created": datetime(2024, 1, 3, 2), "user": "cid", "message": "logout"},
    ]
    with engine.begin() as conn:
        conn.execute(insert(log), rows)
    engine.dispose()


def test_jsonl_gzip_mongoexport_and_sql_sources_agree(tmp_path, database_url: str) -> None:
    events = [("2024-01-01T09:00:00+00:00", "ann"), ("2024-01-02T23:59:00+00:00", "bob"),
              ("2024-01-03T00:00:00+00:00", "ann")]
    extra = [line("2024-01-03T01:00:00Z", "admin"), line("2024-01-03T02:00:00Z", "cid", "logout")]
    results = {}
    plain = Logins(tmp_path / "plain", database_url)
    plain.write("a.jsonl", [line(t, u) for t, u in events] + extra)
    for form in ("plain", "gzip", "mongo", "mongo-long", "sql"):
        folder = tmp_path / form
        folder.mkdir(exist_ok=True)
        harness = plain if form == "plain" else Logins(folder, f"sqlite:///{folder / 'k.db'}")
        if form == "gzip":
            data = "".join(f"{line(t, u)}\n" for t, u in events) + "".join(f"{x}\n" for x in extra)
            (harness.logs / "a.jsonl.gz").write_bytes(gzip.compress(data.encode()))
        elif form.startswith("mongo"):
            harness.write("export.json", [json.dumps({
                "_id": {"$oid": f"{i:024x}"},
                "created": {"$date": t} if form == "mongo" else {"$date": {"$numberLong": str(
                    int(datetime.fromisoformat(t).timestamp() * 1000))}},
                "user": u, "message": "successful login"}) for i, (t, u) in enumerate(events)])
        elif form == "sql":
            source = f"sqlite:///{folder / 'source.db'}"
            _table_source(source)
            harness.logins_settings = harness.logins_settings.model_copy(
                update={"logins_source": source})
        harness.run(D, date(2024, 1, 3))
        results[form] = {g: harness.counts(g, D, date(2024, 1, 3)) for g in "DWMQY"}
        if harness is not plain:
            harness.close()
    plain.close()
    assert results["plain"]["D"] == {"2024-01-01": 1, "2024-01-02": 1, "2024-01-03": 1}
    assert results["plain"]["W"] == {"2024-01-07": 2}
    for form, got in results.items():
        assert got == results["plain"], form


def test_sql_source_on_a_server(tmp_path, server_database_url: str) -> None:
    _table_source(server_database_url)
    harness = Logins(tmp_path, server_database_url, logins_source=server_database_url)
    harness.run(D, date(2024, 1, 3))
    assert harness.counts("D", D, date(2024, 1, 3)) == {
        "2024-01-01": 1, "2024-01-02": 1, "2024-01-03": 1}
    harness.close()


def test_time_zone_and_dst_move_day_boundaries(logins_db: Logins, tmp_path) -> None:
    # 2024-03-31 in Europe/Berlin has 23 hours: 00:00 local = 23:00 UTC on the 30th,
    # 24:00 local = 22:00 UTC on the 31st. 2024-10-27 has 25 hours (22:00 UTC the 26th
    # to 23:00 UTC the 27th).
    lines = [
        line("2024-03-30T22:59:59Z", "before"),  # 23:59:59 on the 30th, Berlin
        line("2024-03-30T23:00:00Z", "first"),  # 00:00 on the 31st, Berlin
        line("2024-03-31T21:59:59Z", "last"),  # 23:59:59 on the 31st (CEST)
        line("2024-03-31T22:00:00Z", "next"),  # 00:00 on April 1st
        line("2024-10-26T22:00:00Z", "long-first"),  # 00:00 on the 27th (CEST)
        line("2024-10-27T22:59:59Z", "long-last"),  # 23:59:59 on the 27th (CET)
        line("2024-10-27T23:00:00Z", "long-next"),
    ]
    logins_db.write("a.jsonl", lines)
    berlin = Logins(tmp_path / "berlin", f"sqlite:///{tmp_path / 'berlin.db'}",
                    logins_timezone="Europe/Berlin")
    berlin.write("a.jsonl", lines)
    berlin.run(date(2024, 3, 30), date(2024, 10, 28))
    assert berlin.day_users(date(2024, 3, 30)) == {"before"}
    assert berlin.day_users(date(2024, 3, 31)) == {"first", "last"}
    assert berlin.day_users(date(2024, 4, 1)) == {"next"}
    assert berlin.day_users(date(2024, 10, 27)) == {"long-first", "long-last"}
    assert berlin.day_users(date(2024, 10, 28)) == {"long-next"}
    assert berlin.uniques("D", date(2024, 3, 31), date(2024, 3, 31)).timezone == "Europe/Berlin"
    berlin.close()
    logins_db.run(date(2024, 3, 30), date(2024, 10, 28))
    assert logins_db.day_users(date(2024, 3, 30)) == {"before", "first"}
    assert logins_db.day_users(date(2024, 3, 31)) == {"last", "next"}
    assert logins_db.day_users(date(2024, 10, 27)) == {"long-last", "long-next"}
    assert logins_db.day_users(date(2024, 10, 26)) == {"long-first"}


@pytest.mark.parametrize("form", ["plain", "gzip", "mongo"])
def test_fast_and_line_by_line_readers_agree(tmp_path, form: str) -> None:
    from zoneinfo import ZoneInfo

    from kpiflow.packs.logins import fastpath, generate
    from kpiflow.packs.logins.buckets import DayBuckets
    from kpiflow.packs.logins.events import Matcher

    readers = {}
    for name in ("fast", "lines"):
        harness = Logins(tmp_path / name, f"sqlite:///{tmp_path / name / 'k.db'}")
        generate.generate(harness.logs, 4000, 60, D, 20, seed=3, form=form)  # type: ignore[arg-type]
        if name == "lines":  # one bad line sends each file to the line-by-line reader
            for f in harness.logs.iterdir():
                data = f.read_bytes()
                f.write_bytes(gzip.compress(gzip.decompress(data) + b"{bad\n")
                              if form == "gzip" else data + b"{bad\n")
        first = sorted(harness.logs.iterdir())[0].read_bytes()
        content = gzip.decompress(first) if form == "gzip" else first
        buckets = DayBuckets(D, D, ZoneInfo("UTC"), {})
        taken = fastpath.read_clean(content, Matcher(harness.logins_settings), buckets)
        assert (taken is not None) == (name == "fast")  # each reader really ran
        summary = harness.run(D, date(2024, 1, 20))
        readers[name] = (summary.logins, summary.lines - summary.bad_lines,
                         {d: harness.day_users(D + timedelta(days=d)) for d in range(20)},
                         harness.counts("W", D, date(2024, 1, 20)))
        harness.close()
    assert readers["fast"] == readers["lines"]
    assert readers["fast"][0] > 1000


def test_values_the_fast_reader_would_write_as_text_go_to_the_line_reader(logins_db: Logins) -> None:
    """Past the 1000 lines polars infers its schema from, a number, an object or a late field
    would be read as text or dropped; those files are read line by line instead."""
    ordinary = [line(at(0), f"u{n}") for n in range(1001)]
    logins_db.write("numbers.jsonl", [*ordinary, line(at(1), 12345)])  # type: ignore[arg-type]
    logins_db.write("oid.jsonl", [*ordinary, line(at(2), {"$oid": "abc"})])  # type: ignore[arg-type]
    logins_db.write("object.jsonl", [*ordinary, line(at(3), "obj", {"text": "successful login"})])  # type: ignore[arg-type]
    logins_db.write("late.jsonl", [*(json.dumps({"created": at(0), "user": "x"})
                                     for _ in range(1001)), line(at(4), "late")])
    logins_db.write("texts.jsonl", [*ordinary, line(at(5), "12345")])  # a text that looks like one
    summary = logins_db.run(D, date(2024, 1, 6))
    assert summary.bad_lines == 1  # the number: a login without a user name
    assert logins_db.day_users(date(2024, 1, 2)) == set()
    assert logins_db.day_users(date(2024, 1, 3)) == {"abc"}
    assert logins_db.day_users(date(2024, 1, 4)) == set()  # a message that is not a text
    assert logins_db.day_users(date(2024, 1, 5)) == {"late"}
    assert logins_db.day_users(date(2024, 1, 6)) == {"12345"}


def test_a_repeated_name_keeps_its_first_value_in_both_readers(logins_db: Logins) -> None:
    """`{"user": "first", "user": "second"}`: polars' reader (the fast path) keeps the first
    value; the line-by-line reader keeps it too, so a file counts the same whichever reads it."""
    repeated = ('{"created": "%s", "user": "first", "user": "second", '
                '"message": "successful login"}')
    logins_db.write("clean.jsonl", [line(at(0), "u0"), repeated % at(1)])
    logins_db.write("with-a-bad-line.jsonl", [line(at(0), "u0"), repeated % at(2), "{bad"])
    summary = logins_db.run(D, date(2024, 1, 3))
    assert summary.bad_lines == 1
    assert logins_db.day_users(date(2024, 1, 2)) == {"first"}  # read by the fast path
    assert logins_db.day_users(date(2024, 1, 3)) == {"first"}  # read line by line
