"""The spark engine gives what the duckdb engine gives: tables, ledger, quarantine and state, row
for row, on the seed sample, the edge cases and generated drops; passes of both engines mix."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kpiflow.config import Settings
from kpiflow.packs.network.rules import RULES
from kpiflow.packs.network.spark_build import RULE_COUNT
from tests.helpers import run_pack
from tests.spark_session import SPARK

from . import reference
from .files import FIVE, HOUR, deliver, name, render, row
from .spark_compare import assert_same_state, settings_for, snapshot
from .tables_read import read_kpis
from .test_bad_input import HEADER, MIXED_LINES

pytestmark = [*SPARK, pytest.mark.usefixtures("spark_session")]

SAMPLE = Path(__file__).resolve().parents[3] / "sample-data" / "network"
T = 1_700_006_400_000 - 2 * FIVE  # two intervals before an hour boundary
Step = Callable[[Path], None]


def _both(root: Path, steps: list[Step], top_n: int = 3, **net: Any) -> tuple[Settings, Settings]:
    """Each step, then a duckdb pass and a spark pass (own databases): equal after every pass."""
    duck, spark = settings_for(root, "duckdb", "duck"), settings_for(root, "spark", "spark")
    for step in steps:
        step(root / "data")
        for chosen in (duck, spark):
            run_pack(chosen, "network", top_n=top_n, **net)
        assert snapshot(spark) == snapshot(duck)
        assert_same_state(spark, duck)
    return duck, spark


def test_the_rules_are_the_schemas_rules() -> None:
    # spark_build states rules.RULES as Spark columns in the same order: one per rule
    assert RULE_COUNT == len(RULES) == 12


def test_seed_sample(tmp_path: Path) -> None:
    _, spark = _both(tmp_path, [lambda data: shutil.copytree(SAMPLE, data)])
    first = 1488355200000
    kpis = read_kpis(spark.database_url)
    assert kpis[("service", first, 5)] == [(1, 1, 16100), (2, 3, 11500), (3, 2, 9260)]
    assert kpis[("cell", first, 60)] == [(1, 1001, 4), (2, 1000, 3), (3, 5005, 3)]
    contents = [p.read_bytes() for p in SAMPLE.iterdir()]
    assert kpis == reference.kpis(contents, 3)


def test_seed_sample_pseudonymized(tmp_path: Path) -> None:
    _, spark = _both(tmp_path, [lambda data: shutil.copytree(SAMPLE, data)],
                        pseudonymize_msisdn="a secret")
    assert read_kpis(spark.database_url) == reference.kpis(
        [p.read_bytes() for p in SAMPLE.iterdir()], 3)


def _first_drop(data: Path) -> None:
    # ties at rank 3 in both KPIs, two parts of one interval, a second interval
    deliver(data / name(T + FIVE, 1), render([
        row(T, 1, 100, 0, 9, 1), row(T, 2, 50, 50, 3, 1), row(T, 3, 60, 40, 5, 2),
        row(T, 4, 1, 1, 1, 3), row(T, 5, 1, 1, 1, 2)]))
    deliver(data / name(T + FIVE, 2), render([
        row(T, 6, 300, 0, 1, 7), row(T, 7, 0, 0, 8, 9), row(T, 6, 1, 1, 9, 3)],
        crlf=True, bom=True, final_newline=False))
    deliver(data / name(T + 2 * FIVE, 1), render(
        [row(T + FIVE, 1, 5, 5, 2, 2), row(T + FIVE, 1, 5, 5, 2, 2)],
        order=tuple(reversed(reference.REQUIRED)), extra=("note", "other")))
    # every kind of bad row, raw bytes that are not UTF-8 included
    mixed = (HEADER + "\n" + "\n".join(line for line, _ in MIXED_LINES) + "\n\n  \r\n").encode(
        "utf-8", "surrogateescape").replace("\xff".encode(), b"\xff")
    deliver(data / "bad" / name(T + FIVE, 3), mixed)
    deliver(data / "bad" / "crlf-bad.txt", (HEADER + "\r\n1,2,3\r\r\n\t\r\n").encode())
    # files rejected whole, and a header without rows
    deliver(data / "rejected" / "empty.txt", b"")
    deliver(data / "rejected" / "blank.txt", b" \n\t\n")
    deliver(data / "rejected" / "binary.bin", b"\xff\xfe" + bytes(range(256)) * 4)
    deliver(data / "rejected" / "no-header.txt", f"{T},{T + FIVE},1,1,1,1,1\n".encode())
    deliver(data / "rejected" / "twice.txt", (HEADER + ",msisdn\n").encode())
    deliver(data / "header-only.txt", (HEADER + "\r\n").encode())


def _late_corrected_copied(data: Path) -> None:
    deliver(data / "late" / name(T + FIVE, 4), render([row(T, 9, 1000, 0, 4, 4),
                                                       row(T + 2 * FIVE, 1, 1, 1, 1, 1)]))
    deliver(data / name(T + FIVE, 1), render([row(T, 1, 7, 7, 3, 3)]))  # corrected in place
    deliver(data / "copies" / "again.txt", (data / name(T + FIVE, 2)).read_bytes())
    path = data / name(T + 2 * FIVE, 1)
    os.utime(path, ns=(time.time_ns(), time.time_ns()))  # touched, same bytes


def _archived_and_replaced(data: Path) -> None:
    (data / name(T + FIVE, 2)).unlink()  # archived after ingestion: still counts
    deliver(data / "bad" / "crlf-bad.txt", b"\x89PNG\r\n\x1a\n" + bytes(100))  # now junk
    deliver(data / name(T + HOUR, 1), render([row(T + HOUR, 3, 1, 1, 1, 1)]))


def test_edge_cases_pass_after_pass(tmp_path: Path) -> None:
    _, spark = _both(tmp_path, [_first_drop, _late_corrected_copied, _archived_and_replaced])
    kinds = {reason.split(":")[0] for _, _, reason, _ in snapshot(spark)["quarantine"]}
    assert len(kinds) >= 10  # the comparison covered many kinds of bad row
    statuses = {entry[4] for entry in snapshot(spark)["ledger"]}
    assert statuses == {"ingested", "rejected"}


@pytest.mark.parametrize("engines", [("duckdb", "spark"), ("spark", "duckdb")])
def test_engines_mix(tmp_path: Path, engines: tuple[str, ...]) -> None:
    """A database filled by one engine's passes is continued by the other's: the tables equal
    those of passes by one engine only (the late file makes the second engine read state the
    first one wrote)."""
    steps = [_first_drop, _late_corrected_copied]
    mixed = settings_for(tmp_path, engines[0], "mixed")
    alone = settings_for(tmp_path, "duckdb", "alone")
    for step, engine in zip(steps, engines, strict=True):
        step(tmp_path / "data")
        run_pack(mixed.model_copy(update={"engine": engine}), "network", top_n=3)
        run_pack(alone, "network", top_n=3)
        assert snapshot(mixed) == snapshot(alone)
    assert_same_state(mixed, alone)


_values = st.one_of(st.integers(0, 3), st.integers(-1, 2**48 + 1).map(str), st.just("x"),
                    st.just(" 2 "), st.just(""))
_lines = st.lists(st.one_of(
    st.builds(lambda i, m, up, s, c: ",".join(map(str, row(T + i * FIVE, m, up, 1, s, c))),
              st.integers(0, 13), st.integers(0, 5), _values, st.integers(0, 3), _values),
    st.sampled_from(["", "1,2", "\x00", f"{T},{T + 1},1,1,1,1,1"])), max_size=8)


# A few examples, not shrunk: each costs two Spark passes (seconds each); a failure prints its drop.
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck),
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(drops=st.lists(st.lists(_lines, min_size=1, max_size=3), min_size=1, max_size=2))
def test_generated_drops(drops: list[list[list[str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        steps: list[Step] = []
        for n, files in enumerate(drops):
            def step(data: Path, n: int = n, files: list[list[str]] = files) -> None:
                for part, lines in enumerate(files):
                    body = "\n".join([HEADER, *lines]) + "\n"
                    deliver(data / name(T + FIVE * (part + 1), part + 1), body.encode())
                    deliver(data / f"drop{n}" / f"{part}.txt", body.encode())
            steps.append(step)
        _both(root, steps, top_n=2)
