"""The rules a valid network row obeys, as polars expressions (DESIGN.md).

Apart from `schema` so that the pass imports polars only when it has rows to check.
"""

import polars as pl

from kpiflow.ingest.validate import Rule
from kpiflow.packs.network.schema import (
    BYTES_MAX,
    END,
    FIVE_MINUTES_MS,
    INT64_MAX,
    LAST_START_MS,
    SERVICE_ID_MAX,
    START,
)

_start, _end = pl.col(START), pl.col(END)
_up, _down = pl.col("bytes_uplink"), pl.col("bytes_downlink")

# Order matters: a row is quarantined with the first rule it breaks.
RULES = (
    Rule("msisdn is negative", pl.col("msisdn") >= 0),
    Rule("bytes_uplink is negative", _up >= 0),
    Rule("bytes_downlink is negative", _down >= 0),
    Rule("cell_id is negative", pl.col("cell_id") >= 0),
    Rule(
        f"service_id is outside 0..{SERVICE_ID_MAX}",
        pl.col("service_id").is_between(0, SERVICE_ID_MAX),
    ),
    Rule("interval_start_timestamp is negative", _start >= 0),
    Rule("interval is not 5 minutes (end - start != 300000)", (_end - _start) == FIVE_MINUTES_MS),
    Rule("interval start is not aligned to 5 minutes", (_start % FIVE_MINUTES_MS) == 0),
    Rule("bytes_uplink + bytes_downlink exceeds 2^63-1", _up <= INT64_MAX - _down),
    Rule("interval_start_timestamp is after 9999-12-31T22:55Z", _start <= LAST_START_MS),
    Rule(f"bytes_uplink exceeds 2^48 ({BYTES_MAX})", _up <= BYTES_MAX),
    Rule(f"bytes_downlink exceeds 2^48 ({BYTES_MAX})", _down <= BYTES_MAX),
)
