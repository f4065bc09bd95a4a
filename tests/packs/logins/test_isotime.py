"""Fixed-shape ISO texts parsed as bytes give the instants chrono's RFC 3339 parser gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kpiflow.packs.logins.isotime import fixed_millis


def chrono(texts: list[str]) -> list[int | None]:
    """What the general path (polars' `%+`) makes of the texts, in Unix milliseconds."""
    parsed = pl.Series(texts).str.to_datetime(format="%+", strict=False)
    return parsed.dt.epoch("ms").to_list()


def text(moment: datetime, digits: int, offset_minutes: int | None) -> str:
    """`moment` (UTC) written with `digits` fraction digits, `Z` or a numeric offset."""
    zone = UTC if offset_minutes is None else timezone(timedelta(minutes=offset_minutes))
    local = moment.astimezone(zone)
    body = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        body += "." + f"{local.microsecond:06d}{moment.microsecond % 1000:03d}"[:digits]
    if offset_minutes is None:
        return body + "Z"
    sign = "+" if offset_minutes >= 0 else "-"
    return body + f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"


moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31),
                       timezones=st.just(UTC))


@settings(max_examples=60, deadline=None)
@given(st.lists(moments, min_size=1, max_size=40), st.integers(0, 9),
       st.none() | st.integers(-23 * 60 - 59, 23 * 60 + 59))
def test_one_shape_parses_as_chrono_does(values, digits, offset) -> None:
    texts = [text(v, digits, offset) for v in values]
    got = fixed_millis(pl.Series(texts))
    assert got is not None
    assert got.tolist() == chrono(texts)


def test_texts_of_another_shape_or_out_of_range_are_left_to_the_general_path() -> None:
    good = "2024-03-01T12:00:00.123Z"
    for other in ["2024-03-01T12:00:00.12Z",  # another length
                  "2024-03-01T12:00:00+0100",  # no colon in the offset
                  "2024-03-01t12:00:00.123z",  # lowercase
                  "2024-03-01 12:00:00.123Z",  # a space
                  "2024-02-30T12:00:00.123Z", "2023-02-29T12:00:00.123Z",  # no such day
                  "2024-13-01T12:00:00.123Z", "2024-03-01T24:00:00.123Z",
                  "2016-12-31T23:59:60.123Z",  # a leap second
                  "2024-03-01T12:00:0x.123Z", "2024-03-01T12:00:00,123Z",
                  "2024-03-01T12:00:00.12éZ"]:
        assert fixed_millis(pl.Series([good, other])) is None, other
    assert fixed_millis(pl.Series([good, None])) is None
    assert fixed_millis(pl.Series([], dtype=pl.String)) is None
    assert fixed_millis(pl.Series(["2024-03-01T12:00:00"])) is None  # no zone: inference
    assert fixed_millis(pl.Series(["2024-03-01T12:00:00+24:00"])) is None
    assert fixed_millis(pl.Series(["2024-02-29T23:59:59.999999999Z"])).tolist() == chrono(
        ["2024-02-29T23:59:59.999999999Z"])
    before_1970 = "1969-12-31T23:59:59.9985Z"  # floored, as chrono's instant then epoch("ms")
    assert fixed_millis(pl.Series([before_1970])).tolist() == chrono([before_1970]) == [-2]
