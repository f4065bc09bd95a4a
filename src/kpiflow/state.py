"""Per-content partial state on disk: Parquet files written atomically (temp file + rename).

A content is named by its sha256, so identical bytes delivered twice share one state, and a
state file is either absent or complete: readers never see a half-written file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import polars as pl

from kpiflow.errors import StateError


class StateStore:
    """The state files of one pack under the state directory."""

    def __init__(self, root: Path, pack: str) -> None:
        self.root = root / pack

    def path(self, sha256: str, kind: str) -> Path:
        """Where the `kind` state of a content lives."""
        return self.root / sha256[:2] / f"{sha256}.{kind}.parquet"

    def has(self, sha256: str, kinds: tuple[str, ...]) -> bool:
        """True when every `kind` state of the content is on disk."""
        return all(self.path(sha256, k).is_file() for k in kinds)

    def write(self, sha256: str, kind: str, frame: pl.DataFrame) -> None:
        """Write one state file atomically and durably."""
        target = self.path(sha256, kind)
        # Per thread too: worker threads of one pass may write the same content at once.
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # zstd level 1: in the profile, faster to write than the default level and no larger
            frame.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except (OSError, pl.exceptions.PolarsError) as exc:  # polars reports ENOSPC its own way
            tmp.unlink(missing_ok=True)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (
                str(exc).splitlines() or [type(exc).__name__])[0]
            raise StateError(f"cannot write state under {self.root}: {reason}") from exc

    def ensure_variant(self, variant: str, decided_by: str, unmarked: str) -> None:
        """Refuse to mix states of different forms: `variant` names this pass's form,
        `decided_by` the setting that chose it (for the message), `unmarked` the form of
        states written before the pack marked its forms."""
        marker = self.root / "VARIANT"
        try:
            if marker.is_file():
                found = marker.read_text().strip()
                if found != variant:
                    raise StateError(
                        f"the state under {self.root} was built as {found!r}, not {variant!r} "
                        f"({decided_by} changed): point KPIFLOW_STATE_DIR "
                        "at an empty folder and use a new database to re-ingest"
                    )
                return
            self.root.mkdir(parents=True, exist_ok=True)
            if any(self.root.glob("*/*.parquet")) and unmarked != variant:
                raise StateError(
                    f"the state under {self.root} is {unmarked!r}, not {variant!r} "
                    f"({decided_by} changed)")
            marker.write_text(variant + "\n")
        except OSError as exc:
            raise StateError(f"cannot write state under {self.root}: {exc.strerror or exc}") from exc

    def prune(self, keep: set[str]) -> int:
        """Delete state of contents no longer referenced; returns how many files went."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for file in self.root.glob("*/*.parquet"):
            if file.name.split(".", 1)[0] not in keep:
                file.unlink(missing_ok=True)
                removed += 1
        return removed

    def size_bytes(self) -> int:
        """Bytes on disk of all state files."""
        return sum(f.stat().st_size for f in self.root.glob("*/*.parquet")) if self.root.is_dir() else 0
