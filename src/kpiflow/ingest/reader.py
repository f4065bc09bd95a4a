"""Read a CSV file into a typed frame, with every bad row accounted for: the one CSV reader.

Columns are matched by header name (any order, any case, aliases allowed; extra columns
ignored). `read_int_csv` types every wanted column as Int64: a valid field is an optional sign
and ASCII digits that fit in int64, spaces and tabs around it tolerated, no quoting (a quote
makes the field invalid). `read_text_csv` keeps the wanted columns as stripped strings (quoting
allowed) for a pack to type; `kpiflow.ingest.validate.check_rows` applies its row rules.
Blank lines carry no row; `gunzip` opens a gzip file recognised by its magic bytes.

Well-formed files take one polars parse. A file with any structural doubt (a field that did not
parse, a blank line, a field count that does not add up) is re-read line by line, so that each
bad row is reported with its own line number, reason and raw text, and the good rows still count.
Both paths parse integers with the same polars reader, so they agree on what a valid value is.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kpiflow.ingest.jsonlines import GZIP_MAGIC
from kpiflow.ingest.quarantine import BadRow, printable
from kpiflow.registry import lazy_modules

# Loaded at first use: a pass with nothing to parse never pays for them (issue 15).
if TYPE_CHECKING:
    import numpy as np
    import polars as pl
else:
    np, pl = lazy_modules("numpy", "polars")

BOM = b"\xef\xbb\xbf"
INT_BYTES = b"0123456789+-"  # a field with any other byte cannot be an integer
LINE = "__line"


class FileRejected(Exception):
    """The file as a whole is unusable (no header, not text); the ledger records why."""


@dataclass(frozen=True)
class ParsedCsv:
    """Rows whose fields all parsed (Int64 columns plus `__line`), and the rows that did not."""

    frame: pl.DataFrame
    bad: list[BadRow]


def header_names(data: bytes) -> list[str]:
    """Column names of the first line, as polars reads them (BOM and CR removed)."""
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)].removeprefix(BOM).rstrip(b"\r")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        raise FileRejected("first line is not UTF-8 text; expected a CSV header") from None
    return text.split(",")


def match_columns(names: list[str], wanted: Mapping[str, Sequence[str]]) -> list[int]:
    """The header index of each wanted column (accepted names compared lower-case, blanks
    around them ignored); FileRejected names what is missing or repeated."""
    normalized = [n.strip().lower() for n in names]
    found = {c: [i for i, n in enumerate(normalized) if n in aliases]
             for c, aliases in wanted.items()}
    missing = [" or ".join(wanted[c]) for c, at in found.items() if not at]
    if missing:
        raise FileRejected(f"header lacks required column(s): {', '.join(missing)}")
    dupes = [" or ".join(wanted[c]) for c, at in found.items() if len(at) > 1]
    if dupes:
        raise FileRejected(f"header repeats column(s): {', '.join(dupes)}")
    return [at[0] for at in found.values()]


def gunzip(data: bytes) -> bytes:
    """The bytes of a gzip file (recognised by its magic bytes), else `data` as it is."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise FileRejected(f"not a readable gzip file: {exc}") from None


def _data_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Each non-blank line after the header, CR removed, with its 1-based line number."""
    for number, raw in enumerate(data.split(b"\n")[1:], start=2):
        raw = raw.rstrip(b"\r")
        if raw.strip():
            yield number, raw


def field_count_row(number: int, raw: bytes, found: int, expected: int) -> BadRow:
    """The bad row of a line with the wrong number of fields."""
    return BadRow(number, f"expected {expected} fields, found {found}", printable(raw))


def _parse(
    data: bytes, names: list[str], indices: list[int], columns: Sequence[str]
) -> pl.DataFrame:
    frame = pl.read_csv(
        data,
        has_header=True,
        columns=indices,
        schema_overrides={names[i]: pl.Int64 for i in indices},
        quote_char=None,
        ignore_errors=True,
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
        raise_if_empty=False,
    )
    renames = {names[i]: c for i, c in zip(indices, columns, strict=True)}
    return frame.rename(renames).select(columns)


def int_csv_header(data: bytes, columns: tuple[str, ...]) -> tuple[list[str], list[int]]:
    """The header's names and the index of each of `columns`; FileRejected when the file is
    empty or its header unusable (the checks `read_int_csv` makes before any row)."""
    if not data or data.isspace():
        raise FileRejected("file is empty")
    names = header_names(data)
    return names, match_columns(names, {c: (c,) for c in columns})


def read_int_csv(data: bytes, columns: tuple[str, ...]) -> ParsedCsv:
    """Parse `data` (a whole file) keeping `columns`, matched by header name in any order."""
    names, indices = int_csv_header(data, columns)
    # Byte counts in numpy: a few ms a file where bytes.count and two-byte `in` scans took
    # more than the parse itself. Blank lines need no scan of their own: polars reads each
    # one as a row of nulls, which sends the file to the line-exact path below.
    newlines, commas = _count_bytes(data, b"\n"[0], b","[0])
    lines = newlines + (0 if data.endswith(b"\n") else 1)
    clean = (
        commas == (len(names) - 1) * lines
        and b" " not in data
        and b"\t" not in data
        # With columns beyond the required ones, a long row and a row short of an unused
        # column can balance the total, and the parser would not notice: count per line.
        and (len(names) == len(columns) or _fields_per_line_are(data, len(names)))
    )
    if clean:
        try:
            frame = _parse(data, names, indices, columns)
        except pl.exceptions.PolarsError:
            frame = None
        complete = frame is not None and frame.height == lines - 1
        if frame is not None and complete and frame.null_count().sum_horizontal()[0] == 0:
            line = pl.int_range(2, frame.height + 2, dtype=pl.Int64, eager=True).alias(LINE)
            return ParsedCsv(frame.with_columns(line), [])
    return _read_line_by_line(data, names, indices, columns)


def _fields_per_line_are(data: bytes, fields: int) -> bool:
    """True when every line of `data` has exactly `fields` comma-separated fields."""
    octets = np.frombuffer(data, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(octets == ord("\n")) + 1))
    starts = starts[starts < len(octets)]
    per_line = np.add.reduceat(octets == ord(","), starts, dtype=np.int64)
    return bool(np.all(per_line == fields - 1))


def _count_bytes(data: bytes, first: int, second: int, step: int = 1 << 18) -> tuple[int, int]:
    """How often two byte values occur, a cache-sized slice at a time (no file-sized temporary)."""
    octets = np.frombuffer(data, dtype=np.uint8)
    hits = np.empty(min(step, len(octets)), dtype=np.bool_)
    counts = [0, 0]
    for lo in range(0, len(octets), step):
        chunk = octets[lo : lo + step]
        out = hits[: len(chunk)]
        for k, value in enumerate((first, second)):
            np.equal(chunk, value, out=out)
            counts[k] += int(np.count_nonzero(out))
    return counts[0], counts[1]


def _read_line_by_line(
    data: bytes, names: list[str], indices: list[int], columns: tuple[str, ...]
) -> ParsedCsv:
    bad: list[BadRow] = []
    numbers: list[int] = []
    bodies: list[bytes] = []  # the required fields only, stripped: what the parser gets
    originals: dict[int, bytes] = {}
    for number, raw in _data_lines(data):
        fields = raw.split(b",")
        if len(fields) != len(names):
            bad.append(field_count_row(number, raw, len(fields), len(names)))
            continue
        wanted = [fields[i].strip() for i in indices]
        odd = next((c for c, f in zip(columns, wanted, strict=True)
                    if f.translate(None, INT_BYTES)), None)
        if odd is not None:
            bad.append(BadRow(number, not_int_reason(odd, wanted[columns.index(odd)]), printable(raw)))
            continue
        numbers.append(number)
        bodies.append(b",".join(wanted))
        originals[number] = raw
    if not bodies:
        return ParsedCsv(_empty(columns), sorted(bad, key=lambda b: b.line))
    body = b"\n".join([",".join(columns).encode(), *bodies]) + b"\n"
    frame = _parse(body, list(columns), list(range(len(columns))), columns)
    frame = frame.with_columns(pl.Series(LINE, numbers, dtype=pl.Int64))
    nulls = frame.filter(pl.any_horizontal(pl.col(c).is_null() for c in columns))
    for row in nulls.iter_rows(named=True):
        failed = next(c for c in columns if row[c] is None)
        raw = originals[row[LINE]]
        value = raw.split(b",")[indices[columns.index(failed)]].strip()
        bad.append(BadRow(row[LINE], not_int_reason(failed, value), printable(raw)))
    bad.sort(key=lambda b: b.line)
    return ParsedCsv(frame.drop_nulls(columns), bad)


def not_int_reason(column: str, value: bytes) -> str:
    """Why a field is not an integer, with its (stripped) value."""
    return f"{column}: not a 64-bit integer: {printable(value)!r}"


def _empty(columns: Sequence[str]) -> pl.DataFrame:
    schema = {c: pl.Int64 for c in columns} | {LINE: pl.Int64}
    return pl.DataFrame(schema=schema)


def read_text_csv(data: bytes, wanted: Mapping[str, Sequence[str]]) -> ParsedCsv:
    """The `wanted` columns ({column: accepted header names}) as stripped strings with line
    numbers; rows with the wrong field count are bad rows. Quoted fields are allowed."""
    data = data.removeprefix(BOM)
    if not data.strip():
        raise FileRejected("file is empty")
    names = [n.strip().strip('"') for n in header_names(data)]  # a quoted header is fine here
    indices = match_columns(names, wanted)
    columns = list(wanted)
    newlines, commas = _count_bytes(data, b"\n"[0], b","[0])
    lines = newlines + (0 if data.endswith(b"\n") else 1)
    # Every line has the header's field count (so no blank lines) and nothing is quoted.
    clean = commas == (len(names) - 1) * lines and b'"' not in data and _is_utf8(data)
    if clean and lines > 1:
        try:
            frame: pl.DataFrame | None = pl.read_csv(
                data, has_header=False, skip_rows=1, columns=indices,
                infer_schema=False, quote_char=None, raise_if_empty=False)
        except pl.exceptions.PolarsError:  # e.g. a long row balancing a short one
            frame = None
        if frame is not None and frame.height == lines - 1:
            frame = frame.rename({f"column_{i}": c for c, i in zip(columns, indices,
                                                                   strict=True)})
            frame = frame.select(columns)
            if _padded(frame):
                frame = frame.with_columns(pl.all().str.strip_chars())
            line = pl.int_range(2, frame.height + 2, dtype=pl.Int64, eager=True).alias(LINE)
            return ParsedCsv(frame.with_columns(line), [])
    return _text_line_by_line(data, names, indices, columns)


def _text_line_by_line(
    data: bytes, names: list[str], indices: list[int], columns: list[str]
) -> ParsedCsv:
    bad: list[BadRow] = []
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, raw in _data_lines(data):
        fields = next(csv.reader(io.StringIO(raw.decode("utf-8", "replace"))))
        if len(fields) != len(names):
            bad.append(field_count_row(number, raw, len(fields), len(names)))
            continue
        rows.append([fields[i].strip() for i in indices])
        numbers.append(number)
    frame = pl.DataFrame(rows, schema={c: pl.String for c in columns}, orient="row")
    return ParsedCsv(frame.with_columns(pl.Series(LINE, numbers, dtype=pl.Int64)), bad)


def _padded(frame: pl.DataFrame) -> bool:
    """True when some field starts or ends with white space (then every field is stripped)."""
    checks = [getattr(pl.all().str, f"{side}_with")(c) for side in ("starts", "ends")
              for c in (" ", "\t")]
    return bool(frame.select(pl.any_horizontal([c.any() for c in checks])).item())


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True

