"""Per-content partial state on disk: Parquet files written atomically (temp file + rename).

A content is named by its sha256, so identical bytes delivered twice share one state, and a
state file is either absent or complete: readers never see a half-written file. Each file
carries the sha256 of its data in its own Parquet metadata (one atomic file, no sidecar that
a crash could leave out of step), verified before the file is used; a folder is bound to one
database by an identity written in both.

A verdict is remembered in the folder's `VERIFIED` list under the file's stat identity (name,
size, modification and change times, inode): a file written or verified once is not read back
by later passes while that identity holds. Any write to a file, even one that restores its
modification time, moves its change time (which no user call can set back), so the next pass
verifies it again; `state check` always verifies. Without the list, every late file re-read
and re-hashed all the state of its hour before the KPI query read it once more.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from kpiflow.errors import StateError
from kpiflow.registry import lazy_modules

# Loaded at first use: a pass with nothing to parse never pays for them (issue 15).
if TYPE_CHECKING:
    import polars as pl
else:
    (pl,) = lazy_modules("polars")

CHECKSUM_KEY = "kpiflow.sha256"
IDENTITY_FILE = "DATABASE_ID"
VERIFIED_FILE = "VERIFIED"
UNVERIFIABLE = "is unverifiable: it has no checksum"




def _numpy_ints() -> tuple[type[pl.DataType], ...]:
    """The integer types hashed by their raw values (not Int128: numpy has no such type)."""
    return (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def data_digest(frame: pl.DataFrame) -> str:
    """sha256 of a frame's names, types and values: the same for a frame and its read-back.

    Integer columns hash their raw values; others (the 128-bit decimal sums, few rows) their
    text. Not the IPC bytes: those carry flags (sortedness) a Parquet round trip drops.
    """
    digest = hashlib.sha256()
    for column in frame.get_columns():
        digest.update(f"{column.name}:{column.dtype}:{column.len()}\n".encode())
        if column.dtype in _numpy_ints() and not column.has_nulls():
            digest.update(column.to_numpy().tobytes())
        else:
            digest.update("\n".join(column.cast(pl.String).fill_null("\x00").to_list()).encode())
    return digest.hexdigest()


def _identity(path: Path, st: os.stat_result) -> str:
    """What must stay the same for a verdict on a state file to hold."""
    return f"{path.name} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}"


class StateStore:
    """The state files of one pack under the state directory."""

    def __init__(self, root: Path, pack: str) -> None:
        self.root = root / pack
        self._verified: set[str] | None = None  # stat identities, loaded at first use
        self._trust_lock = threading.Lock()

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
            frame.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True,
                                metadata={CHECKSUM_KEY: data_digest(frame)})
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
            # Its checksum was just computed from the frame itself: no pass needs to read it
            # back to verify it (that was a second read of every new state file).
            self._trust(_identity(target, os.stat(target)))
        except (OSError, pl.exceptions.PolarsError) as exc:  # polars reports ENOSPC its own way
            tmp.unlink(missing_ok=True)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (
                str(exc).splitlines() or [type(exc).__name__])[0]
            raise StateError(f"cannot write state under {self.root}: {reason}") from exc

    def problem(self, sha256: str, kind: str, *, strict: bool = False) -> str | None:
        """Why the `kind` state of a content cannot be used (missing, damaged), or None.

        A file written or verified once keeps its verdict while its stat identity holds (the
        module's docstring says why that is safe), so a state file is read back once at most.
        A file written before checksums existed is used by passes as it is; `strict` (the state
        check) verifies every file and reports such a file as unverifiable, so that a repair
        rewrites it with a checksum.
        """
        path = self.path(sha256, kind)
        try:
            st = path.stat()
        except FileNotFoundError:
            return f"state file {path} is missing"
        except OSError as exc:
            return f"state file {path} cannot be read: {exc.strerror or exc}"
        key = _identity(path, st)
        if not strict and key in self._trusted():
            return None
        try:
            expected = pl.read_parquet_metadata(path).get(CHECKSUM_KEY)
            digest = data_digest(pl.read_parquet(path)) if expected is not None else None
        except (OSError, pl.exceptions.PolarsError, ValueError) as exc:
            return f"state file {path} is damaged: {(str(exc).splitlines() or ['unreadable'])[0]}"
        if expected is not None and digest != expected:
            return f"state file {path} is damaged: its checksum does not match its data"
        self._trust(key)  # files written before checksums existed are taken as they are
        if expected is None and strict:
            return f"state file {path} {UNVERIFIABLE} (written before checksums existed)"
        return None

    def _trusted(self) -> set[str]:
        with self._trust_lock:
            if self._verified is None:
                try:
                    listed = (self.root / VERIFIED_FILE).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    listed = ""  # none yet, or unreadable: files are verified again
                self._verified = set(listed.splitlines())
            return self._verified

    def _trust(self, identity: str) -> None:
        trusted = self._trusted()
        with self._trust_lock:  # worker threads of one pass write and verify at once
            if identity in trusted:
                return
            trusted.add(identity)
            try:
                with open(self.root / VERIFIED_FILE, "a", encoding="utf-8") as listed:
                    listed.write(identity + "\n")
            except OSError:
                pass  # only a memory of verdicts: without it, files are verified again

    def _forget_gone(self, files: list[Path]) -> None:
        """Rewrite the list without the identities of files gone or changed, once they are
        at least half of it (so that it is not rewritten by every pass)."""
        trusted = self._trusted()
        live = {_identity(f, f.stat()) for f in files if f.exists()}
        kept = trusted & live
        if len(trusted) - len(kept) < max(len(kept), 64):
            return
        listed = self.root / VERIFIED_FILE
        tmp = listed.with_name(f".{VERIFIED_FILE}.{os.getpid()}.tmp")
        try:
            tmp.write_text("".join(f"{k}\n" for k in sorted(kept)), encoding="utf-8")
            os.replace(tmp, listed)
        except OSError:
            tmp.unlink(missing_ok=True)
            return
        with self._trust_lock:
            self._verified = kept

    def verify(self, sha256: str, kinds: tuple[str, ...]) -> None:
        """Raise StateError naming the content when any of its `kinds` states is unusable."""
        problems = [p for k in kinds if (p := self.problem(sha256, k)) is not None]
        if problems:
            raise StateError(f"state of content {sha256} cannot be used: {'; '.join(problems)}")

    def intact(self, sha256: str, kinds: tuple[str, ...]) -> bool:
        """True when every `kind` state of the content is present and verified."""
        return all(self.problem(sha256, k) is None for k in kinds)

    def bind(self, database_id: str | None) -> str:
        """Bind this folder to one database: returns the identity the database must keep.

        `database_id` is what the database recorded, None at first use: then a new identity is
        returned for the caller to commit first, and a second call writes it into the folder
        (a crash in between leaves a folder without identity, which the next pass adopts).
        A folder holding another identity is refused: sharing one folder would let one
        database's prune delete state the other still needs.
        """
        marker = self.root / IDENTITY_FILE
        try:
            found = marker.read_text().strip() if marker.is_file() else None
            if found is not None and found != database_id:
                mine = f"this database's is {database_id}" if database_id else "this database has none"
                raise StateError(
                    f"the state folder {self.root} belongs to another database (identity {found}; "
                    f"{mine}): set KPIFLOW_STATE_DIR to this database's own folder"
                )
            if database_id is None:
                return uuid.uuid4().hex
            if found is None:
                self.root.mkdir(parents=True, exist_ok=True)
                tmp = marker.with_name(f".{IDENTITY_FILE}.{os.getpid()}.tmp")
                tmp.write_text(database_id + "\n")
                os.replace(tmp, marker)
            return database_id
        except OSError as exc:
            raise StateError(f"cannot write state under {self.root}: {exc.strerror or exc}") from exc

    def remove_temporaries(self) -> int:
        """Delete temp files a killed pass left behind; returns how many. Call under the lock."""
        removed = 0
        if self.root.is_dir():
            for tmp in self.root.glob("*/.*.tmp"):
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed

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
        files = list(self.root.glob("*/*.parquet"))
        for file in files:
            if file.name.split(".", 1)[0] not in keep:
                file.unlink(missing_ok=True)
                removed += 1
        self._forget_gone(files)
        return removed

    def size_bytes(self) -> int:
        """Bytes on disk of all state files."""
        return sum(f.stat().st_size for f in self.root.glob("*/*.parquet")) if self.root.is_dir() else 0
