"""Find input files under a root, recursively, skipping names that are still in flight.

No entry can stop a pass: a symlink loop, a name that is not UTF-8, a path too long for the
ledger, a FIFO, socket or device comes back as a `FoundFile` with a `problem` (the reason),
which the pack records in the ledger; only regular files are ever opened, and never blocking.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kpiflow.errors import DataDirMissing

IN_FLIGHT_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
PATH_MAX_CHARS = 700
"""The ledger's path column (`ingest_ledger.path`); longer paths are stored shortened."""

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory",
}


class NotRegularFile(OSError):
    """The entry is not a regular file (FIFO, socket, device, directory): never read it."""


@dataclass(frozen=True)
class FoundFile:
    """A file as discovery saw it: path relative to the root, and what tells a change.

    mtime alone can be set back (rsync -t, cp -p); ctime and the inode cannot, so a file
    rewritten or replaced with the same size and mtime is still seen as possibly changed.
    `problem` is set for an entry that cannot be ingested: the reason the ledger records.
    """

    path: str
    abspath: Path
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    problem: str | None = None

    @property
    def stamp(self) -> tuple[int, int, int, int]:
        """Everything that, unchanged, means the content is unchanged."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)


def in_flight(name: str) -> bool:
    """True for names a writer uses before its final rename (dot files, temp suffixes)."""
    return name.startswith(".") or name.lower().endswith(IN_FLIGHT_SUFFIXES)


def ledger_path(rel: str) -> tuple[str, str | None]:
    """The text the ledger stores for a relative path, and why it is not the path itself.

    A name that is not UTF-8 (surrogate-escaped by Python) is stored with its undecodable bytes
    as `\\xNN`; a path longer than the ledger column is cut and suffixed with a hash of the
    whole, so two long paths never share an entry. The reason carries the full name.
    """
    raw = os.fsencode(rel)
    try:
        text, problem = raw.decode("utf-8"), None
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "backslashreplace")
        problem = f"file name is not valid UTF-8 (undecodable bytes shown as \\xNN): {text}"
    if len(text) > PATH_MAX_CHARS:
        digest = hashlib.sha256(raw).hexdigest()[:16]
        problem = problem or f"path is {len(text)} characters, more than {PATH_MAX_CHARS}: {text}"
        text = f"{text[: PATH_MAX_CHARS - 20]}...#{digest}"
    return text, problem


def open_regular(path: Path) -> int:
    """A file descriptor of `path` opened without blocking; raises NotRegularFile otherwise.

    O_NONBLOCK keeps a FIFO from hanging the open; the fstat check after opening catches an
    entry swapped for a FIFO or device between discovery and now.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise NotRegularFile(errno.EINVAL, kind, str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path, timeout: float | None = None) -> bytes:
    """The whole content of a regular file; raises NotRegularFile, ReadTimeout or OSError.

    With a `timeout` (seconds), a read not finished by then is given up (ReadTimeout).
    """
    fd = open_regular(path)
    if timeout is None:
        return _read_all(fd, threading.Event())
    return read_within(fd, timeout)


class ReadTimeout(OSError):
    """A file was not read whole within the read time limit (slow or hung storage)."""


_CHUNK = 16 << 20  # between chunks an abandoned read notices it was given up


def read_within(fd: int, timeout: float) -> bytes:
    """Read the rest of `fd` (which this takes over and closes) within `timeout` seconds.

    A read from a hung NFS or FUSE mount cannot be interrupted, so it runs in a daemon thread
    that the caller stops waiting for: the pass goes on, the thread holds only itself, the
    buffer and the descriptor, closed when the read returns, and it stops at its next chunk.
    A daemon thread never keeps the process from exiting.

    The buffer is allocated here, by the calling thread, and the bytes are made here too: a
    short-lived thread that allocates a file-sized buffer gets its own malloc arena, and glibc
    keeps freed arenas' memory, which doubled the peak RSS of a 12 M-row pass (1.2 GB instead
    of 0.55 GB, docs/benchmarks.md).
    """
    try:
        buffer = bytearray(os.fstat(fd).st_size + 1)  # one byte more to see the file's end
    except OSError:
        os.close(fd)
        raise
    box: list[tuple[int, bytes] | OSError] = []
    done, given_up = threading.Event(), threading.Event()

    def work() -> None:
        try:
            box.append(_read_into(fd, buffer, given_up))
        except OSError as exc:
            box.append(exc)
        finally:
            done.set()

    started = time.monotonic()
    threading.Thread(target=work, name="kpiflow-read", daemon=True).start()
    # A read that ended past the limit is over the limit too, however the threads were
    # scheduled: the rule does not depend on which thread ran first.
    if not done.wait(timeout) or time.monotonic() - started > timeout:
        given_up.set()
        raise ReadTimeout(errno.ETIMEDOUT, f"not read within {timeout:g} s (slow or hung "
                          "storage; KPIFLOW_READ_TIMEOUT_SECONDS)")
    result = box[0]
    if isinstance(result, OSError):
        raise result
    got, grown = result
    with memoryview(buffer) as view:
        return bytes(view[:got]) + grown if grown else bytes(view[:got])


def _read_into(fd: int, buffer: bytearray, given_up: threading.Event) -> tuple[int, bytes]:
    """Fill `buffer` from `fd`, then read what the file grew by beyond it; closes `fd`.

    Returns how many bytes of `buffer` were filled and the bytes past it (usually none)."""
    try:
        got = 0
        with memoryview(buffer) as view:
            while got < len(buffer) and not given_up.is_set():
                count = os.readv(fd, [view[got : got + _CHUNK]])
                if not count:
                    return got, b""
                got += count
        return got, _read_all(os.dup(fd), given_up) if not given_up.is_set() else b""
    finally:
        os.close(fd)


def _read_all(fd: int, given_up: threading.Event) -> bytes:
    """Every byte left in `fd`, chunk by chunk; closes it."""
    try:
        size, got, chunks = os.fstat(fd).st_size, 0, []
        while not given_up.is_set():
            # Sized by the file, one byte more to see its end: no oversized buffers to shrink.
            chunk = os.read(fd, min(_CHUNK, max(size - got + 1, 1 << 16)))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)  # one chunk is returned as it is, without a copy
    finally:
        os.close(fd)


def discover(root: Path) -> list[FoundFile]:
    """Every settled entry under `root`, sorted by relative path; links leaving root are skipped.

    Entries that cannot be ingested come back with their `problem` instead of being dropped.
    """
    if not root.is_dir():
        raise DataDirMissing(f"DATA_DIR {root} does not exist or is not a directory")
    real_root = root.resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(real_root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if in_flight(name):
                continue
            entry = _examine(Path(dirpath) / name, real_root)
            if entry is not None:
                found.append(entry)
    return sorted(found, key=lambda f: f.path)


def _examine(path: Path, real_root: Path) -> FoundFile | None:
    """What one directory entry is; None when it vanished or links outside the root."""
    rel, problem = ledger_path(path.relative_to(real_root).as_posix())
    try:
        st = path.lstat()
    except OSError:  # vanished between listing and stat: next run sees it
        return None
    if stat.S_ISLNK(st.st_mode):
        try:
            target = path.resolve(strict=True)
            if not target.is_relative_to(real_root):
                return None
            st = path.stat()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
            looped = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
            problem = problem or ("symlink loop" if looped else
                                  f"broken symlink: {getattr(exc, 'strerror', None) or exc}")
    if problem is None and not stat.S_ISREG(st.st_mode):
        problem = f"not a regular file: {_KINDS.get(stat.S_IFMT(st.st_mode), 'unknown kind')}"
    return FoundFile(rel, path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, problem)
