"""Optional pseudonymization: with KPIFLOW_PSEUDONYMIZE_MSISDN set, only a keyed hash of each
msisdn reaches the state and the quarantine. Distinct counts are unchanged (a 63-bit keyed
BLAKE2b is injective on any realistic subscriber set), and no raw msisdn is stored or logged."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from kpiflow.ingest.quarantine import BadRow
from kpiflow.registry import lazy_modules

# Loaded at first use: a pass with nothing to parse never pays for them (issue 15).
if TYPE_CHECKING:
    import polars as pl
else:
    (pl,) = lazy_modules("polars")

MASK = (1 << 63) - 1


def _key(secret: str) -> bytes:
    raw = secret.encode()
    return raw if len(raw) <= 64 else hashlib.sha256(raw).digest()  # BLAKE2b keys: 64 bytes max


def keyed_hash(value: bytes, secret: str) -> int:
    """The pseudonym of one msisdn (its decimal text), a non-negative 63-bit integer."""
    digest = hashlib.blake2b(value, key=_key(secret), digest_size=8).digest()
    return int.from_bytes(digest, "big") & MASK


VARIANT_SETTING = "the msisdn pseudonymization setting (KPIFLOW_PSEUDONYMIZE_MSISDN)"
PLAIN = "plain"  # the form of states written before the marker existed: raw msisdn


def variant(secret: str | None) -> str:
    """Names the state's form, so that states built with different keys never mix."""
    if not secret:
        return PLAIN
    return "keyed-" + hashlib.blake2b(b"kpiflow-variant", key=_key(secret), digest_size=8).hexdigest()


def pseudonymize(valid: pl.DataFrame, secret: str) -> pl.DataFrame:
    """Replace msisdn by its keyed hash (each distinct value hashed once)."""
    distinct = valid.get_column("msisdn").unique()
    pseudonyms = [keyed_hash(b"%d" % m, secret) for m in distinct.to_list()]
    mapping = pl.DataFrame({"msisdn": distinct, "__pseudonym": pl.Series(pseudonyms, dtype=pl.Int64)})
    return (valid.join(mapping, on="msisdn", how="left")
            .drop("msisdn").rename({"__pseudonym": "msisdn"}).select(valid.columns))


def redact(bad: list[BadRow], names: list[str], secret: str) -> list[BadRow]:
    """Bad rows whose raw text and reason carry no msisdn."""
    where = [n.strip().lower() for n in names].index("msisdn")
    out = []
    for row in bad:
        fields = row.raw.split(",")
        if len(fields) == len(names):
            fields[where] = f"#{keyed_hash(fields[where].strip().encode(), secret):x}"
            raw = ",".join(fields)
        else:
            raw = f"[withheld: msisdn pseudonymization is on; line has {len(fields)} fields]"
        reason = "msisdn: not a 64-bit integer" if row.reason.startswith("msisdn:") else row.reason
        out.append(BadRow(row.line, reason, raw))
    return out
