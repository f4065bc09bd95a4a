"""Prometheus collector: latest per-process values and alarm states, with bounded label sets.

Labels are host, process name, pid and resource; only the `hosts_metrics_top` busiest processes
per host and resource are exported (plus every process in alarm), so a host with thousands of
short-lived processes cannot blow up the series count of the scraping Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from kpiflow.packs.hosts.alarms import AMBER, RED
from kpiflow.packs.hosts.config import HostsSettings
from kpiflow.packs.hosts.tables import RESOURCE_NAMES, alarms, hosts, samples
from kpiflow.registry import ServeContext

STATE_VALUE = {RED: 2, AMBER: 1}


class HostsCollector(Collector):
    """Reads the latest values from the sample buffer at each scrape."""

    def __init__(self, db: Engine, ps: HostsSettings) -> None:
        self.db = db
        self.ps = ps

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges of one scrape; none while the database is down (core's
        `kpiflow_database_up` says so), so the scrape itself still answers."""
        try:
            families = list(self._families())
        except SQLAlchemyError:
            return
        yield from families

    def _families(self) -> Iterator[GaugeMetricFamily]:
        value = GaugeMetricFamily("kpiflow_hosts_process_percent",
                                  "Latest sample of a process (share of the host, percent).",
                                  labels=["host", "process", "pid", "resource"])
        state = GaugeMetricFamily("kpiflow_hosts_alarm_state",
                                  "Alarm state of a process resource: 0 OK, 1 AMBER, 2 RED.",
                                  labels=["host", "process", "pid", "resource"])
        seen = GaugeMetricFamily("kpiflow_hosts_last_seen_seconds",
                                 "Unix time of a host's newest sample.", labels=["host"])
        s = samples.c
        since = round((time.time() - self.ps.hosts_mean_window_seconds) * 1000)
        with self.db.connect() as conn:
            names = dict(conn.execute(select(hosts.c.host_id, hosts.c.hostname)).all())
            latest = (select(s.host_id, s.pid, s.started_ms, s.name, s.resource,
                             func.max(s.ts_ms).label("ts"))
                      .where(s.ts_ms >= since)
                      .group_by(s.host_id, s.pid, s.started_ms, s.name, s.resource).subquery())
            rows = conn.execute(
                select(s.host_id, s.pid, s.name, s.resource, func.max(s.value))
                .join(latest, (s.host_id == latest.c.host_id) & (s.pid == latest.c.pid)
                      & (s.started_ms == latest.c.started_ms) & (s.name == latest.c.name)
                      & (s.resource == latest.c.resource) & (s.ts_ms == latest.c.ts))
                .group_by(s.host_id, s.pid, s.name, s.resource)).all()
            in_alarm = conn.execute(select(alarms.c.host_id, alarms.c.pid, alarms.c.name,
                                           alarms.c.resource, alarms.c.state)
                                    .where(alarms.c.state.in_((RED, AMBER)))).all()
        alarmed = {(r.host_id, r.pid, r.name, r.resource) for r in in_alarm}
        per: dict[tuple[str, int], list[tuple[float, str, int, str]]] = {}
        for host_id, pid, name, resource, v in rows:
            per.setdefault((host_id, resource), []).append((float(v), name, pid, host_id))
        for (host_id, resource), items in per.items():
            items.sort(reverse=True)
            for i, (v, name, pid, _) in enumerate(items):
                if i < self.ps.hosts_metrics_top or (host_id, pid, name, resource) in alarmed:
                    value.add_metric([names.get(host_id, host_id), name, str(pid),
                                      RESOURCE_NAMES[resource]], v)
        for r in in_alarm:
            state.add_metric([names.get(r.host_id, r.host_id), r.name, str(r.pid),
                              RESOURCE_NAMES[r.resource]], STATE_VALUE[r.state])
        with self.db.connect() as conn:
            for host_id, last in conn.execute(select(hosts.c.host_id, hosts.c.last_ms)):
                seen.add_metric([names.get(host_id, host_id)], last / 1000)
        yield value
        yield state
        yield seen


def collectors(ctx: ServeContext[HostsSettings]) -> Iterable[Collector]:
    """The pack's collectors for `/metrics`."""
    return [HostsCollector(ctx.db, ctx.pack_settings)]
