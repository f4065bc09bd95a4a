"""The Engine contract: run one KPI SQL text over named sources of Parquet state files."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@dataclass(frozen=True)
class Source:
    """Parquet files exposed to KPI SQL as one relation, limited to lo <= column < hi."""

    files: Sequence[Path]
    column: str
    lo: int
    hi: int


class Engine(Protocol):
    """Something that runs KPI SQL (named `:params`, relations from `sources`) to rows."""

    def query(
        self, sql: str, params: Mapping[str, int], sources: Mapping[str, Source]
    ) -> list[tuple[Any, ...]]:
        """Rows of `sql` with each source bound to its name."""
        ...

    def close(self) -> None:
        """Free what the engine holds."""
        ...
