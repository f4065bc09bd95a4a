"""Logins sorted into the local days of a range, users turned into dictionary ids on the way.

Day boundaries are the UTC instants of each local midnight in the configured zone (so 23- and
25-hour days fall out of zoneinfo), and an event finds its day by bisection: no per-event time
zone conversion. Every login's day is also noted in `touched` (inside the range or not), so the
reader can record which days a file holds.
"""

from __future__ import annotations

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


def sorted_unique(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The distinct values, sorted (a sort and a compare: numpy 2's `unique` hashes, and is
    many times slower on large int arrays)."""
    ordered = np.sort(values)
    keep = np.empty(ordered.size, dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def local_days(at: npt.NDArray[np.float64], zone: ZoneInfo) -> npt.NDArray[np.int64]:
    """The distinct local day ordinals (`date.toordinal`) of Unix seconds `at` in `zone`;
    instants whose local day is not a `date` (before year 1, after 9999) are left out."""
    at = at[(at > FIRST_SECOND) & (at < LAST_SECOND)]  # a day away from date's limits
    ms = pl.Series(np.floor(at * 1000).astype(np.int64))
    local = pl.from_epoch(ms, time_unit="ms").dt.replace_time_zone("UTC")
    days = local.dt.convert_time_zone(str(zone)).dt.date().unique().to_physical().to_numpy()
    ordinals = days.astype(np.int64) + EPOCH_ORDINAL
    return ordinals[(ordinals >= 1) & (ordinals <= MAX_ORDINAL)]


def _codes(names: pl.Series) -> tuple[pl.Series, npt.NDArray[np.int64]]:
    """The distinct names and, per name, the index of its distinct name.

    Names are told apart by a 64-bit hash (the strings are hashed once, the rest works on
    integers: a fifth of the CPU of a string `unique`), then every name is compared with the
    distinct name of its hash; if two names ever share a hash, the strings decide instead.
    """
    hashes = names.hash(0)
    first = hashes.arg_unique()
    distinct = names.gather(first)
    codes = hashes.replace_strict(hashes.gather(first), pl.int_range(first.len(), eager=True),
                                  return_dtype=pl.Int64)
    if not (distinct.gather(codes) == names).all():  # a hash collision: exact, slower
        distinct = names.unique()
        codes = names.replace_strict(distinct, pl.int_range(distinct.len(), eager=True),
                                     return_dtype=pl.Int64)
    return distinct, codes.to_numpy()


class DayBuckets:
    """Per-day user ids of the logins that fall in [first, last] (local days).

    Logins are collected as (day, name) chunks; `finish` maps the names to dictionary ids once,
    for all sources together (a join, not a lookup per login), and groups them by day.
    """

    def __init__(self, first: date, last: date, zone: ZoneInfo, names: dict[str, int]) -> None:
        self.first = first
        count = max((last - first).days + 1, 0)
        self.bounds = [midnight(first + timedelta(days=i), zone) for i in range(count + 1)]
        self._bounds = np.asarray(self.bounds)
        self.count = count
        self.ids = names  # name -> id: the stored dictionary, grown by new users in `finish`
        self.new_names: list[str] = []
        self.zone = zone
        self.touched: set[int] = set()  # day ordinals of the logins added since the last reset
        self.logins: dict[int, int] = {}
        self._days: list[npt.NDArray[np.int32]] = []
        self._names: list[pl.Series] = []
        self._one_days: list[int] = []
        self._one_names: list[str] = []
        self._users: dict[int, Ids] = {}

    def add(self, at: float, user: str) -> None:
        """Count one login at Unix second `at`; outside the range it is ignored."""
        index = bisect_right(self.bounds, at) - 1
        if index < 0 or index >= self.count:
            self.touched.update(local_days(np.array([at]), self.zone).tolist())
            return
        self.touched.add(self.first.toordinal() + index)
        self._one_days.append(index)
        self._one_names.append(user)

    def add_many(self, at: npt.NDArray[np.float64], names: pl.Series) -> None:
        """Count many logins at once (what `add` does for each, vectorised)."""
        index = np.searchsorted(self._bounds, at, side="right") - 1
        inside = (index >= 0) & (index < self.count)
        if not inside.all():
            self.touched.update(local_days(at[~inside], self.zone).tolist())
            index, names = index[inside], names.filter(pl.Series(inside))
        if index.size == 0:
            return
        present = np.flatnonzero(np.bincount(index, minlength=self.count))
        self.touched.update((present + self.first.toordinal()).tolist())
        self._days.append(index.astype(np.int32))
        self._names.append(names.cast(pl.String))

    def finish(self) -> None:
        """Give new users ids (in name order) and group the distinct ids by day."""
        if self._one_days:
            self._days.append(np.array(self._one_days, dtype=np.int32))
            self._names.append(pl.Series(self._one_names, dtype=pl.String))
            self._one_days, self._one_names = [], []
        if not self._days:
            return
        days = np.concatenate(self._days).astype(np.int64)
        names = pl.concat(self._names)
        self._days, self._names = [], []
        counts = np.bincount(days, minlength=self.count)
        self.logins = {int(i): int(counts[i]) for i in np.flatnonzero(counts)}
        distinct, codes = _codes(names)
        # The Python loop runs once per distinct user, never per login.
        id_of_code = np.empty(distinct.len(), dtype=np.int64)
        next_id = max(self.ids.values(), default=-1) + 1
        order = distinct.arg_sort()
        for code, name in zip(order.to_list(), distinct.gather(order).to_list(), strict=True):
            uid = self.ids.get(name)
            if uid is None:
                uid = self.ids[name] = next_id
                next_id += 1
                self.new_names.append(name)
            id_of_code[code] = uid
        pairs = sorted_unique((days << 32) | id_of_code[codes])  # by day, then id
        ids = (pairs & 0xFFFFFFFF).astype(np.uint32)
        # Where each day starts among the sorted pairs: a search per day, not a pass per pair.
        bounds = np.searchsorted(pairs, np.arange(self.count + 1, dtype=np.int64) << 32)
        for day in np.flatnonzero(np.diff(bounds)).tolist():
            self._users[day] = ids[bounds[day]:bounds[day + 1]]

    def day(self, index: int) -> date:
        """The local date of bucket `index`."""
        return self.first + timedelta(days=index)

    def first_with_data(self) -> date | None:
        """The earliest day holding a login, if any (after `finish`)."""
        return self.day(min(self._users)) if self._users else None

    def distinct(self, index: int) -> Ids:
        """The sorted distinct user ids of one day (after `finish`)."""
        found = self._users.get(index)
        return np.zeros(0, dtype=np.uint32) if found is None else found
