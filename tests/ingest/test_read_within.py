"""Reading a file whole under a time limit: every byte, whatever the size, and what it grew by."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from kpiflow.ingest.discover import _CHUNK, _read_into, read_regular


@pytest.mark.parametrize("size", [0, 1, _CHUNK - 1, _CHUNK, _CHUNK + 1, 2 * _CHUNK + 5])
def test_every_byte_comes_back_across_chunk_boundaries(tmp_path: Path, size: int) -> None:
    content = os.urandom(size)
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    assert read_regular(path, timeout=60) == content
    assert read_regular(path) == content  # no limit: read in the calling thread


def test_bytes_beyond_the_size_seen_at_open_are_read_too(tmp_path: Path) -> None:
    # The file grew after its size was taken: the buffer fills, the rest is read after it.
    path = tmp_path / "growing.txt"
    content = b"0123456789" * 10
    path.write_bytes(content)
    fd = os.open(path, os.O_RDONLY)
    buffer = bytearray(11)
    got, grown = _read_into(fd, buffer, threading.Event())
    assert (got, bytes(buffer), grown) == (11, content[:11], content[11:])
    with pytest.raises(OSError):
        os.fstat(fd)  # closed by the read


def test_a_given_up_read_stops_and_closes_its_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"x" * 1000)
    fd = os.open(path, os.O_RDONLY)
    given_up = threading.Event()
    given_up.set()
    assert _read_into(fd, bytearray(1001), given_up) == (0, b"")
    with pytest.raises(OSError):
        os.fstat(fd)
