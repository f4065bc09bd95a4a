"""The Prometheus collector, read through prometheus_client's own exposition."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kpiflow.registry import ServeContext
from tests.packs.hosts.conftest import Hosts, make_hosts


def _scrape(h: Hosts) -> dict[str, dict[tuple, float]]:
    pack = h.runtime.pack("hosts")
    registry = CollectorRegistry()
    ctx = ServeContext(h.runtime.settings, h.runtime.settings_for(pack), h.runtime.db, {})
    for collector in pack.collectors(ctx):
        registry.register(collector)
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_latest_values_and_alarm_states_with_bounded_labels(tmp_path, database_url, now):
    gen = make_hosts(tmp_path, database_url, hosts_metrics_top=2)
    h = next(gen)
    samples = [{"ts": now - 120 + 10 * i, "pid": 1, "started": 5.0, "name": "hot", "cpu": 90.0,
                "mem": 1.0} for i in range(13)]
    samples += [{"ts": now, "pid": p, "started": 5.0, "name": f"p{p}", "cpu": float(p), "mem": 2.0}
                for p in range(2, 7)]
    assert h.agent_post(samples, host_id="web-1").status_code == 200
    h.run("alarms")
    got = _scrape(h)
    cpu = {dict(k)["process"]: v for k, v in got["kpiflow_hosts_process_percent"].items()
           if dict(k)["resource"] == "cpu"}
    assert cpu == {"hot": 90.0, "p6": 6.0}  # top 2 only
    assert got["kpiflow_hosts_alarm_state"] == {
        (("host", "web-1"), ("pid", "1"), ("process", "hot"), ("resource", "cpu")): 2.0}
    assert got["kpiflow_hosts_last_seen_seconds"][(("host", "web-1"),)] == round(now, 3)
    gen.close()
