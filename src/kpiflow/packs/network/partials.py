"""One file's content turned into the compact partial state the KPIs are computed from."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from kpiflow.ingest.quarantine import BadRow, printable
from kpiflow.ingest.reader import LINE, read_int_csv
from kpiflow.ingest.validate import apply_rules, raw_lines
from kpiflow.packs.network.schema import COLUMNS, RULES, START

PAIRS = "pairs"  # distinct (interval_start_timestamp, cell_id, msisdn)
BYTES = "bytes"  # (interval_start_timestamp, service_id) -> total_bytes, exact 128-bit sums
KINDS = (PAIRS, BYTES)


@dataclass(frozen=True)
class Partials:
    """The state of one content: both partials, valid rows per interval and the bad rows."""

    pairs: pl.DataFrame
    byte_sums: pl.DataFrame
    rows_per_interval: dict[int, int]
    bad: list[BadRow]

    @property
    def rows(self) -> int:
        """Valid rows."""
        return sum(self.rows_per_interval.values())


def build(data: bytes) -> Partials:
    """Parse and validate a whole file; raises FileRejected when it has no usable header."""
    parsed = read_int_csv(data, COLUMNS)
    valid, broken = apply_rules(parsed.frame, RULES)
    bad = list(parsed.bad)
    if broken:
        texts = raw_lines(data, [line for line, _ in broken])
        bad += [BadRow(line, reason, printable(texts[line])) for line, reason in broken]
        bad.sort(key=lambda b: b.line)
    valid = valid.drop(LINE).lazy()
    pairs, byte_sums, counts = pl.collect_all(
        [
            valid.select(START, "cell_id", "msisdn").unique(),
            valid.group_by(START, "service_id").agg(
                (pl.col("bytes_uplink") + pl.col("bytes_downlink"))
                .cast(pl.Int128)
                .sum()
                .cast(pl.Decimal(38, 0))
                .alias("total_bytes")
            ),
            valid.group_by(START).len(),
        ]
    )
    return Partials(pairs, byte_sums, dict(counts.iter_rows()), bad)
