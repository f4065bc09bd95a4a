"""An obviously-correct reference for the network KPIs: plain Python, no shared code.

It reads the bytes of every file, applies the DESIGN.md row rules one row at a time, and
ranks with Python's sort. Tests compare the pipeline's tables to it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

REQUIRED = ("interval_start_timestamp", "interval_end_timestamp", "msisdn", "bytes_uplink",
            "bytes_downlink", "service_id", "cell_id")
INTEGER = re.compile(rb"[+-]?[0-9]+")
LO, HI = -(2**63), 2**63 - 1

Row = tuple[int, int, int, int, int, int, int]
Kpis = dict[tuple[str, int, int], list[tuple[int, int, int]]]  # (kpi, start, minutes) -> ranks


def parse(data: bytes) -> tuple[list[Row], int] | None:
    """Valid rows and the number of bad rows; None when the file is rejected whole."""
    if not data.strip():
        return None
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    try:
        names = [n.strip().lower() for n in lines[0].rstrip(b"\r").decode("utf-8").split(",")]
    except UnicodeDecodeError:
        return None
    if any(names.count(c) != 1 for c in REQUIRED):
        return None
    where = [names.index(c) for c in REQUIRED]
    rows, bad = [], 0
    for line in lines[1:]:
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        fields = line.split(b",")
        if len(fields) != len(names):
            bad += 1
            continue
        values = [fields[i].strip() for i in where]
        if not all(INTEGER.fullmatch(v) and LO <= int(v) <= HI for v in values):
            bad += 1
            continue
        row = tuple(int(v) for v in values)
        if valid(row):
            rows.append(row)
        else:
            bad += 1
    return rows, bad


def valid(row: Row) -> bool:
    """The DESIGN.md rules for a row whose fields are all int64."""
    start, end, msisdn, up, down, service, cell = row
    return (
        msisdn >= 0 and up >= 0 and down >= 0 and cell >= 0
        and 0 <= service <= 2**31 - 1
        and start >= 0 and end - start == 300_000 and start % 300_000 == 0
        and up + down <= HI
        and start <= 253_402_297_200_000 - 300_000  # the last 5 minutes whose hour ends in 9999
        and up <= 2**48 and down <= 2**48
    )


def kpis(contents: Iterable[bytes], top_n: int) -> Kpis:
    """Both KPIs for every 5-minute interval and hour, over the distinct contents given."""
    volume: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    users: dict[tuple[int, int], dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for data in set(contents):
        parsed = parse(data)
        if parsed is None:
            continue
        for start, _end, msisdn, up, down, service, cell in parsed[0]:
            for minutes in (5, 60):
                bucket = start - start % (minutes * 60_000)
                volume[(bucket, minutes)][service] += up + down
                users[(bucket, minutes)][cell].add(msisdn)
    out: Kpis = {}
    for (bucket, minutes), per_service in volume.items():
        out[("service", bucket, minutes)] = _top(per_service, top_n)
    for (bucket, minutes), per_cell in users.items():
        out[("cell", bucket, minutes)] = _top({c: len(s) for c, s in per_cell.items()}, top_n)
    return out


def _top(values: dict[int, int], n: int) -> list[tuple[int, int, int]]:
    ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [(rank, ident, value) for rank, (ident, value) in enumerate(ranked, start=1)]
