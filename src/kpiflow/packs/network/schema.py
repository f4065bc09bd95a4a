"""The network input: required columns and the bounds a valid row obeys (DESIGN.md; the
rules themselves, as polars expressions, are in `rules`)."""

START = "interval_start_timestamp"
END = "interval_end_timestamp"
COLUMNS = (START, END, "msisdn", "bytes_uplink", "bytes_downlink", "service_id", "cell_id")

FIVE_MINUTES_MS = 300_000
HOUR_MS = 3_600_000
INT64_MAX = 2**63 - 1
SERVICE_ID_MAX = 2**31 - 1
# The last interval start whose hour still ends on a date (9999-12-31T23:00Z ends at year
# 10000, which no datetime, API date or dashboard can show): starts run 1970..9999-12-31T22:55Z.
LAST_START_MS = 253_402_297_200_000 - FIVE_MINUTES_MS
# Per-row bound on each byte count: 2^48 B (256 TiB in 5 minutes, 7.5 Tbit/s for one
# subscriber, service and cell) is far beyond any real link, and a service's hour overflows
# the BIGINT column only past 16,384 such rows; the rare interval that still overflows is
# recomputed alone and reported, never blocking the others (recompute.py).
BYTES_MAX = 2**48


def interval_from_name(name: str) -> int | None:
    """The 5-minute interval start named by `ipflow_data.ts-<END ms>.<part>.txt`, if any."""
    marker = name.rfind("ts-")
    if marker < 0:
        return None
    digits = name[marker + 3 :].split(".", 1)[0]
    if not digits.isdigit():
        return None
    start = int(digits) - FIVE_MINUTES_MS
    return start if start >= 0 and start % FIVE_MINUTES_MS == 0 else None
