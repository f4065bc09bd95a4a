"""What a log line means: its instant (ISO text or mongoexport forms), user and message.

`Matcher.classify` turns one decoded object (a JSON line or a SQL row) into the Unix second and
user of a login, None for a line that is not a login, or a reason string for a malformed line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kpiflow.packs.logins.config import LoginsSettings


def instant(value: Any) -> float:
    """Unix seconds of a `created` value: ISO 8601 text (UTC if no zone), a datetime (UTC if
    naive), epoch milliseconds, or mongoexport's `{"$date": ...}` holding any of those or
    `{"$numberLong": "<ms>"}`. Raises ValueError for anything else."""
    if isinstance(value, dict):
        if "$date" in value:
            return instant(value["$date"])
        if "$numberLong" in value:
            return int(value["$numberLong"]) / 1000
        raise ValueError(f"unknown date object {sorted(value)}")
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
    elif isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return value / 1000
    else:
        raise ValueError(f"not a date: {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class Login:
    """One login: Unix seconds and user name."""

    at: float
    user: str


class Matcher:
    """The configured rule: which field is which, what message is a login, who is excluded."""

    def __init__(self, settings: LoginsSettings) -> None:
        self.created = settings.logins_created_field
        self.user = settings.logins_user_field
        self.message = settings.logins_message_field
        self.regex = re.compile(settings.logins_message_regex)
        self.excluded = frozenset(settings.logins_exclude_users)

    def classify(self, obj: dict[str, Any]) -> Login | str | None:
        """A Login, None (not a login, or an excluded user), or why the line is malformed."""
        if self.created not in obj or obj[self.created] is None:
            return f"no {self.created!r}"
        try:
            at = instant(obj[self.created])
        except (ValueError, TypeError, OverflowError) as exc:
            return f"unparseable {self.created!r}: {exc}"
        message = obj.get(self.message)
        if not isinstance(message, str) or self.regex.search(message) is None:
            return None
        user = obj.get(self.user)
        if isinstance(user, dict) and "$oid" in user:  # a user referenced by ObjectId
            user = user["$oid"]
        if not isinstance(user, str) or not user:
            return f"login without {self.user!r}"
        if len(user) > 255:
            return f"{self.user!r} longer than 255 characters"
        return None if user in self.excluded else Login(at, user)
