"""A short atheris session over the network file path; the soak command is in the harness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).with_name("fuzz_network_file.py")
ROOT = Path(__file__).resolve().parents[2]


def test_atheris_finds_no_crash(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(HARNESS), "-runs=3000", "-max_len=2048", "-seed=1",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, timeout=600, cwd=ROOT,
    )
    output = result.stderr.decode(errors="replace")
    assert result.returncode == 0, output[-3000:]
    assert "Done 3000 runs" in output
