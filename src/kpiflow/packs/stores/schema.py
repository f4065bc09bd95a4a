"""The three input files and their row rules: read by core's CSV reader as text columns,
typed here with polars; a row breaking a rule is kept aside with its line and reason."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from functools import cache

import polars as pl

from kpiflow.ingest.reader import LINE, ParsedCsv, read_text_csv
from kpiflow.ingest.validate import Rule, check_rows

MAX_ID = 64

# Canonical column -> header names accepted for it (compared lower-case).
STATUS_COLUMNS = {"store_id": ("store_id",), "timestamp_utc": ("timestamp_utc",),
                  "status": ("status",)}
HOURS_COLUMNS = {"store_id": ("store_id",), "day": ("day", "dayofweek"),
                 "start_time_local": ("start_time_local",), "end_time_local": ("end_time_local",)}
TIMEZONE_COLUMNS = {"store_id": ("store_id",), "timezone_str": ("timezone_str",)}

CLOCK = r"^\d{2}:\d{2}:\d{2}$"
# Instants accepted from files and parameters: a report looks a week back and windows reach a
# day ahead, so a margin of a year on both ends keeps every date it computes representable.
FIRST_INSTANT_US = 365 * 86_400 * 1_000_000  # 1971-01-01
LAST_INSTANT_US = 253_370_764_800_000_000 - 1  # before 9999-01-01
MAX_DURATION_S = 366 * 86_400
DAY_SECONDS = 86_400


def _broken(failed: pl.Expr, reason: str) -> Rule:
    """A rule given by when a row breaks it (every check here is null-free)."""
    return Rule(reason, ~failed)


def _store_id_rule() -> Rule:
    sid = pl.col("store_id")
    return _broken(sid.is_null() | (sid.str.len_chars() == 0) | (sid.str.len_chars() > MAX_ID),
                   f"store_id: empty or longer than {MAX_ID} characters")


def _store_id_text_rule() -> Rule:
    """A NUL (PostgreSQL refuses it in text) or bytes that are not UTF-8 (decoded as U+FFFD,
    two different ids would merge into one) make the row bad, never the file."""
    sid = pl.col("store_id")
    bad = sid.str.contains("\x00", literal=True) | sid.str.contains("\ufffd", literal=True)
    return _broken(bad.fill_null(False), "store_id: contains a NUL or bytes that are not UTF-8")


def _timestamp_us(column: str) -> pl.Expr:
    """`YYYY-MM-DD HH:MM:SS[.f{1,6}][ UTC]` as Unix microseconds; null when malformed.

    The 19-character date-time takes polars' fixed-format parser (an order of magnitude faster
    than a variable fraction format); the fraction is checked and scaled apart.
    """
    text = pl.col(column).str.strip_suffix(" UTC")
    whole = text.str.slice(0, 19).str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us",
                                                   strict=False)
    fraction = text.str.slice(19)
    digits = fraction.str.slice(1).str.pad_end(6, "0").cast(pl.Int64, strict=False)
    fraction_ok = (fraction == "") | fraction.str.contains(r"^\.\d{1,6}$")
    return (pl.when(fraction_ok & (text.str.len_bytes() >= 19) & (text.str.slice(10, 1) == " "))
            .then(whole.dt.epoch("us") + pl.when(fraction == "").then(0).otherwise(digits)))


def parse_status(data: bytes) -> ParsedCsv:
    """Polls: store_id, timestamp_utc (0-6 fractional digits, optional ` UTC`), status."""
    text = read_text_csv(data, STATUS_COLUMNS)
    status = pl.col("status")
    frame = text.frame.with_columns(
        ts_us=_timestamp_us("timestamp_utc"),
        active=pl.when(status == "active").then(1).when(status == "inactive").then(0)
        .otherwise(pl.when(status.str.to_lowercase() == "active").then(1)
                   .when(status.str.to_lowercase() == "inactive").then(0))
        .cast(pl.Int8),
    )
    parsed = check_rows(data, ParsedCsv(frame, text.bad), (
        _store_id_rule(),
        _store_id_text_rule(),
        _broken(pl.col("ts_us").is_null(), "timestamp_utc: not a UTC timestamp "
                "(YYYY-MM-DD HH:MM:SS[.ffffff][ UTC])"),
        _broken(~pl.col("ts_us").is_between(FIRST_INSTANT_US, LAST_INSTANT_US).fill_null(True),
                "timestamp_utc: outside 1971-01-01 .. 9998-12-31"),
        _broken(pl.col("active").is_null(), "status: not 'active' or 'inactive'"),
    ))
    return ParsedCsv(parsed.frame.select("store_id", "ts_us", "active", LINE), parsed.bad)


def _clock_seconds(column: str) -> pl.Expr:
    """HH:MM:SS as seconds since midnight; null when malformed; 24:00:00 is 86400."""
    col = pl.col(column)
    h = col.str.slice(0, 2).cast(pl.Int32, strict=False)
    m = col.str.slice(3, 2).cast(pl.Int32, strict=False)
    s = col.str.slice(6, 2).cast(pl.Int32, strict=False)
    ok = col.str.contains(CLOCK).fill_null(False) & (m < 60) & (s < 60) & (
        (h < 24) | ((h == 24) & (m == 0) & (s == 0)))
    return pl.when(ok).then(h * 3600 + m * 60 + s)


def parse_hours(data: bytes) -> ParsedCsv:
    """Business hours: store_id, day or dayOfWeek (0 = Monday), start/end local HH:MM:SS."""
    text = read_text_csv(data, HOURS_COLUMNS)
    frame = text.frame.with_columns(
        day_n=pl.col("day").cast(pl.Int16, strict=False),
        start_s=_clock_seconds("start_time_local"),
        end_s=_clock_seconds("end_time_local"),
    )
    parsed = check_rows(data, ParsedCsv(frame, text.bad), (
        _store_id_rule(),
        _store_id_text_rule(),
        _broken(pl.col("day_n").is_null() | ~pl.col("day_n").is_between(0, 6),
                "day: not an integer from 0 (Monday) to 6 (Sunday)"),
        _broken(pl.col("start_s").is_null() | (pl.col("start_s") == DAY_SECONDS),
                "start_time_local: not a time HH:MM:SS"),
        _broken(pl.col("end_s").is_null(), "end_time_local: not a time HH:MM:SS"),
    ))
    out = parsed.frame.select("store_id", pl.col("day_n").alias("day"), "start_s", "end_s", LINE)
    return ParsedCsv(out, parsed.bad)


@cache
def known_timezones() -> frozenset[str]:
    """IANA zone names this Python knows (from the system or the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


def parse_timezones(data: bytes) -> ParsedCsv:
    """Time zones: store_id, timezone_str (an IANA name such as America/New_York)."""
    text = read_text_csv(data, TIMEZONE_COLUMNS)
    names = pl.Series(sorted(known_timezones()), dtype=pl.String)
    parsed = check_rows(data, text, (
        _store_id_rule(),
        _store_id_text_rule(),
        _broken(~pl.col("timezone_str").is_in(names.implode()).fill_null(False),
                "timezone_str: unknown time zone name"),
    ))
    return ParsedCsv(parsed.frame.select("store_id", "timezone_str", LINE), parsed.bad)


_MICROSECOND = timedelta(microseconds=1)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """A duration such as `90m`, `2h`, `1h30m`, `45s`, `1d` or ISO 8601 `PT2H`, in seconds."""
    body = text.strip().lower()
    if body.startswith("pt"):
        body = body[2:]
    parts = re.findall(r"(\d+)\s*([smhd])", body)
    if not parts or re.sub(r"\d+\s*[smhd]", "", body).strip():
        raise ValueError(f"not a duration like 90m, 2h or 1h30m: {text!r}")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"duration must be at most 366 days: {text!r}")
    return seconds


def parse_instant_us(text: str) -> int:
    """ISO 8601 date-time (a trailing Z is fine; no zone = UTC) as Unix microseconds."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        instant = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // _MICROSECOND
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first datetime in UTC
        instant = -1
    if not FIRST_INSTANT_US <= instant <= LAST_INSTANT_US:
        raise ValueError(f"outside 1971-01-01 .. 9998-12-31: {text!r}")
    return instant

