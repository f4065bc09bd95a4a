"""The two pushed formats (the agent's and the seed collector's) and their normal form.

A batch is valid as a whole or refused as a whole: pydantic checks each field (a value out of
0-100, an unknown `type_data`, a missing field are 422 before anything is stored), and
`normalize` checks what needs the server's clock (a timestamp too far in the future).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, IPvAnyAddress

from kpiflow.ingest.quarantine import BadRow, printable
from kpiflow.packs.hosts.tables import RESOURCES

Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Instant = Annotated[float, Field(gt=0, allow_inf_nan=False, description="Unix seconds")]
FUTURE_SLACK_S = 300.0  # clocks drift; a sample from further ahead than this is a bad clock
OTHER_PID = -1  # the agent's "other" row: every process under the floor, summed
MAX_BAD_ROWS = 100  # quarantine rows kept per refused batch (a batch may carry 20,000 values)
SAMPLE_LISTS = ("samples", "data")  # where the samples are in the agent's and the seed's body


class ProcessSample(BaseModel):
    """One process at one instant: its CPU share of the whole machine and memory, in percent."""

    model_config = {"extra": "forbid"}
    ts: Instant
    pid: int = Field(ge=OTHER_PID, le=2**62, description="-1 for the `other` row")
    started: float = Field(ge=0, allow_inf_nan=False,
                           description="Process create time, Unix seconds (0 when unknown)")
    name: str = Field(min_length=1, max_length=255)
    cpu: Percent | None = None
    mem: Percent | None = None


class AgentBatch(BaseModel):
    """What `kpiflow agent` sends: one host's processes at one or more instants."""

    model_config = {"extra": "forbid"}
    key: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$",
                     description="Idempotency key: a batch resent with the same key is stored once")
    host_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    hostname: str = Field(min_length=1, max_length=255)
    ip: IPvAnyAddress
    cores: int | None = Field(None, ge=1, le=65536)
    interval: float | None = Field(None, gt=0, le=3600)
    samples: list[ProcessSample]


class SeedSample(BaseModel):
    """One entry of the seed collector's `data` list."""

    timestamp: Instant
    value: Percent
    process_name: str = Field(min_length=1, max_length=255)
    type_data: Literal["mem", "cpu"]


class SeedBatch(BaseModel):
    """The seed collector's `PUT /ressources-usage/save-all` body."""

    ipaddress: IPvAnyAddress
    data: list[SeedSample]


@dataclass(frozen=True)
class Batch:
    """A batch in normal form: who sent it and its sample rows (one per resource)."""

    key: str
    host_id: str
    hostname: str
    ip: str
    cores: int | None
    interval: float | None
    rows: list[dict[str, Any]]


class BadBatch(ValueError):
    """A batch refused whole, with the rows that made it bad."""

    def __init__(self, message: str, bad: list[BadRow]) -> None:
        super().__init__(message)
        self.bad = bad


def from_agent(batch: AgentBatch) -> Batch:
    """The agent's batch in normal form."""
    rows = []
    for s in batch.samples:
        for resource, value in (("cpu", s.cpu), ("mem", s.mem)):
            if value is not None:
                rows.append({"ts_ms": round(s.ts * 1000), "pid": s.pid,
                             "started_ms": round(s.started * 1000), "name": s.name,
                             "resource": RESOURCES[resource], "value": value})
    return Batch(batch.key, batch.host_id, batch.hostname, str(batch.ip), batch.cores,
                 batch.interval, rows)


def from_seed(batch: SeedBatch, key: str | None, body: bytes) -> Batch:
    """The seed's batch in normal form: its host is its IP; its processes are known by name only.

    Without an `Idempotency-Key` header the key is the body's digest: the seed resending the same
    bytes is the same measurements, stored once.
    """
    ip = str(batch.ipaddress)
    rows = [{"ts_ms": round(s.timestamp * 1000), "pid": 0, "started_ms": 0,
             "name": s.process_name, "resource": RESOURCES[s.type_data], "value": s.value}
            for s in batch.data]
    return Batch(key or "seed-" + hashlib.sha256(body).hexdigest()[:48], "ip-" + ip, ip, ip,
                 None, None, rows)


def check_clock(batch: Batch, now: float) -> None:
    """Refuse a batch holding samples from the future (beyond clock drift)."""
    limit = round((now + FUTURE_SLACK_S) * 1000)
    bad = [BadRow(i + 1, f"timestamp {r['ts_ms'] / 1000:.3f} is in the future "
                         f"(server time {now:.3f})", json.dumps(r))
           for i, r in enumerate(batch.rows) if r["ts_ms"] > limit]
    if bad:
        raise BadBatch(f"{len(bad)} sample(s) of batch {batch.key} have a timestamp in the "
                       "future: the batch is refused whole", bad)


def parse_hyphen_ip(text: str) -> str:
    """`10-0-0-1` (the seed's spelling) or a plain address -> the address; ValueError if not one."""
    candidate = text.replace("-", ".") if ":" not in text else text
    return str(ipaddress.ip_address(candidate))


def _sample_index(loc: Sequence[Any]) -> int | None:
    """The position of the sample an error is about (`("body", "data", 3, "value")` -> 3)."""
    if len(loc) >= 3 and loc[0] == "body" and loc[1] in SAMPLE_LISTS and isinstance(loc[2], int):
        return loc[2]
    return None


def refused_rows(errors: Sequence[Mapping[str, Any]], body: bytes) -> list[BadRow]:
    """A batch's validation errors as quarantine rows: one per bad sample (its 1-based position
    in the batch, its reasons, its JSON), and line 0 for the batch itself (a missing or bad
    field outside the samples, a body that is not JSON), with the body's start as its text."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    reasons: dict[int, list[str]] = {}
    for e in errors:
        loc = list(e.get("loc", ()))
        index = _sample_index(loc)
        where = ".".join(str(x) for x in (loc[1:] if loc[:1] == ["body"] else loc)) or "body"
        reasons.setdefault(-1 if index is None else index, []).append(f"{where}: {e.get('msg')}")
    rows = []
    for index, why in sorted(reasons.items())[:MAX_BAD_ROWS]:
        raw = body
        if index >= 0 and isinstance(doc, dict):
            items: list[Any] = next((doc[k] for k in SAMPLE_LISTS if isinstance(doc.get(k), list)), [])
            if index < len(items):
                raw = json.dumps(items[index]).encode()
        rows.append(BadRow(index + 1, "; ".join(why), printable(raw)))
    if len(reasons) > MAX_BAD_ROWS:
        rows.append(BadRow(0, f"{len(reasons) - MAX_BAD_ROWS} more bad sample(s) not listed",
                           ""))
    return rows


def key_of(body: bytes) -> str | None:
    """The idempotency key a refused agent batch claims, if it can be read (for the record)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    key = doc.get("key") if isinstance(doc, dict) else None
    return key[:100] if isinstance(key, str) else None
