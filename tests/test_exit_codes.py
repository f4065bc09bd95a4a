"""The exit codes are the same for every pack (docs: 0 done, 1 could not do its job, 2 usage,
3 partly done): a value the command itself refuses is a usage error, said in one line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import KPIFLOW

BAD_VALUES = [
    ("network", "top", "--at", "garbage"),
    ("network", "ledger", "--status", "nope"),
    ("network", "run", "--engine", "nope"),
    ("network", "run", "--engine", "spark", "--spark-master", " "),
    ("stores", "report", "--now", "yesterday"),
    ("hosts", "run", "bogus"),
    ("logins", "uniques", "--aggregate", "X"),
    ("logins", "uniques", "--start", "2024-02-30"),
]


@pytest.mark.parametrize("argv", BAD_VALUES, ids=" ".join)
def test_a_refused_value_is_exit_2_with_one_line(tmp_path: Path, argv: tuple[str, ...]) -> None:
    env = {**os.environ, "KPIFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
           "KPIFLOW_DATA_DIR": str(tmp_path), "KPIFLOW_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([str(KPIFLOW), *argv], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.startswith("error:") and done.stderr.count("\n") == 1, done.stderr
    assert argv[-2] in done.stderr or argv[-1] in done.stderr, done.stderr
