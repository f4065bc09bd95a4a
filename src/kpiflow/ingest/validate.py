"""Apply a pack's row rules (polars expressions) and turn failures into quarantined rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kpiflow.ingest.quarantine import BadRow, printable
from kpiflow.ingest.reader import LINE, ParsedCsv
from kpiflow.registry import lazy_modules

# Loaded at first use: a pass with nothing to parse never pays for them (issue 15).
if TYPE_CHECKING:
    import polars as pl
else:
    (pl,) = lazy_modules("polars")


@dataclass(frozen=True)
class Rule:
    """A condition every valid row meets, and the reason given when a row does not."""

    reason: str
    ok: pl.Expr


def apply_rules(
    frame: pl.DataFrame, rules: Sequence[Rule]
) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    """Split `frame` into valid rows and (line, reason) of the first rule each bad row breaks."""
    if not rules or frame.height == 0:
        return frame, []
    valid_mask = pl.all_horizontal([r.ok for r in rules])
    flagged = frame.with_columns(valid_mask.alias("__ok"))
    if flagged.get_column("__ok").all():
        return frame, []
    reason = pl.coalesce([pl.when(~r.ok).then(pl.lit(r.reason)) for r in rules])
    bad = flagged.filter(~pl.col("__ok")).select(LINE, reason.alias("reason"))
    return flagged.filter(pl.col("__ok")).drop("__ok"), list(bad.iter_rows())


def raw_lines(data: bytes, numbers: Sequence[int]) -> dict[int, bytes]:
    """The raw text of the given 1-based line numbers (used only for the rare bad rows)."""
    wanted = set(numbers)
    found = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number in wanted:
            found[number] = raw.rstrip(b"\r")
    return found



def check_rows(data: bytes, parsed: ParsedCsv, rules: Sequence[Rule]) -> ParsedCsv:
    """The rows of `parsed` meeting every rule, and its bad rows plus those breaking one (the
    first rule's reason, the raw line from `data`), in line order."""
    valid, broken = apply_rules(parsed.frame, rules)
    if not broken:
        return ParsedCsv(valid, parsed.bad)
    texts = raw_lines(data, [line for line, _ in broken])
    bad = [*parsed.bad, *(BadRow(line, reason, printable(texts[line])) for line, reason in broken)]
    bad.sort(key=lambda b: b.line)
    return ParsedCsv(valid, bad)
