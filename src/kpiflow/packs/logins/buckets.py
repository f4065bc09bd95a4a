"""Logins sorted into the local days of a range, users turned into dictionary ids on the way.

Day boundaries are the UTC instants of each local midnight in the configured zone (so 23- and
25-hour days fall out of zoneinfo), and an event finds its day by bisection: no per-event time
zone conversion. Every login's day is also noted in `touched` (inside the range or not), so the
reader can record which days a file holds.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from kpiflow.packs.logins.daysets import Ids

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MAX_ORDINAL = date.max.toordinal()
FIRST_SECOND = datetime(1, 1, 2, tzinfo=UTC).timestamp()
LAST_SECOND = datetime(9999, 12, 30, tzinfo=UTC).timestamp()


def midnight(day: date, zone: ZoneInfo) -> float:
    """Unix seconds of the local midnight that starts `day` (the first instant of the day)."""
    return datetime.combine(day, time(), tzinfo=zone).timestamp()


def local_days(at: npt.NDArray[np.float64], zone: ZoneInfo) -> npt.NDArray[np.int64]:
    """The distinct local day ordinals (`date.toordinal`) of Unix seconds `at` in `zone`;
    instants whose local day is not a `date` (before year 1, after 9999) are left out."""
    at = at[(at > FIRST_SECOND) & (at < LAST_SECOND)]  # a day away from date's limits
    ms = pl.Series(np.floor(at * 1000).astype(np.int64))
    local = pl.from_epoch(ms, time_unit="ms").dt.replace_time_zone("UTC")
    days = local.dt.convert_time_zone(str(zone)).dt.date().unique().to_physical().to_numpy()
    ordinals = days.astype(np.int64) + EPOCH_ORDINAL
    return ordinals[(ordinals >= 1) & (ordinals <= MAX_ORDINAL)]


class DayBuckets:
    """Per-day user ids of the logins that fall in [first, last] (local days)."""

    def __init__(self, first: date, last: date, zone: ZoneInfo, names: dict[str, int]) -> None:
        self.first = first
        count = max((last - first).days + 1, 0)
        self.bounds = [midnight(first + timedelta(days=i), zone) for i in range(count + 1)]
        self.count = count
        self.ids = names  # name -> id: the stored dictionary, grown by new users
        self.new_names: list[str] = []
        self._next = max(names.values(), default=-1) + 1
        self.users: dict[int, array[int]] = {}
        self.logins: dict[int, int] = {}
        self.zone = zone
        self.touched: set[int] = set()  # day ordinals of the logins added since the last reset

    def add(self, at: float, user: str) -> None:
        """Count one login at Unix second `at`; outside the range it is ignored."""
        index = bisect_right(self.bounds, at) - 1
        if index < 0 or index >= self.count:
            self.touched.update(local_days(np.array([at]), self.zone).tolist())
            return
        self.touched.add(self.first.toordinal() + index)
        uid = self.ids.get(user)
        if uid is None:
            uid = self.ids[user] = self._next
            self._next += 1
            self.new_names.append(user)
        found = self.users.get(index)
        if found is None:
            found = self.users[index] = array("I")
            self.logins[index] = 0
        found.append(uid)
        self.logins[index] += 1

    def add_many(self, at: npt.NDArray[np.float64], names: pl.Series) -> None:
        """Count many logins at once (what `add` does for each, vectorised)."""
        index = np.searchsorted(np.asarray(self.bounds), at, side="right") - 1
        inside = (index >= 0) & (index < self.count)
        if not inside.all():
            self.touched.update(local_days(at[~inside], self.zone).tolist())
        if not inside.any():
            return
        index = index[inside]
        names = names.filter(pl.Series(inside))
        for name in names.unique(maintain_order=True).to_list():
            if name not in self.ids:
                self.ids[name] = self._next
                self._next += 1
                self.new_names.append(name)
        uids = names.replace_strict(self.ids, return_dtype=pl.UInt32).to_numpy()
        order = np.argsort(index, kind="stable")
        index, uids = index[order], uids[order]
        days, starts = np.unique(index, return_index=True)
        self.touched.update((days + self.first.toordinal()).tolist())
        for day, chunk in zip(days.tolist(), np.split(uids, starts[1:]), strict=True):
            found = self.users.get(day)
            if found is None:
                found = self.users[day] = array("I")
                self.logins[day] = 0
            found.frombytes(chunk.astype(np.uint32).tobytes())
            self.logins[day] += len(chunk)

    def day(self, index: int) -> date:
        """The local date of bucket `index`."""
        return self.first + timedelta(days=index)

    def first_with_data(self) -> date | None:
        """The earliest day holding a login, if any."""
        return self.day(min(self.users)) if self.users else None

    def distinct(self, index: int) -> Ids:
        """The sorted distinct user ids of one day."""
        found = self.users.get(index)
        if found is None:
            return np.zeros(0, dtype=np.uint32)
        return np.unique(np.frombuffer(found, dtype=np.uint32))
