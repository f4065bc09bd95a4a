"""Find input files under a root, recursively, skipping names that are still in flight."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kpiflow.errors import DataDirMissing

IN_FLIGHT_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")


@dataclass(frozen=True)
class FoundFile:
    """A file as discovery saw it: path relative to the root, and what tells a change.

    mtime alone can be set back (rsync -t, cp -p); ctime and the inode cannot, so a file
    rewritten or replaced with the same size and mtime is still seen as possibly changed.
    """

    path: str
    abspath: Path
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @property
    def stamp(self) -> tuple[int, int, int, int]:
        """Everything that, unchanged, means the content is unchanged."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)


def in_flight(name: str) -> bool:
    """True for names a writer uses before its final rename (dot files, temp suffixes)."""
    return name.startswith(".") or name.lower().endswith(IN_FLIGHT_SUFFIXES)


def discover(root: Path) -> list[FoundFile]:
    """Every settled file under `root`, sorted by relative path; links leaving root are skipped."""
    if not root.is_dir():
        raise DataDirMissing(f"DATA_DIR {root} does not exist or is not a directory")
    real_root = root.resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(real_root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if in_flight(name):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                continue
            try:
                st = path.stat()
            except OSError:  # vanished between listing and stat: next run sees it
                continue
            rel = path.relative_to(real_root).as_posix()
            found.append(FoundFile(rel, path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return sorted(found, key=lambda f: f.path)
