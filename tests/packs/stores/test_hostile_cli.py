"""Every `kpiflow stores` option that takes a value, and the hours and timezones file formats,
against the shared hostile table, on every database (issue 11, hostile-input modules).

An option's hostile value ends in success, or exit 1 with one line saying why (2 for a value
the option's type refuses): never a traceback, never a hang, never damage to what is loaded.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from kpiflow.cli import app
from kpiflow.packs.stores.tables import stores
from tests.helpers import quarantine_reasons
from tests.hostile import HOSTILE_DURATIONS, HOSTILE_INSTANTS, HOSTILE_INTS, HOSTILE_TEXT

POLLS = ("store_id,timestamp_utc,status\n"
         "s1,2023-01-23 15:14:00 UTC,active\n"
         "s1,2023-01-23 16:15:00 UTC,inactive\n")
HOURS = "store_id,dayOfWeek,start_time_local,end_time_local\ns1,0,09:00:00,12:00:00\n"
ZONES = "store_id,timezone_str\ns1,America/New_York\n"
GOOD_REPORT = "s1,15.00,2.25,2.25,45.00,0.75,0.75"


def _special_paths(root: Path) -> dict[str, Path]:
    """Paths that are no plain readable file: each one must be refused or answered."""
    root.mkdir()
    fifo, sock, folder = root / "pipe.csv", root / "sock.csv", root / "folder.csv"
    os.mkfifo(fifo)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock))
    listener.close()
    folder.mkdir()
    (root / "loop.csv").symlink_to(root / "loop.csv")
    # A device of our own when root may make one: a write test that went wrong must never
    # replace the system's /dev/zero (which only root could do).
    device = Path("/dev/zero")
    if os.geteuid() == 0:
        device = root / "zero.csv"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    return {"fifo": fifo, "socket": sock, "folder": folder, "loop": root / "loop.csv",
            "device": device, "missing": root / "no" / "such.csv"}


# Path values: the special entries (by name, made under the test's folder) and hostile names.
PATH_VALUES = ["@fifo", "@socket", "@folder", "@loop", "@device", "@missing",
               *[v for v in HOSTILE_TEXT if v not in ("%", "%%", "_", "%s", "é", "\u202e")]]
TEXT = list(HOSTILE_TEXT)

OPTIONS: dict[str, tuple[list[str], list[str]]] = {
    # label: (the command line before the value, the values)
    "load --status": (["stores", "load", "--status"], PATH_VALUES),
    "load --hours": (["stores", "load", "--hours"], PATH_VALUES),
    "load --timezones": (["stores", "load", "--timezones"], PATH_VALUES),
    "report --now": (["stores", "report", "--now"], HOSTILE_INSTANTS + TEXT),
    "report --max-hold": (["stores", "report", "--detail", "--max-hold"],
                          HOSTILE_DURATIONS + HOSTILE_INTS + TEXT),
    "report --output": (["stores", "report", "--now", "2023-01-23T17:00:00Z", "--output"],
                        PATH_VALUES),
    "explain STORE_ID": (["stores", "explain"], TEXT),
    "explain --now": (["stores", "explain", "s1", "--now"], HOSTILE_INSTANTS + TEXT),
    "generate --out": (["stores", "generate", "--days", "0.05", "--stores", "3", "--out"],
                       PATH_VALUES),
    "generate --hours": (["stores", "generate", "--days", "0.05", "--hours"], PATH_VALUES),
    "generate --timezones": (["stores", "generate", "--days", "0.05", "--timezones"],
                             PATH_VALUES),
    "generate --start": (["stores", "generate", "--days", "0.05", "--stores", "3", "--start"],
                         HOSTILE_INSTANTS + TEXT),
    "generate --days": (["stores", "generate", "--stores", "3", "--days"], HOSTILE_INTS + TEXT),
    "generate --stores": (["stores", "generate", "--days", "0.05", "--stores"],
                          HOSTILE_INTS + TEXT),
    "generate --seed": (["stores", "generate", "--days", "0.05", "--stores", "3", "--seed"],
                        HOSTILE_INTS + TEXT),
}


def _invoke(url: str, argv: list[str]) -> Result:
    return CliRunner().invoke(app, ["--database-url", url, "--state-dir", "state", *argv])


def _ok_or_one_line(result: Result, what: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        what, repr(result.exception))
    assert "Traceback" not in result.output, what
    assert result.exit_code in (0, 1, 2, 3), (what, result.output)
    if result.exit_code == 1 or (result.exit_code == 2 and "Usage:" not in result.output):
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (what, result.output)


def _load_good(url: str, folder: Path) -> None:
    for kind, text in (("status", POLLS), ("hours", HOURS), ("timezones", ZONES)):
        (folder / f"good-{kind}.csv").write_text(text)
    loaded = _invoke(url, ["stores", "load", "--status", "good-status.csv",
                           "--hours", "good-hours.csv", "--timezones", "good-timezones.csv"])
    assert loaded.exit_code == 0, loaded.output


@pytest.mark.parametrize("option", list(OPTIONS))
def test_hostile_values_of_every_stores_option(
    tmp_path: Path, database_url: str, option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # hostile names are written here, never in the repository
    _load_good(database_url, tmp_path)
    special = _special_paths(tmp_path / "special")
    before, values = OPTIONS[option]
    for value in values:
        arg = str(special[value[1:]]) if value.startswith("@") else value
        _ok_or_one_line(_invoke(database_url, [*before, arg]), f"{option} {value[:20]!r}")
    # Nothing that was loaded is damaged: the report is as before.
    again = _invoke(database_url, ["stores", "report", "--now", "2023-01-23T17:00:00Z"])
    assert again.exit_code == 0 and GOOD_REPORT in again.output.splitlines(), again.output


def _quoted(text: str) -> str:
    """A CSV field: quoted, so commas, quotes and new lines stay inside it."""
    return '"' + text.replace('"', '""') + '"'


def _good_id(value: str) -> bool:
    """The documented id rule, independently: 1 to 64 characters, no NUL, valid UTF-8."""
    return 0 < len(value) <= 64 and "\x00" not in value and "\ud800" not in value


def _clock(value: str, end: bool) -> bool:
    found = re.fullmatch(r"(\d\d):(\d\d):(\d\d)", value.strip())
    if found is None:
        return False
    h, m, sec = map(int, found.groups())
    return m < 60 and sec < 60 and (h < 24 or (end and (h, m, sec) == (24, 0, 0)))


# Each column's hostile cells, and the documented rule for a good one (cells are trimmed).
HOSTILE_CELLS: dict[str, tuple[list[str], Callable[[str], bool]]] = {
    "day": (HOSTILE_INTS + TEXT + ["7", "-1", "0.0"],
            lambda v: re.fullmatch(r"[+-]?\d+", v.strip()) is not None
            and 0 <= int(v.strip()) <= 6),
    "start_time_local": (TEXT + HOSTILE_INTS + ["24:00:00", "23:60:00", "9:00:00", "99:99:99"],
                         lambda v: _clock(v, end=False)),
    "end_time_local": (TEXT + HOSTILE_INTS + ["24:00:01", "12:00:60", "12:00", "24:00:00"],
                       lambda v: _clock(v, end=True)),
    "timezone_str": ([*TEXT, "../../../etc/passwd", "America/Chicago\x00", "UTC ", "utc",
                      "Etc/GMT+99", "/etc/localtime", "posixrules/../UTC"],
                     lambda v: v.strip() in zoneinfo.available_timezones()),
}


def _hostile_file(header: str, good: str, values: list[str], row: Callable[[str], str]) -> bytes:
    lines = [header, good, *(row(_quoted(v)) for v in values)]
    return "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"


@pytest.mark.parametrize("column", list(HOSTILE_CELLS))
def test_hostile_cells_in_hours_and_timezone_files_are_quarantined(
    tmp_path: Path, database_url: str, column: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _load_good(database_url, tmp_path)
    values, good = HOSTILE_CELLS[column]
    # The hostile rows are store s2's: s1 keeps its good row, so its report must not move.
    if column == "timezone_str":
        kind, data = "timezones", _hostile_file(
            "store_id,timezone_str", "s1,America/New_York", values, lambda cell: f"s2,{cell}")
    else:
        cells = {"day": "0", "start_time_local": "09:00:00", "end_time_local": "12:00:00"}
        kind, data = "hours", _hostile_file(
            "store_id,dayOfWeek,start_time_local,end_time_local", "s1,0,09:00:00,12:00:00",
            values, lambda cell: ",".join(
                ["s2", *(cell if c == column else v for c, v in cells.items())]))
    Path(f"hostile-{kind}.csv").write_bytes(data)
    loaded = _invoke(database_url, ["stores", "load", f"--{kind}", f"hostile-{kind}.csv"])
    assert loaded.exit_code == 3, loaded.output  # rows were quarantined, the rest loaded
    reasons = quarantine_reasons(database_url)
    assert len(reasons) == sum(not good(v) for v in values), reasons
    assert all(r.startswith(f"{column}:") for r in reasons), reasons
    again = _invoke(database_url, ["stores", "report", "--now", "2023-01-23T17:00:00Z"])
    assert again.exit_code == 0 and GOOD_REPORT in again.output.splitlines(), again.output


def test_hostile_store_ids_in_hours_and_timezone_files(tmp_path: Path, database_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _load_good(database_url, tmp_path)
    Path("ids-hours.csv").write_bytes(_hostile_file(
        "store_id,day,start_time_local,end_time_local", "s1,0,09:00:00,12:00:00", TEXT,
        lambda cell: f"{cell},1,09:00:00,10:00:00"))
    Path("ids-zones.csv").write_bytes(_hostile_file(
        "store_id,timezone_str", "s1,America/New_York", TEXT,
        lambda cell: f"{cell},Europe/Paris"))
    loaded = _invoke(database_url, ["stores", "load", "--hours", "ids-hours.csv",
                                    "--timezones", "ids-zones.csv"])
    assert loaded.exit_code == 3, loaded.output
    good = {v.strip() for v in TEXT if _good_id(v.strip())}
    assert len(quarantine_reasons(database_url)) == 2 * sum(not _good_id(v.strip()) for v in TEXT)
    engine = create_engine(database_url)
    with engine.connect() as conn:  # each good id stored as itself: none merged, none lost
        zones = {i: z for i, z in conn.execute(select(stores.c.store_id, stores.c.timezone))}
    engine.dispose()
    assert zones == {"s1": "America/New_York", **dict.fromkeys(good, "Europe/Paris")}
