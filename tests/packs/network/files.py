"""Build network input files the way real feeds deliver them, quirks included."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .reference import REQUIRED

HOUR = 3_600_000
FIVE = 300_000


def render(
    rows: Sequence[Sequence[object]],
    *,
    order: Sequence[str] = REQUIRED,
    extra: Sequence[str] = (),
    crlf: bool = False,
    bom: bool = False,
    final_newline: bool = True,
) -> bytes:
    """CSV bytes: `rows` are in REQUIRED order; columns written in `order` plus `extra` ones."""
    header = [*order, *extra]
    lines = [",".join(header)]
    for row in rows:
        by_name = dict(zip(REQUIRED, row, strict=True))
        values = [str(by_name[c]) for c in order] + [f"x{i}" for i in range(len(extra))]
        lines.append(",".join(values))
    eol = "\r\n" if crlf else "\n"
    text = eol.join(lines) + (eol if final_newline else "")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def row(start: int, msisdn: int, up: int, down: int, service: int, cell: int) -> tuple[int, ...]:
    """A valid row of the 5-minute interval starting at `start`."""
    return (start, start + FIVE, msisdn, up, down, service, cell)


def deliver(path: Path, data: bytes) -> None:
    """Write a file as feeds do: to a temporary name, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def name(end_ms: int, part: int) -> str:
    """The seed naming scheme."""
    return f"ipflow_data.ts-{end_ms}.{part}.txt"
