"""Loading: formats the users send, idempotent and incremental re-loads, quarantine; every DB."""

from __future__ import annotations

from sqlalchemy import create_engine, func, select

from kpiflow.packs.stores.tables import hours, polls, stores
from kpiflow.store.tables import ledger, quarantine

UUID = "d84a4552-3668-4075-ad1d-16840294f818"


def _count(url: str, table) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return int(n)


def _reasons(url: str) -> list[tuple[int, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine.c.line, quarantine.c.reason)
                            .order_by(quarantine.c.ledger_id, quarantine.c.line)).all()
    engine.dispose()
    return [(int(line), reason.split(":")[0]) for line, reason in rows]


def test_formats_either_column_order_fractions_and_string_ids(stores_any_db) -> None:
    db = stores_any_db
    summary = db.load(status=(
        "store_id,status,timestamp_utc\n"
        f"{UUID},active,2023-01-23 10:00:00 UTC\n"
        "1481966498820158979,inactive,2023-01-23 10:00:00.5\n"
        "1481966498820158979,active,2023-01-23 10:30:00.123456 UTC\n"
        "1481966498820158979,active,2023-01-23 10:40:00.12 UTC\n"))
    assert summary.files[0].rows == 4 and summary.files[0].bad_rows == 0
    db.load(status=("timestamp_utc,store_id,status\n"
                    f"2023-01-23 11:00:00,{UUID},inactive\n"))
    got = db.report(now="2023-01-23T11:30:00Z")
    assert set(got) == {UUID, "1481966498820158979"}
    assert got[UUID]["uptime_last_hour"] == 30.0 and got[UUID]["downtime_last_hour"] == 30.0
    # 10:30:00.5 inactive until 10:30:00.123456 ... up from 10:30:00.123456: 59.998 min -> 60.00
    assert got["1481966498820158979"]["uptime_last_hour"] == 60.0


def test_hours_header_day_or_day_of_week(stores_any_db) -> None:
    db = stores_any_db
    db.load(hours="store_id,day,start_time_local,end_time_local\na,0,09:00:00,10:00:00\n",
            timezones="store_id,timezone_str\na,UTC\nb,UTC\n",
            status="store_id,timestamp_utc,status\na,2023-01-23 09:00:00,active\n"
                   "b,2023-01-23 09:00:00,active\n")
    db.load(hours="store_id,dayOfWeek,start_time_local,end_time_local\nb,0,09:00:00,11:00:00\n")
    got = db.report(now="2023-01-23T12:00:00Z")
    assert got["a"]["uptime_last_day"] == 1.0 and got["b"]["uptime_last_day"] == 2.0


def test_reload_adds_nothing_and_append_is_incremental(stores_any_db) -> None:
    db = stores_any_db
    first = "store_id,timestamp_utc,status\ns,2023-01-23 10:00:00,active\n"
    path = db.write(first, "status.csv")

    assert db.load_files({"status": path}).files[0].new_rows == 1
    again = db.load_files({"status": path}).files[0]
    assert again.outcome == "unchanged"
    # The same polls in another file, plus one new: only the new one is added.
    db.load(status=first + "s,2023-01-23 11:00:00,inactive\n")
    assert _count(db.settings.database_url, polls) == 2
    # The file grows (polls keep arriving): re-loading it adds the new rows only.
    path.write_text(first + "s,2023-01-23 12:00:00,active\n")
    grown = db.load_files({"status": path}).files[0]
    assert grown.outcome == "loaded" and grown.new_rows == 1
    assert _count(db.settings.database_url, polls) == 3
    assert _count(db.settings.database_url, stores) == 1


def test_hours_file_replaces_the_schedule_of_the_stores_it_names(stores_any_db) -> None:
    db = stores_any_db
    head = "store_id,day,start_time_local,end_time_local\n"
    db.load(hours=head + "a,0,09:00:00,10:00:00\na,1,09:00:00,10:00:00\nb,0,09:00:00,10:00:00\n")
    db.load(hours=head + "a,2,09:00:00,17:00:00\n")
    assert _count(db.settings.database_url, hours) == 2  # a: only Wednesday now; b kept


def test_bad_rows_are_quarantined_with_reasons(stores_any_db) -> None:
    db = stores_any_db
    summary = db.load(
        status=("store_id,timestamp_utc,status\n"
                "s,2023-01-23 10:00:00,active\n"
                "s,2023-01-23 25:00:00,active\n"
                "s,2023-01-23 10:00:00.1234567,active\n"
                "s,yesterday,active\n"
                "s,2023-01-23 11:00:00,open\n"
                ",2023-01-23 11:00:00,active\n"
                "s,2023-01-23 12:00:00\n"),
        hours=("store_id,day,start_time_local,end_time_local\n"
               "s,7,09:00:00,10:00:00\ns,x,09:00:00,10:00:00\ns,0,9am,10:00:00\n"
               "s,0,09:00:00,10:61:00\ns,0,09:00:00,10:00:00\n"),
        timezones="store_id,timezone_str\ns,Mars/Olympus\nt,America/Denver\n")
    by_kind = {f.kind: (f.rows, f.bad_rows) for f in summary.files}
    assert by_kind == {"status": (1, 6), "hours": (1, 4), "timezones": (1, 1)}
    reasons = _reasons(db.settings.database_url)
    assert reasons == [
        (2, "timezone_str"),
        (2, "day"), (3, "day"), (4, "start_time_local"), (5, "end_time_local"),
        (3, "timestamp_utc"), (4, "timestamp_utc"), (5, "timestamp_utc"), (6, "status"),
        (7, "store_id"), (8, "expected 3 fields, found 2"),
    ]


def test_file_without_header_is_rejected_not_fatal(stores_any_db) -> None:
    db = stores_any_db
    summary = db.load(status="1,2,3\n", timezones="store_id,timezone_str\ns,UTC\n")
    outcomes = {f.kind: f.outcome for f in summary.files}
    assert outcomes == {"status": "rejected", "timezones": "loaded"}
    engine = create_engine(db.settings.database_url)
    with engine.connect() as conn:
        errors = conn.execute(select(ledger.c.status, ledger.c.error)
                              .where(ledger.c.status == "rejected")).all()
    engine.dispose()
    assert errors[0].error.startswith("header lacks required column(s): ")


def test_structural_oddities_keep_their_line_numbers(stores_db) -> None:
    # A blank line and a long row balance the comma count; padded fields; CRLF; a BOM.
    summary = stores_db.load(status=(
        "\ufeffstore_id,timestamp_utc,status\r\n\r\n"
        "s,2023-01-23 10:00:00,active,extra\r\n"
        " s , 2023-01-23 11:00:00 UTC , INACTIVE \r\n"
        "s,2023-01-23 12:00:00,active"))
    assert (summary.files[0].rows, summary.files[0].bad_rows) == (2, 1)
    assert _reasons(stores_db.settings.database_url) == [(3, "expected 3 fields, found 4")]
    row = stores_db.report(now="2023-01-23T12:00:00Z")["s"]
    assert row["downtime_last_hour"] == 60.0


def test_a_gzip_file_is_read_as_its_csv_and_a_broken_one_is_rejected(stores_db) -> None:
    import gzip

    text = ("store_id,timestamp_utc,status\ns,2023-01-23 10:00:00,active\n"
            "s,not a time,active\ns,2023-01-23 11:00:00,inactive\n")
    packed = stores_db.tmp / "polls.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    loaded = stores_db.load_files({"status": packed}).files[0]
    assert (loaded.outcome, loaded.rows, loaded.bad_rows) == ("loaded", 2, 1)
    assert _reasons(stores_db.settings.database_url) == [(3, "timestamp_utc")]
    broken = stores_db.tmp / "cut.csv.gz"
    broken.write_bytes(gzip.compress(text.encode())[:30])
    cut = stores_db.load_files({"status": broken}).files[0]
    assert cut.outcome == "rejected" and cut.error.startswith("not a readable gzip file")
    assert _count(stores_db.settings.database_url, polls) == 2
