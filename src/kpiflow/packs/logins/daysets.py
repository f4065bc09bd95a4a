"""One day's distinct users as bytes, and distinct counts over many days.

Users are dictionary ids (`logins_users`). A day is stored as a sorted little-endian uint32
array or as a bitmap (bit i = user i), whichever is smaller: a busy day of a dense dictionary is
a bitmap (1 bit per known user), a quiet day a short array (4 bytes per user). Counting a period
marks each day's users in one boolean array and counts them, so it is exact and never sums smaller periods.
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
    """Distinct users over several stored days; `nbytes` covers the largest id."""
    if not days:
        return 0
    seen = np.zeros(nbytes * 8, dtype=bool)
    for encoding, data in days:
        if encoding == BITMAP:
            bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
            seen[: bits.size] |= bits.view(bool)
        else:
            seen[np.frombuffer(data, dtype="<u4")] = True
    return int(np.count_nonzero(seen))
