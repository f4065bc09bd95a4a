"""Every semantic rule of the report, each on a small hand-checked case (DESIGN.md, issue 7)."""

from __future__ import annotations

from kpiflow.packs.stores import report as rep

HOURS = "store_id,dayOfWeek,start_time_local,end_time_local\n"
ZONES = "store_id,timezone_str\n"
STATUS = "store_id,timestamp_utc,status\n"


def test_statement_example(stores_db) -> None:
    # Monday 2023-01-23, 09:00-12:00 in New York (UTC-5): 14:00-17:00 UTC.
    stores_db.load(
        hours=HOURS + "s1,0,09:00:00,12:00:00\n",
        timezones=ZONES + "s1,America/New_York\n",
        status=STATUS + "s1,2023-01-23 15:14:00 UTC,active\n"
                        "s1,2023-01-23 16:15:00 UTC,inactive\n")
    row = stores_db.report(now="2023-01-23T17:00:00Z")["s1"]
    assert row == {"uptime_last_hour": 15.0, "uptime_last_day": 2.25, "uptime_last_week": 2.25,
                   "downtime_last_hour": 45.0, "downtime_last_day": 0.75,
                   "downtime_last_week": 0.75}


def test_now_defaults_to_latest_poll(stores_db) -> None:
    stores_db.load(hours=HOURS + "s1,0,09:00:00,12:00:00\n",
                   timezones=ZONES + "s1,America/New_York\n",
                   status=STATUS + "s1,2023-01-23 15:14:00,active\n"
                                   "s1,2023-01-23 17:00:00,inactive\n")
    # now = 17:00 UTC = 12:00 local: the 17:00 poll holds no business time.
    assert stores_db.report()["s1"]["uptime_last_day"] == 3.0


def test_back_fill_before_first_poll_and_carry_forward(stores_db) -> None:
    # 24x7 store, one inactive poll in the middle of the hour: inactive before it too.
    stores_db.load(status=STATUS + "s1,2023-01-23 16:30:00,inactive\n")
    row = stores_db.report(now="2023-01-23T17:00:00Z")["s1"]
    assert row["downtime_last_hour"] == 60.0 and row["uptime_last_hour"] == 0.0
    assert row["downtime_last_week"] == 168.0


def test_latest_earlier_poll_holds_into_window(stores_db) -> None:
    # A poll 3 days before now is the latest before the last-day window: it holds.
    stores_db.load(status=STATUS + "s1,2023-01-20 12:00:00,inactive\n"
                                   "s1,2023-01-23 12:00:00,active\n"
                                   "s1,2023-01-23 16:00:00,active\n")
    row = stores_db.report(now="2023-01-23T17:00:00Z")["s1"]
    assert row["downtime_last_day"] == 19.0 and row["uptime_last_day"] == 5.0


def test_polls_after_now_are_ignored(stores_db) -> None:
    stores_db.load(status=STATUS + "s1,2023-01-23 16:00:00,active\n"
                                   "s1,2023-01-23 16:30:00,inactive\n")
    assert stores_db.report(now="2023-01-23T16:15:00Z")["s1"]["uptime_last_hour"] == 60.0
    assert "s2" not in stores_db.report(now="2023-01-23T16:15:00Z")


def test_store_without_hours_is_open_24x7(stores_db) -> None:
    stores_db.load(status=STATUS + "s1,2023-01-01 00:00:00,active\n"
                                   "s1,2023-01-23 17:00:00,active\n")
    row = stores_db.report(now="2023-01-23T17:00:00Z")["s1"]
    assert (row["uptime_last_hour"], row["uptime_last_day"], row["uptime_last_week"]) == (
        60.0, 24.0, 168.0)


def test_store_with_some_rows_is_closed_on_other_days(stores_db) -> None:
    # Open only on Tuesdays; now is Monday evening: the last day holds no business time.
    stores_db.load(hours=HOURS + "s1,1,09:00:00,17:00:00\n",
                   timezones=ZONES + "s1,UTC\n",
                   status=STATUS + "s1,2023-01-23 12:00:00,active\n")
    row = stores_db.report(now="2023-01-23T20:00:00Z", detail=True)["s1"]
    assert row["business_last_day"] == 0.0 and row["business_last_week"] == 8.0


def test_split_shifts_all_count_and_overlaps_merge(stores_db) -> None:
    stores_db.load(
        hours=HOURS + "s1,0,09:00:00,12:00:00\ns1,0,14:00:00,18:00:00\n"
                      "s1,0,10:00:00,11:00:00\ns1,0,11:30:00,15:00:00\n",
        timezones=ZONES + "s1,UTC\n",
        status=STATUS + "s1,2023-01-23 00:00:00,active\n")
    row = stores_db.report(now="2023-01-24T00:00:00Z", detail=True)["s1"]
    # 09:00-18:00 once the overlapping rows are merged: 9 hours, not 3 + 4 + 1 + 3.5.
    assert row["business_last_day"] == 9.0 and row["uptime_last_day"] == 9.0


def test_end_235959_means_end_of_day(stores_db) -> None:
    stores_db.load(hours=HOURS + "s1,0,00:00:00,23:59:59\n", timezones=ZONES + "s1,UTC\n",
                   status=STATUS + "s1,2023-01-23 00:00:00,active\n")
    row = stores_db.report(now="2023-01-24T00:00:00Z", detail=True)["s1"]
    assert row["business_last_day"] == 24.0
    # 23:59:00 is taken literally: one minute short.
    stores_db.load(hours=HOURS + "s1,0,00:00:00,23:59:00\n")
    assert stores_db.report(now="2023-01-24T00:00:00Z", detail=True)["s1"][
        "business_last_hour"] == 59.0


def test_end_before_start_runs_past_midnight(stores_db) -> None:
    # Sunday 22:00 to Monday 02:00 local (UTC): counts on Monday 00:00-02:00 too.
    stores_db.load(hours=HOURS + "s1,6,22:00:00,02:00:00\n", timezones=ZONES + "s1,UTC\n",
                   status=STATUS + "s1,2023-01-22 00:00:00,active\n"
                                   "s1,2023-01-23 01:00:00,inactive\n")
    row = stores_db.report(now="2023-01-23T12:00:00Z", detail=True)["s1"]
    assert row["business_last_day"] == 4.0
    assert row["uptime_last_day"] == 3.0 and row["downtime_last_day"] == 1.0
    # An end equal to the start is a full 24 hours.
    stores_db.load(hours=HOURS + "s1,0,06:00:00,06:00:00\n")
    row = stores_db.report(now="2023-01-24T12:00:00Z", detail=True)["s1"]
    assert row["business_last_week"] == 24.0


def test_missing_timezone_is_america_chicago(stores_db) -> None:
    # Chicago is UTC-6 in January: 09:00-10:00 local = 15:00-16:00 UTC.
    stores_db.load(hours=HOURS + "s1,0,09:00:00,10:00:00\n",
                   status=STATUS + "s1,2023-01-23 15:30:00,inactive\n")
    row = stores_db.report(now="2023-01-23T16:00:00Z")["s1"]
    assert row["downtime_last_hour"] == 60.0


def test_dst_spring_forward_week(stores_db) -> None:
    # US clocks go forward on Sunday 2023-03-12. 09:00-17:00 New York every day:
    # before the change 14:00-22:00 UTC, after it 13:00-21:00 UTC; 8 real hours every day.
    rows = "".join(f"s1,{d},09:00:00,17:00:00\n" for d in range(7))
    stores_db.load(hours=HOURS + rows, timezones=ZONES + "s1,America/New_York\ns2,America/New_York\n",
                   status=STATUS + "s1,2023-03-09 00:00:00,active\n"
                                   "s1,2023-03-13 13:30:00,inactive\n"
                                   "s2,2023-03-09 00:00:00,active\n")
    got = stores_db.report(now="2023-03-14T00:00:00Z", detail=True)
    assert got["s1"]["business_last_week"] == 56.0
    # Monday 13th: 13:00-13:30 UTC up (09:00-09:30 EDT), then down until 21:00 UTC.
    assert got["s1"]["uptime_last_day"] == 0.5 and got["s1"]["downtime_last_day"] == 7.5
    # A 24x7 store in New York: the week holds 168 real hours whatever the clocks did.
    assert got["s2"]["uptime_last_week"] == 168.0


def test_dst_day_of_change_is_23_and_25_hours(stores_db) -> None:
    rows = "s1,6,00:00:00,23:59:59\n"  # Sundays only, whole day
    stores_db.load(hours=HOURS + rows, timezones=ZONES + "s1,America/New_York\n",
                   status=STATUS + "s1,2023-03-01 00:00:00,active\n")
    assert stores_db.report(now="2023-03-14T00:00:00Z", detail=True)["s1"][
        "business_last_week"] == 23.0
    assert stores_db.report(now="2023-11-07T00:00:00Z", detail=True)["s1"][
        "business_last_week"] == 25.0


def test_up_plus_down_is_business_exactly(stores_db) -> None:
    stores_db.load(
        hours=HOURS + "s1,0,09:07:13,12:00:00\ns1,1,22:00:00,03:00:00\n",
        timezones=ZONES + "s1,Asia/Kolkata\n",
        status=STATUS + "".join(
            f"s1,2023-01-{day:02d} {h:02d}:{(h * 7) % 60:02d}:{(h * 13) % 60:02d}.{h}12,"
            f"{'active' if (h + day) % 3 else 'inactive'}\n"
            for day in range(16, 24) for h in range(24)))
    from kpiflow.packs.stores import queries
    from kpiflow.store.db import make_engine

    engine = make_engine(stores_db.settings.database_url)
    with engine.connect() as conn:
        inputs = queries.report_inputs(conn, 1674500000 * 10**6, "America/Chicago")
    engine.dispose()
    numbers = rep.compute(inputs).row(0, named=True)
    for w in ("hour", "day", "week"):
        assert numbers[f"up_{w}"] + numbers[f"down_{w}"] == numbers[f"business_{w}"]
        assert numbers[f"unknown_{w}"] == 0
    assert numbers["business_week"] > 0


def test_max_hold_reports_unknown_time(stores_db) -> None:
    stores_db.load(status=STATUS + "s1,2023-01-23 10:00:00,active\n"
                                   "s1,2023-01-23 16:00:00,inactive\n")
    row = stores_db.report(now="2023-01-23T18:00:00Z", detail=True, max_hold="1h")["s1"]
    # Each poll vouches for one hour forwards; the first also one hour backwards.
    assert row["uptime_last_day"] == 2.0 and row["downtime_last_day"] == 1.0
    assert row["unknown_last_day"] == 21.0 and row["business_last_day"] == 24.0
    assert row["unknown_last_hour"] == 60.0
    # Without --max-hold the report is exactly the statement's seven columns.
    plain = stores_db.report(now="2023-01-23T18:00:00Z")["s1"]
    assert list(plain) == [c for c in rep.COLUMNS if c != "store_id"]


def test_dst_wall_time_in_the_gap_reads_as_fold_0(stores_db) -> None:
    # 2023-03-12, New York: 02:00-03:00 does not exist. 02:30 is read with the offset before
    # the change (EST, = 03:30 EDT), so 02:30-04:00 holds 30 real minutes that night.
    stores_db.load(hours=HOURS + "s1,6,02:30:00,04:00:00\n",
                   timezones=ZONES + "s1,America/New_York\n",
                   status=STATUS + "s1,2023-03-01 00:00:00,active\n")
    got = stores_db.report(now="2023-03-13T00:00:00Z", detail=True)["s1"]
    assert got["business_last_day"] == 0.5
    # The week before (no change): 1.5 hours.
    assert stores_db.report(now="2023-03-06T00:00:00Z", detail=True)["s1"][
        "business_last_day"] == 1.5


def test_max_hold_invariants(stores_db) -> None:
    stores_db.load(
        hours=HOURS + "s1,0,09:00:00,17:00:00\ns1,2,20:00:00,04:00:00\n",
        timezones=ZONES + "s1,Europe/London\n",
        status=STATUS + "".join(
            f"s1,2023-01-{d:02d} {h:02d}:{(d * h) % 60:02d}:00,"
            f"{'active' if (d * h) % 5 else 'inactive'}\n"
            for d in range(15, 24) for h in range(0, 24, 3)))
    unlimited = stores_db.report(now="2023-01-23T20:00:00Z", detail=True)["s1"]
    huge = stores_db.report(now="2023-01-23T20:00:00Z", detail=True, max_hold="30d")["s1"]
    assert {k: v for k, v in huge.items() if not k.startswith("unknown")} == unlimited
    assert all(huge[f"unknown_last_{w}"] == 0 for w in ("hour", "day", "week"))
    held = stores_db.report(now="2023-01-23T20:00:00Z", detail=True, max_hold="1h")["s1"]
    for w in ("hour", "day", "week"):
        parts = held[f"uptime_last_{w}"] + held[f"downtime_last_{w}"] + held[f"unknown_last_{w}"]
        assert abs(parts - held[f"business_last_{w}"]) < 0.02
        assert held[f"unknown_last_{w}"] >= 0
    assert held["unknown_last_week"] > 0
