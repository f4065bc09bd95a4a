"""One day's distinct users as bytes, and distinct counts over many days.

Users are dictionary ids (`logins_users`). A day is stored as a sorted little-endian uint32
array or as a bitmap (bit i = user i), whichever is smaller: a busy day of a dense dictionary is
a bitmap (1 bit per known user), a quiet day a short array (4 bytes per user). Counting a period
ORs the days' sets and counts the bits, so it is exact and never sums smaller periods.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

IDS, BITMAP = 0, 1

Ids = npt.NDArray[np.uint32]
Bits = npt.NDArray[np.uint8]


def encode(ids: Ids) -> tuple[int, bytes]:
    """The smaller encoding of a sorted, distinct id array: (encoding, bytes)."""
    if ids.size == 0:
        return IDS, b""
    bitmap_bytes = int(ids[-1]) // 8 + 1
    if bitmap_bytes < ids.size * 4:
        return BITMAP, to_bitmap(ids, bitmap_bytes).tobytes()
    return IDS, ids.astype("<u4").tobytes()


def to_bitmap(ids: Ids, nbytes: int) -> Bits:
    """A bitmap of `nbytes` bytes with the bits of `ids` set (bit order: little)."""
    mask = np.zeros(nbytes * 8, dtype=bool)
    mask[ids] = True
    return np.packbits(mask, bitorder="little")


def decode(encoding: int, data: bytes) -> Ids:
    """The sorted ids of a stored day."""
    if encoding == BITMAP:
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
        return np.flatnonzero(bits).astype(np.uint32)
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def distinct(days: Sequence[tuple[int, bytes]], nbytes: int) -> int:
    """Distinct users over several stored days; `nbytes` covers the largest id.

    Bitmaps are ORed as they are stored (a byte holds 8 users) and id arrays marked in one
    boolean array packed once at the end, so a union costs about a byte operation per 8 known
    users per busy day; the count is a popcount.
    """
    if not days:
        return 0
    packed = np.zeros(nbytes, dtype=np.uint8)
    marked: npt.NDArray[np.bool_] | None = None
    for encoding, data in days:
        if encoding == BITMAP:
            bits = np.frombuffer(data, dtype=np.uint8)
            packed[: bits.size] |= bits
        elif data:
            if marked is None:
                marked = np.zeros(nbytes * 8, dtype=bool)
            marked[np.frombuffer(data, dtype="<u4")] = True
    if marked is not None:
        packed |= np.packbits(marked, bitorder="little")
    return int(np.bitwise_count(packed).sum())
