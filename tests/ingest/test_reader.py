"""The CSV reader: whatever the bytes, every data line is a kept row, a bad row or blank,
and the fast path and the line-by-line path agree with a plain-Python model (hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpiflow.ingest.reader import FileRejected, read_int_csv

COLUMNS = ("a", "b", "c")
INTEGER = re.compile(rb"[+-]?[0-9]+")


def model(data: bytes) -> tuple[list[tuple[int, ...]], list[int]] | None:
    """(kept rows with their line, bad line numbers), or None when the file is rejected."""
    if not data.strip():
        return None
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    try:
        names = [n.strip().lower() for n in lines[0].rstrip(b"\r").decode().split(",")]
    except UnicodeDecodeError:
        return None
    if any(names.count(c) != 1 for c in COLUMNS):
        return None
    where = [names.index(c) for c in COLUMNS]
    kept, bad = [], []
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        fields = line.split(b",")
        values = [fields[i].strip() for i in where] if len(fields) == len(names) else None
        if values and all(INTEGER.fullmatch(v) and -(2**63) <= int(v) < 2**63 for v in values):
            kept.append((*(int(v) for v in values), number))
        else:
            bad.append(number)
    return kept, bad


def read(data: bytes) -> tuple[list[tuple[int, ...]], list[int]] | None:
    try:
        parsed = read_int_csv(data, COLUMNS)
    except FileRejected:
        return None
    return [tuple(r) for r in parsed.frame.iter_rows()], [b.line for b in parsed.bad]


field = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.integers(0, 99).map(lambda i: f"+{i}"),
    st.integers(0, 99).map(lambda i: f" {i}\t"),
    st.integers(2**63, 2**64).map(str),
    st.sampled_from(["", "x", "1.5", '"7"', "1e3", "0x1F", "--1", "+", "5-3", "\x00", "é"]),
)
line = st.one_of(
    st.lists(field, min_size=3, max_size=3).map(",".join),
    st.lists(field, min_size=0, max_size=5).map(",".join),
    st.just(""), st.just("   "),
)
header = st.sampled_from(["a,b,c", "c,a,b", " A ,b,C", "a,b,c,extra", "a,b", "a,a,b,c"])


@settings(max_examples=400, deadline=None)
@given(header=header, lines=st.lists(line, max_size=12), crlf=st.booleans(), bom=st.booleans(),
       final=st.booleans())
def test_reader_agrees_with_the_model(header: str, lines: list[str], crlf: bool, bom: bool,
                                      final: bool) -> None:
    eol = "\r\n" if crlf else "\n"
    text = eol.join([header, *lines]) + (eol if final else "")
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    assert read(data) == model(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_never_raise_past_the_file(data: bytes) -> None:
    assert read(b"a,b,c\n" + data) == model(b"a,b,c\n" + data)
    read(data)  # rejected or read; nothing else


def test_clean_file_is_read_in_one_pass_and_numbered() -> None:
    kept, bad = read(b"a,b,c\r\n1,2,3\r\n4,5,6")
    assert kept == [(1, 2, 3, 2), (4, 5, 6, 3)] and bad == []


@pytest.mark.parametrize("data, reason", [
    (b"", "file is empty"),
    (b"\xff\xfe\x00a,b,c\n", "not UTF-8"),
    (b"a,b\n1,2\n", "lacks required column(s): c"),
    (b"a,b,c,a\n1,2,3,4\n", "repeats column(s): a"),
])
def test_rejections_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(FileRejected, match=re.escape(reason)):
        read_int_csv(data, COLUMNS)


def test_huge_line_and_many_columns() -> None:
    wide = b",".join(b"%d" % i for i in range(10_000))
    data = b"a,b,c\n1,2,3\n" + wide + b"\n" + b"9" * 1_000_000 + b"\n"
    parsed = read_int_csv(data, COLUMNS)
    assert [b.line for b in parsed.bad] == [3, 4]
    assert parsed.bad[0].reason == "expected 3 fields, found 10000"
    assert len(parsed.bad[1].raw) < 2100  # kept as its start, marked truncated


def test_long_and_short_rows_that_balance_are_both_caught() -> None:
    # With an unused extra column, a long row and a row missing that column keep the
    # total comma count of a clean file; both must still be reported.
    data = b"a,b,c,extra\n1,2,3,x,y\n4,5,6\n7,8,9,z\n"
    kept, bad = read(data)
    assert (kept, bad) == ([(7, 8, 9, 4)], [2, 3]) == model(data)
