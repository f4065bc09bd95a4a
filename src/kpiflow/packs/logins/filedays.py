"""Which local days each source file holds logins of: what lets a run skip unchanged files.

A file can hold lines of any day, so a run records, per file, the set of local days its logins
fall on (all of them, not only the run's range) and the rules they were read with. A later run
re-reads an unchanged file only when that set meets the days it extracts; a file read under
other rules (regex, excluded users, field names, time zone) counts as changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, select

from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.tables import files
from kpiflow.store.upsert import upsert

Ordinals = npt.NDArray[np.int32]


def rules_of(settings: LoginsSettings) -> str:
    """A fingerprint of everything that decides which lines count and on which day."""
    rules = [settings.logins_created_field, settings.logins_user_field,
             settings.logins_message_field, settings.logins_message_regex,
             sorted(settings.logins_exclude_users), settings.logins_timezone]
    return hashlib.sha256(json.dumps(rules).encode()).hexdigest()


@dataclass(frozen=True)
class FileDays:
    """The days one file held logins of when it was last read, and under which rules."""

    rules: str
    days: Ordinals  # sorted day ordinals (date.toordinal)

    def touches(self, first: date, last: date) -> bool:
        """True when one of the file's days lies in [first, last]."""
        at = int(np.searchsorted(self.days, first.toordinal()))
        return at < self.days.size and int(self.days[at]) <= last.toordinal()


def load(conn: Connection) -> dict[int, FileDays]:
    """Every file's recorded days, by ledger id."""
    rows = conn.execute(select(files.c.ledger_id, files.c.rules, files.c.days))
    return {int(i): FileDays(str(r), np.frombuffer(bytes(d), dtype="<i4").astype(np.int32))
            for i, r, d in rows}


def save(conn: Connection, ledger_id: int, rules: str, days: set[int]) -> None:
    """Record (replace) the days of the file of ledger entry `ledger_id`."""
    data = np.array(sorted(days), dtype="<i4").tobytes()
    upsert(conn, files, [{"ledger_id": ledger_id, "rules": rules, "days": data}],
           key=("ledger_id",))
