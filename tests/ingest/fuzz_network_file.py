"""Coverage-guided fuzzing (atheris/libFuzzer) of what a network input file goes through.

Run by tests/ingest/test_fuzz.py for a few thousand inputs; for a long session:
    .venv/bin/python tests/ingest/fuzz_network_file.py -max_total_time=600 -max_len=65536
Any exception other than FileRejected, or a broken invariant, stops the fuzzer with the input.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from kpiflow.ingest.reader import FileRejected
    from kpiflow.packs.network import partials
    from kpiflow.packs.network.schema import COLUMNS

HEADER = ",".join(COLUMNS).encode() + b"\n"


def one_input(data: bytes) -> None:
    for body in (data, HEADER + data):
        try:
            built = partials.build(body)
        except FileRejected:
            continue
        lines = body.count(b"\n") + 1
        assert all(2 <= b.line <= lines for b in built.bad)
        assert built.rows + len(built.bad) <= lines - 1
        assert built.pairs.height <= built.rows


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
