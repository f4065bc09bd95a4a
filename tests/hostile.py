"""The shared table of hostile inputs: directory entries, row values and request parameters.

Every hostile-input test module draws from here, so a value found to break one input path is
tried against all of them.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

INT64_MAX = 2**63 - 1
# Timestamps (ms) just outside and just inside the documented range 1970-01-01 ..
# 9999-12-31T22:55Z (interval starts whose hour still ends within a datetime and int64).
LAST_START_MS = 253_402_297_200_000 - 300_000
PAST_RANGE_MS = 253_402_300_800_000  # 10000-01-01T00:00Z: beyond every datetime
NEAR_INT64_START_MS = (INT64_MAX - 300_000) // 300_000 * 300_000  # hour end overflows int64

HOSTILE_TEXT = [
    "\x00", "a\x00b", "%", "%%", "_", "%s", "'; DROP TABLE x; --", "\\", "\u202e", "é",
    "x" * 10_000, "\ud800",
]
"""Strings that have broken something somewhere: NUL, LIKE wildcards, format markers, quotes,
a right-to-left override, a huge value and a lone surrogate."""

HOSTILE_INTS = ["9223372036854775808", "-9223372036854775809", "99999999999999999999", "1e400",
                "NaN", "-0", "0x10", " 1"]

HOSTILE_INSTANTS = ["9999-12-31T23:59:59.999999", "0001-01-01T00:00:00+01:00",
                    "10000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2024-02-30T00:00:00Z"]

HOSTILE_DURATIONS = ["99999999999999999999d", "-1d", "1e9d", "P1000000000D"]


def _symlink_loop(root: Path) -> None:
    (root / "loop").symlink_to(root / "loop")


def _symlink_pair_loop(root: Path) -> None:
    (root / "ping").symlink_to(root / "pong")
    (root / "pong").symlink_to(root / "ping")


def _broken_symlink(root: Path) -> None:
    (root / "dangling.txt").symlink_to(root / "nowhere.txt")


def _not_utf8_name(root: Path) -> None:
    (Path(os.fsdecode(bytes(root) + b"/caf\xe9-\xff.txt"))).write_bytes(b"x\n")


def _long_path(root: Path) -> None:
    deep = root
    for i in range(4):
        deep = deep / (f"d{i}" + "x" * 200)
    deep.mkdir(parents=True)
    (deep / "long.txt").write_bytes(b"x\n")


def _fifo(root: Path) -> None:
    os.mkfifo(root / "pipe.txt")


def _socket(root: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock.txt"))
    sock.close()  # the socket file stays; nothing listens on it


def _symlink_to_device(root: Path) -> None:
    (root / "zero.txt").symlink_to("/dev/zero")  # outside the root: skipped, never read


def _symlink_to_fifo(root: Path) -> None:
    os.mkfifo(root / ".hidden-pipe")
    (root / "to-pipe.txt").symlink_to(root / ".hidden-pipe")


def _unreadable(root: Path) -> None:
    path = root / "secret.txt"
    path.write_bytes(b"x\n")
    path.chmod(0)


HOSTILE_ENTRIES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # name: (make it under a root, ledger status, a word the recorded reason contains)
    "symlink loop": (_symlink_loop, "rejected", "symlink loop"),
    "symlink pair loop": (_symlink_pair_loop, "rejected", "symlink loop"),
    "broken symlink": (_broken_symlink, "rejected", "broken symlink"),
    "name not UTF-8": (_not_utf8_name, "rejected", "not valid UTF-8"),
    "path over 700 characters": (_long_path, "rejected", "more than 700"),
    "FIFO": (_fifo, "rejected", "FIFO"),
    "socket": (_socket, "rejected", "socket"),
    "symlink to a FIFO": (_symlink_to_fifo, "rejected", "FIFO"),
    "unreadable file": (_unreadable, "unreadable", "Permission denied"),
}
"""Directory entries that must never stop a pass; `_symlink_to_device` points outside the
root, which discovery skips (tested on its own)."""

OUTSIDE_LINKS = {"symlink to /dev/zero": _symlink_to_device}


@contextmanager
def write_lease(path: Path) -> Iterator[None]:
    """Hold a write lease on `path` (what Samba oplocks and NFS delegations use): any other
    process's open of it blocks until the lease is given back or the kernel's lease-break
    time (45 s by default) passes; an open with O_NONBLOCK fails at once with EAGAIN."""
    ignored = signal.signal(signal.SIGIO, signal.SIG_IGN)  # the break notice; the default kills
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
        yield
    finally:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        os.close(fd)
        signal.signal(signal.SIGIO, ignored)


_PASS = """
import json, sys
from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.packs.network.config import NetworkSettings
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
url, data, state = sys.argv[1:4]
packs = discover_packs()
runtime = Runtime.build(Settings(database_url=url, data_dir=data, state_dir=state), packs)
pack = next(p for p in packs if p.name == "network")
print(json.dumps(run_job(runtime, pack, "ingest", pack_settings=NetworkSettings()).counts()))
"""
# Root reads any file whatever its mode; without these two capabilities it obeys the mode bits
# like any other user, which is how kpiflow runs in production.
_NO_READ_BYPASS = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
                   "--inh-caps", "-dac_override,-dac_read_search", "--"]


def network_pass_in_process(url: str, data: Path, state: Path, timeout: float = 120) -> dict:
    """Run one network pass in a real child process that obeys file modes; its counts.

    A timeout fails the test instead of hanging it (a FIFO read once did that forever).
    """
    import json
    import subprocess
    import sys

    prefix = _NO_READ_BYPASS if os.geteuid() == 0 else []
    done = subprocess.run([*prefix, sys.executable, "-c", _PASS, url, str(data), str(state)],
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_network_pass(url: str, data: Path, state: Path | None, **network: object) -> dict:
    """One network pass in this process, through core's run_job; its counts (`state` None:
    the default state folder)."""
    from kpiflow.config import Settings
    from kpiflow.lifecycle import run_job
    from kpiflow.packs.network.config import NetworkSettings
    from kpiflow.registry import discover_packs
    from kpiflow.runtime import Runtime

    packs = discover_packs()
    runtime = Runtime.build(Settings(database_url=url, data_dir=data, state_dir=state), packs)
    try:
        pack = next(p for p in packs if p.name == "network")
        summary = run_job(runtime, pack, "ingest", pack_settings=NetworkSettings(**network))
    finally:
        runtime.close()
    return summary.counts()
