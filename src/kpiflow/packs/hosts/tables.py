"""Tables of the hosts pack: accepted batches, hosts, the sample buffer, rollups and alarms.

Instants are Unix milliseconds (BIGINT). Raw samples stay in `hosts_samples` only until the
flush job has written them to Parquet under the state directory and they are older than the hot
window; the SQL table is a small durable buffer (a batch is committed there before its 2xx).
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

from kpiflow.store.tables import Id, UtcDateTime

metadata = MetaData()

CPU, MEM = 0, 1
RESOURCES = {"cpu": CPU, "mem": MEM}
RESOURCE_NAMES = {v: k for k, v in RESOURCES.items()}

# One row per accepted batch: a batch resent with the same key is stored once.
batches = Table(
    "hosts_batches",
    metadata,
    Column("batch_key", String(100), primary_key=True),
    Column("host_id", String(64), nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    Column("samples", Integer, nullable=False),
)

hosts = Table(
    "hosts_hosts",
    metadata,
    Column("host_id", String(64), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("ip", String(45), nullable=False),
    Column("cores", Integer, nullable=True),
    Column("interval_s", Double, nullable=True),
    Column("first_ms", BigInteger, nullable=False),
    Column("last_ms", BigInteger, nullable=False),
    Index("ix_hosts_hosts_ip", "ip"),
)

samples = Table(
    "hosts_samples",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ts_ms", BigInteger, nullable=False),
    Column("host_id", String(64), nullable=False),
    Column("pid", BigInteger, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("name", String(255), nullable=False),
    Column("resource", SmallInteger, nullable=False),
    Column("value", Double, nullable=False),
    Index("ix_hosts_samples_ts", "ts_ms"),
    # SQLite would hand the ids of deleted rows out again (max(rowid) + 1 once the buffer is
    # trimmed empty), and a reused id at or below a watermark would never be flushed or judged.
    sqlite_autoincrement=True,
)

# How far each consumer of the buffer got, as the highest sample id it has taken: every sample
# at or below `flushed` is in a listed Parquet file, every one at or below `judged` has been
# through the alarm rules. A watermark is safe because batches commit in id order: each batch's
# transaction first updates the `batches` row (a count of stored batches), so batches take their
# ids and commit one after another (PostgreSQL and MariaDB would otherwise commit a lower id after
# a higher one). The samples themselves are never updated: marking them cost a flush rewriting
# every row it took, with its indexes, which slowed the reads beside it on PostgreSQL.
BATCHES, FLUSHED, JUDGED = "batches", "flushed", "judged"
progress = Table(
    "hosts_progress",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("upto", BigInteger, nullable=False),
)

# Per process name and resource, the count and sum of the values measured in each 5-second
# bucket, added to in the batch's own transaction: the seed's `get-all` (every name's means over
# the last minutes) reads these few rows instead of every raw sample. Trimmed with the buffer.
PARTIAL_MS = 5_000
name_partials = Table(
    "hosts_name_partials",
    metadata,
    Column("bucket_ms", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(255), primary_key=True),
    Column("resource", SmallInteger, primary_key=True, autoincrement=False),
    Column("n", BigInteger, nullable=False),
    Column("total", Double, nullable=False),
)

# Parquet files of raw samples under <state dir>/hosts/raw/: a file is valid once listed here.
parquet_files = Table(
    "hosts_parquet_files",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("hour_ms", BigInteger, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("min_ms", BigInteger, nullable=False),
    Column("max_ms", BigInteger, nullable=False),
)

# Additive 1-minute partials (count, sum, max): a flush adds rows, a read sums them.
rollups = Table(
    "hosts_rollups",
    metadata,
    Column("minute_ms", BigInteger, nullable=False),
    Column("host_id", String(64), nullable=False),
    Column("pid", BigInteger, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("name", String(255), nullable=False),
    Column("resource", SmallInteger, nullable=False),
    Column("n", Integer, nullable=False),
    Column("total", Double, nullable=False),
    Column("peak", Double, nullable=False),
    Index("ix_hosts_rollups_series", "host_id", "pid", "started_ms", "resource", "minute_ms"),
    Index("ix_hosts_rollups_minute", "minute_ms"),
)

alarms = Table(
    "hosts_alarms",
    metadata,
    Column("host_id", String(64), primary_key=True),
    Column("pid", BigInteger, primary_key=True, autoincrement=False),
    Column("started_ms", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(255), primary_key=True),  # the seed's processes are known by name
    Column("resource", SmallInteger, primary_key=True, autoincrement=False),
    Column("state", String(8), nullable=False),  # RED, AMBER, OK
    Column("since_ms", BigInteger, nullable=False),
    Column("red_pending_ms", BigInteger, nullable=True),  # above the threshold since
    Column("amber_pending_ms", BigInteger, nullable=True),  # trend crossing since
    Column("last_ms", BigInteger, nullable=False),  # the newest sample judged
    Column("value", Double, nullable=False),
    Column("slope_per_min", Double, nullable=True),
    Column("r2", Double, nullable=True),
    Column("n", Integer, nullable=False),
    Column("crossing_ms", BigInteger, nullable=True),
    Column("evaluated_ms", BigInteger, nullable=False),
    Index("ix_hosts_alarms_state", "state"),
)

alarm_events = Table(
    "hosts_alarm_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ts_ms", BigInteger, nullable=False),
    Column("host_id", String(64), nullable=False),
    Column("pid", BigInteger, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("name", String(255), nullable=False),
    Column("resource", SmallInteger, nullable=False),
    Column("from_state", String(8), nullable=False),
    Column("to_state", String(8), nullable=False),
    Column("value", Double, nullable=False),
    Column("slope_per_min", Double, nullable=True),
    Column("r2", Double, nullable=True),
    Column("n", Integer, nullable=False),
    Column("crossing_ms", BigInteger, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("delivered", SmallInteger, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
)
