"""Start-up benchmark: what a user pays per process, not per pass (issue 15).

    .venv/bin/python bench/startup.py [--repeat 7] [--baseline /path/to/other/.venv/bin/kpiflow]

Times, as whole processes (the installed `kpiflow` script, interpreter start included):
`kpiflow --help`, `kpiflow network --help`, and a `kpiflow network run` with nothing new to
do (small sample data, one pass first). With `--baseline`, the other install's script runs
the same commands on its own copy of the data, interleaved run by run so that other load on
the machine hits both alike. Prints medians and the load average; nothing is written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(sys.executable).parent / "kpiflow"


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another install's kpiflow script")
    args = parser.parse_args()
    scripts = {"this": HERE, **({"baseline": args.baseline} if args.baseline else {})}
    print("load average at start:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    work = Path(tempfile.mkdtemp(prefix="kpiflow-startup-"))
    try:
        subprocess.run([str(HERE), "network", "generate", "--out", str(work / "data"), "--start",
                        "2026-03-01T00:00Z", "--hours", "1", "--rows-per-interval", "1000"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        commands: dict[str, dict[str, list[str]]] = {}
        for name, script in scripts.items():
            if name != "this":
                shutil.copytree(work / "data", work / f"data-{name}")
            data = work / ("data" if name == "this" else f"data-{name}")
            base = [str(script), "--database-url", f"sqlite:///{work / name}.db", "--data-dir",
                    str(data), "--state-dir", str(work / f"state-{name}"), "-q"]
            commands[name] = {"kpiflow --help": [str(script), "--help"],
                              "kpiflow network --help": [*base, "network", "--help"],
                              "kpiflow network run (no change)": [*base, "network", "run"]}
            _timed(commands[name]["kpiflow network run (no change)"])  # the first pass
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeat):
            for name, cmds in commands.items():
                for what, argv in cmds.items():
                    times.setdefault((name, what), []).append(_timed(argv))
        print(f"{os.cpu_count()} CPUs, median of {args.repeat} runs")
        for (name, what), seconds in times.items():
            print(f"{name:9} {what:32} {statistics.median(seconds):6.3f} s "
                  f"(min {min(seconds):.3f})")
        print("load average at end:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
