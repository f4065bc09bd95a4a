"""Where the logs come from: JSON-lines files (plain or gzip, mongoexport too) or a SQL table.

Each source is read whole; its logins go into the day buckets and its malformed lines come
back as bad rows with their line (a file's line number, a table's row number in key order).
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, Table, select
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from kpiflow.errors import ConfigError, DataDirMissing
from kpiflow.ingest import ledger
from kpiflow.ingest.discover import FoundFile, discover
from kpiflow.ingest.jsonlines import GZIP_MAGIC, parse_json_lines, read_json_lines
from kpiflow.ingest.quarantine import BadRow, printable
from kpiflow.packs.logins import fastpath
from kpiflow.packs.logins.buckets import DayBuckets
from kpiflow.packs.logins.events import Login, Matcher
from kpiflow.store.db import make_engine, redacted

SQL_SCHEMES = ("sqlite", "postgresql", "mysql", "mariadb")
BATCH = 10_000


@dataclass
class SourceRead:
    """One source as read: what it is, its lines and its malformed lines."""

    name: str
    lines: int = 0
    logins: int = 0
    bad: list[BadRow] = field(default_factory=list)
    file: FoundFile | None = None  # set for a file (the ledger records it)
    sha256: str = ""
    days: set[int] = field(default_factory=set)  # local day ordinals of its logins, any day


def is_database_url(source: str) -> bool:
    """True when the source names a database rather than a path."""
    scheme = source.split(":", 1)[0].split("+", 1)[0].lower()
    return "://" in source and scheme in SQL_SCHEMES


def _take(item: dict[str, Any], number: int, matcher: Matcher, buckets: DayBuckets,
          read: SourceRead) -> None:
    outcome = matcher.classify(item)
    if isinstance(outcome, Login):
        read.logins += 1
        buckets.add(outcome.at, outcome.user)
    elif outcome is not None:
        raw = printable(json.dumps(item, default=str).encode())
        read.bad.append(BadRow(number, outcome, raw))


def files_of(source: Path) -> list[FoundFile]:
    """The settled files of a folder (recursively), or the one file given."""
    if source.is_file():
        st = source.stat()
        return [FoundFile(source.name, source, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                          st.st_ino)]
    if not source.exists():
        raise DataDirMissing(f"logins source {source} does not exist")
    return discover(source)


def read_file(found: FoundFile, data: bytes, matcher: Matcher, buckets: DayBuckets,
              cid: str = "") -> SourceRead:
    """Read one JSON-lines file (its bytes `data`, their content id `cid` if already made)
    into the buckets, noting its days."""
    read = SourceRead(str(found.abspath), file=found, sha256=cid or ledger.content_id(data))
    buckets.touched = read.days
    content = _gunzip(data) if data[:2] == GZIP_MAGIC else data
    clean = None if content is None else fastpath.read_clean(content, matcher, buckets)
    if clean is not None:
        read.lines, read.logins = clean
        return read
    # The bytes already hashed are the ones parsed; a damaged gzip is read again to say where.
    items = (read_json_lines(found.abspath) if content is None
             else parse_json_lines(io.BytesIO(content)))
    for item in items:
        read.lines += 1
        if isinstance(item, BadRow):
            read.bad.append(item)
        else:
            _take(item.value, item.line, matcher, buckets, read)
    return read


def _gunzip(data: bytes) -> bytes | None:
    """The gzip content, or None when it is damaged (the line reader then says where)."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None


def read_table(url: str, table_name: str, matcher: Matcher, buckets: DayBuckets) -> SourceRead:
    """Read the log table of a database into the buckets (one bounded SELECT, streamed)."""
    read = SourceRead(f"{redacted(url)} table {table_name}")
    engine = make_engine(url)
    try:
        try:
            table = Table(table_name, MetaData(), autoload_with=engine)
        except NoSuchTableError:
            raise ConfigError(f"no table {table_name!r} in {redacted(url)}") from None
        wanted = (matcher.created, matcher.user, matcher.message)
        missing = [c for c in wanted if c not in table.c]
        if missing:
            raise ConfigError(f"table {table_name!r} has no column {', '.join(missing)}")
        stmt = select(*(table.c[c] for c in wanted)).order_by(*table.primary_key.columns)
        created = table.c[matcher.created]
        if isinstance(created.type, DateTime) and buckets.count:
            stmt = stmt.where(*_time_bounds(created, buckets))
        with engine.connect() as conn:
            rows = conn.execution_options(yield_per=BATCH).execute(stmt)
            for number, row in enumerate(rows, start=1):
                read.lines += 1
                _take(dict(zip(wanted, row, strict=True)), number, matcher, buckets, read)
    except SQLAlchemyError as exc:
        raise ConfigError(f"cannot read {read.name}: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()
    return read


def _time_bounds(created: Any, buckets: DayBuckets) -> Iterator[Any]:
    """Bound-parameter filters on a timestamp column: only the range's instants are read."""
    aware = bool(getattr(created.type, "timezone", False))
    for bound, keep in ((buckets.bounds[0], created.__ge__), (buckets.bounds[-1], created.__lt__)):
        moment = datetime.fromtimestamp(bound, UTC)
        yield keep(moment if aware else moment.replace(tzinfo=None))
