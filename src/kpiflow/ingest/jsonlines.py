"""Read JSON-lines text (plain or gzip) line by line: each line an object, or a bad row.

A line that is not a JSON object is reported as a `BadRow` with its 1-based line number and
raw text, never raised; blank lines carry nothing; a name repeated in an object keeps its first
value. Gzip is recognised by its magic bytes, not
by the file name. A truncated gzip stream yields what could be read, then one bad row saying so.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import BufferedIOBase
from pathlib import Path
from typing import Any

from kpiflow.ingest.quarantine import BadRow, printable

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class JsonLine:
    """One object read from a JSON-lines source, with its 1-based line number."""

    line: int
    value: dict[str, Any]


def _open(path: Path) -> BufferedIOBase:
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, which closes it
    if handle.read(2) == GZIP_MAGIC:
        # A GzipFile given a fileobj never closes it: let gzip open (and close) the file.
        handle.close()
        return gzip.open(path, "rb")
    handle.seek(0)
    return handle


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose name repeats keeps the first value. RFC 8259 leaves it open; polars'
    reader (the logins pack's fast path) keeps the first, so a file reads the same either way."""
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    first: dict[str, Any] = {}
    for name, item in pairs:
        first.setdefault(name, item)
    return first


def read_json_lines(path: Path) -> Iterator[JsonLine | BadRow]:
    """Every object of a JSON-lines file (gzip or plain), or a BadRow for each bad line."""
    with _open(path) as raw:
        yield from parse_json_lines(raw)


def parse_json_lines(stream: Iterable[bytes]) -> Iterator[JsonLine | BadRow]:
    """Every object of a binary JSON-lines stream, or a BadRow for each bad line."""
    number = 0
    try:
        for number, line in enumerate(stream, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                value = json.loads(text, object_pairs_hook=_first_wins)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield BadRow(number, f"not JSON: {exc}", printable(text))
                continue
            if not isinstance(value, dict):
                yield BadRow(number, "not a JSON object", printable(text))
                continue
            yield JsonLine(number, value)
    except (EOFError, OSError, zlib.error) as exc:  # a truncated or corrupt gzip stream
        yield BadRow(number + 1, f"unreadable after line {number}: {exc}", "")
