"""The parse, validation and per-file state of new contents, built on Spark (the spark engine).

The driver reads each header (it hashes every file anyway) and decides the column layout with
the same code as the one-process reader, so a rejected file gets the same reason. Spark then reads
every new content by path, checks that its sha256 is still the one the driver saw (a file
rewritten meanwhile waits for the next pass), and, one task per file, splits the lines, types the
fields and applies the row rules exactly as `kpiflow.ingest.reader` and `rules.RULES` do: lines
are decoded as ISO-8859-1, one character per byte, so every byte test and every raw bad line is
exact. The partials are aggregated on the cluster and written as Parquet under a staging folder
beside the state; the driver turns each content's staging files into the ordinary state files
(`StateStore.write`: same format, same checksum), so either engine reads what the other wrote.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from kpiflow.engine.spark_engine import SparkEngine, file_uri
from kpiflow.ingest.quarantine import BadRow, printable
from kpiflow.ingest.reader import field_count_row, int_csv_header, not_int_reason
from kpiflow.packs.network import partials, privacy
from kpiflow.packs.network.rules import RULES
from kpiflow.packs.network.schema import (
    BYTES_MAX,
    COLUMNS,
    END,
    FIVE_MINUTES_MS,
    INT64_MAX,
    LAST_START_MS,
    SERVICE_ID_MAX,
    START,
)
from kpiflow.state import StateStore

STAGING = ".spark-"  # staging folders under the pack's state folder: <root>/.spark-<run>/
WHITE_CHARS = " \t\n\r\x0b\x0c"  # what Python's bytes.strip() removes
PAIRS_SCHEMA = {START: pl.Int64, "cell_id": pl.Int64, "msisdn": pl.Int64}
BYTES_SCHEMA = {START: pl.Int64, "service_id": pl.Int64, "total_bytes": pl.Decimal(38, 0),
                "rows": pl.Int64}


@dataclass(frozen=True)
class Pending:
    """A content to build on Spark: where it is, and its header as the driver read it."""

    path: Path
    names: list[str]
    indices: list[int]
    sha256: str  # what Spark checks the bytes it reads against (it has no BLAKE3)


def pending(path: Path, data: bytes) -> Pending:
    """The layout of a file to build on Spark; FileRejected when it has no usable header."""
    names, indices = int_csv_header(data, COLUMNS)
    return Pending(path, names, indices, hashlib.sha256(data).hexdigest())


def _rules(f: Any) -> list[Any]:
    """`rules.RULES` as Spark columns, in the same order (a test checks the reasons match)."""
    c = f.col
    up, down, start = c("bytes_uplink"), c("bytes_downlink"), c(START)
    return [
        c("msisdn") >= 0,
        up >= 0,
        down >= 0,
        c("cell_id") >= 0,
        c("service_id").between(0, SERVICE_ID_MAX),
        start >= 0,
        (c(END) - start) == FIVE_MINUTES_MS,
        (start % FIVE_MINUTES_MS) == 0,
        up <= f.lit(INT64_MAX) - down,
        start <= LAST_START_MS,
        up <= BYTES_MAX,
        down <= BYTES_MAX,
    ]


RULE_COUNT = len(RULES)


def _classified(spark: Any, todo: dict[str, Pending]) -> Any:
    """Every data line of every content: its typed fields, or why it is bad (kind, which).

    Built-in string functions only, no Python: `trim` with the six bytes Python's strip()
    removes, one combined character check for the common all-digit line (the per-field check
    and the value of a bad field are worked out only on the lines it flags: CASE WHEN evaluates
    lazily), and `try_cast`, which on a field of signs and digits alone accepts exactly
    `[+-]?[0-9]+` within int64. A valid line keeps no raw text."""
    from pyspark.sql import functions as f

    # Each content's layout by its sha256, as a map literal: no join, and no Python worker to
    # turn a driver-side list into rows.
    layout = f.create_map(*[x for sha, p in todo.items() for x in (
        f.lit(p.sha256), f.struct(f.lit(sha).alias("sha"), f.lit(len(p.names)).alias("expected"),
                                  f.array(*[f.lit(i) for i in p.indices]).alias("idx")))])
    paths = [file_uri(p.path) for p in todo.values() if p.path.is_file()]
    contents = (spark.read.format("binaryFile").load(paths)
                .select(f.element_at(layout, f.sha2(f.col("content"), 256)).alias("layout"),
                        "content")
                .where(f.col("layout").isNotNull())
                .select("layout.sha", "layout.expected", "layout.idx", "content"))
    lines = contents.select(
        "sha", "expected", "idx",
        f.posexplode(f.split(f.decode(f.col("content"), "ISO-8859-1"), "\n", -1)).alias("pos", "line"))
    white = f.lit(WHITE_CHARS)
    line = f.col("line")
    raw = f.when(line.endswith("\r"), f.rtrim(line, f.lit("\r"))).otherwise(line)
    # The header line stays (kind "header") so that a content without data rows is found too.
    lines = (lines.select("sha", "expected", "idx", (f.col("pos") + 1).alias("line_no"),
                          raw.alias("raw"))
             .where((f.col("line_no") == 1) | (f.trim(f.col("raw"), white) != "")))
    fields = f.split(f.col("raw"), ",", -1)
    values = [f.trim(f.element_at(fields, f.col("idx")[k] + 1), white)
              for k in range(len(COLUMNS))]
    lines = lines.select("sha", "line_no", "raw", "expected", f.size(fields).alias("found"),
                         *[v.alias(f"v{k}") for k, v in enumerate(values)])
    v = [f.col(f"v{k}") for k in range(len(COLUMNS))]
    # A line of wanted fields made of digits and signs only (and the commas that join them)
    # has no odd field: one check instead of one per field.
    odd_somewhere = f.concat_ws(",", *v).rlike(r"[^0-9+\-,]")
    odd = f.when(odd_somewhere,
                 f.coalesce(*[f.when(v[k].rlike(r"[^0-9+\-]"), k) for k in range(len(COLUMNS))]))
    typed = [f.expr(f"try_cast(v{k} AS BIGINT)") for k in range(len(COLUMNS))]
    lines = lines.select("sha", "line_no", "raw", "expected", "found", *v,
                         odd.alias("odd"),
                         *[x.alias(name) for name, x in zip(COLUMNS, typed, strict=True)])
    unparsed = f.coalesce(*[f.when(f.col(name).isNull(), k) for k, name in enumerate(COLUMNS)])
    broken = f.coalesce(*[f.when(~ok, k) for k, ok in enumerate(_rules(f))])
    kind = (f.when(f.col("line_no") == 1, f.lit("header"))
            .when(f.col("found") != f.col("expected"), f.lit("fields"))
            .when(f.col("odd").isNotNull(), f.lit("odd"))
            .when(unparsed.isNotNull(), f.lit("int"))
            .when(broken.isNotNull(), f.lit("rule")))
    lines = lines.select("sha", "line_no", "raw", "expected", "found", "odd", *v, *COLUMNS,
                         kind.alias("kind"))
    bad = f.col("kind").isNotNull()
    which = (f.when(f.col("found") != f.col("expected"), f.col("found"))
             .when(f.col("odd").isNotNull(), f.col("odd"))
             .otherwise(f.coalesce(unparsed, broken)))
    value = f.element_at(f.array(*v), f.coalesce(f.col("odd"), unparsed, f.lit(0)) + 1)
    return lines.select("sha", "line_no", f.when(bad, f.col("raw")).alias("raw"), "expected",
                        "kind", f.when(bad, which).alias("which"),
                        f.when(f.col("kind").isin("odd", "int"), value).alias("value"), *COLUMNS)


def _bad_row(line: int, raw: str, expected: int, kind: str, which: int, value: str | None
             ) -> BadRow:
    """A bad row worded as the one-process reader words it (`raw` and `value` are ISO-8859-1)."""
    raw_bytes = raw.encode("latin-1")
    if kind == "fields":
        return field_count_row(line, raw_bytes, which, expected)
    if kind == "rule":
        return BadRow(line, RULES[which].reason, printable(raw_bytes))
    assert value is not None  # an odd or unparsed field has its value
    return BadRow(line, not_int_reason(COLUMNS[which], value.encode("latin-1")),
                  printable(raw_bytes))


class SparkBuilder:
    """Builds the state of many contents in one Spark job; the driver writes the state files."""

    def __init__(self, engine: SparkEngine, store: StateStore, secret: str | None) -> None:
        self._engine, self._store, self._secret = engine, store, secret

    def build(self, todo: dict[str, Pending]) -> dict[str, partials.Counts]:
        """The counts of each content built; a content Spark did not find with the same sha256
        (changed or gone since it was hashed) is left out, so it waits for the next pass."""
        if not todo:
            return {}
        from pyspark import StorageLevel

        spark = self._engine.session
        spark.conf.set("spark.sql.files.ignoreMissingFiles", "true")
        self._remove_staging()
        staging = self._store.root / f"{STAGING}{uuid.uuid4().hex}"
        classified = _classified(spark, todo).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            # One collect: each content's header line (so every content found is known, with
            # or without data rows) and its bad lines.
            bad: dict[str, list[BadRow]] = {}
            for r in classified.where("kind IS NOT NULL").drop(*COLUMNS).collect():
                rows = bad.setdefault(r["sha"], [])
                if r["kind"] != "header":
                    rows.append(_bad_row(r["line_no"], r["raw"], r["expected"], r["kind"],
                                         r["which"], r["value"]))
            found = set(bad)
            valid = classified.where("kind IS NULL")
            (valid.select("sha", START, "cell_id", "msisdn").distinct()
             .write.partitionBy("sha").parquet(file_uri(staging / partials.PAIRS)))
            from pyspark.sql import functions as f

            total = (f.col("bytes_uplink") + f.col("bytes_downlink")).cast("decimal(38,0)")
            (valid.groupBy("sha", START, "service_id")
             .agg(f.sum(total).alias("total_bytes"), f.count(f.lit(1)).alias("rows"))
             .write.partitionBy("sha").parquet(file_uri(staging / partials.BYTES)))
            return {sha: self._store_content(staging, sha, todo[sha], bad[sha]) for sha in found}
        finally:
            classified.unpersist()
            shutil.rmtree(staging, ignore_errors=True)

    def _store_content(self, staging: Path, sha: str, layout: Pending, bad: list[BadRow]
                       ) -> partials.Counts:
        """Write one content's state files from its staging files; its counts."""
        pairs = _staged(staging / partials.PAIRS / f"sha={sha}", PAIRS_SCHEMA)
        sums = _staged(staging / partials.BYTES / f"sha={sha}", BYTES_SCHEMA)
        bad.sort(key=lambda b: b.line)
        if self._secret:
            pairs = privacy.pseudonymize(pairs, self._secret)
            bad = privacy.redact(bad, layout.names, self._secret)
        self._store.write(sha, partials.PAIRS, pairs)
        self._store.write(sha, partials.BYTES, sums.drop("rows"))
        per_interval = sums.group_by(START).agg(pl.col("rows").sum())
        return partials.Counts({s: int(n) for s, n in sorted(per_interval.iter_rows())}, bad)

    def _remove_staging(self) -> None:
        """Staging folders a killed pass left behind (the caller holds the pack's lock)."""
        if self._store.root.is_dir():
            for old in self._store.root.glob(f"{STAGING}*"):
                shutil.rmtree(old, ignore_errors=True)


def _staged(folder: Path, schema: dict[str, Any]) -> pl.DataFrame:
    """A content's staging files as one frame in the state's types (none: an empty frame)."""
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return pl.DataFrame(schema=schema)
    return pl.concat([pl.read_parquet(p) for p in files]).select(
        [pl.col(name).cast(dtype) for name, dtype in schema.items()])
