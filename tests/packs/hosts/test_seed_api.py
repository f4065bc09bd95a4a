"""The seed's routes on every database: save-all, get-all (window, IP), detailed, bad batches."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from kpiflow.packs.hosts import queries
from kpiflow.packs.hosts.tables import batches, samples
from kpiflow.store.tables import quarantine
from tests.packs.hosts.conftest import AUTH, Hosts, seed_rows


def _count(h: Hosts, table=samples) -> int:
    with h.runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_save_all_answers_ok_and_get_all_means_exclude_old_samples(hosts_app: Hosts, now: float):
    h = hosts_app
    recent = seed_rows("web", "mem", [10.0, 20.0, 30.0], now - 60) + \
        seed_rows("web", "cpu", [1.0, 3.0], now - 60)
    old = seed_rows("web", "mem", [90.0], now - 400) + seed_rows("db", "cpu", [50.0], now - 400)
    r = h.seed_put("10.0.0.7", recent + old)
    assert r.status_code == 200 and r.json() == {"Response": "Ok"}
    got = h.client.get("/ressources-usage/get-all").json()
    assert got == {"web": [20.0, 2.0]}  # db only has a sample outside the 5 minutes
    wide = h.client.get("/ressources-usage/get-all", params={"window": 600}).json()
    assert wide == {"db": [None, 50.0], "web": [37.5, 2.0]}


def test_ip_filter_and_malformed_ip(hosts_app: Hosts, now: float):
    h = hosts_app
    h.seed_put("10.0.0.7", seed_rows("web", "mem", [10.0], now - 5))
    h.seed_put("10.0.0.8", seed_rows("web", "mem", [30.0], now - 5)
               + seed_rows("db", "cpu", [4.0], now - 5))
    assert h.client.get("/ressources-usage/get-all/10-0-0-7").json() == {"web": [10.0, None]}
    assert h.client.get("/ressources-usage/get-all/10-0-0-8").json() == {
        "db": [None, 4.0], "web": [30.0, None]}
    assert h.client.get("/ressources-usage/get-all/10-0-0-9").json() == {}
    for bad in ("10-0-0", "300-1-1-1", "abc"):
        r = h.client.get(f"/ressources-usage/get-all/{bad}")
        assert r.status_code == 422, bad
        assert "ip" in r.text


def test_detailed_lists_mem_values_oldest_first(hosts_app: Hosts, now: float):
    h = hosts_app
    h.seed_put("10.0.0.7", list(reversed(seed_rows("web", "mem", [1.0, 2.0, 3.0], now - 100)))
               + seed_rows("web", "cpu", [9.0], now - 100))
    assert h.client.get("/ressources-usage/get-all-detailed").json() == {"web": [1.0, 2.0, 3.0]}


def _quarantined(h: Hosts) -> list[tuple[str, int, str, str]]:
    q = quarantine.c
    with h.runtime.db.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(q.source, q.line, q.reason, q.raw).where(q.pack == "hosts").order_by(q.id))]


def test_bad_batches_are_refused_whole_store_nothing_and_are_quarantined(hosts_app: Hosts,
                                                                          now: float):
    h = hosts_app
    good = seed_rows("web", "mem", [10.0], now)[0]
    bads = [({**good, "type_data": "disk"}, "type_data"), ({**good, "value": 100.5}, "value"),
            ({**good, "value": -1}, "value"),
            ({k: v for k, v in good.items() if k != "process_name"}, "process_name"),
            ({**good, "timestamp": now + 86400}, "future")]
    for bad, _ in bads:
        r = h.seed_put("10.0.0.7", [good, bad])
        assert r.status_code == 422, bad
    assert h.seed_put("bad-ip", [good]).status_code == 422
    assert _count(h) == 0 and _count(h, batches) == 0
    # Each refused batch is kept aside: its bad sample (2nd of the batch) with the reason.
    rows = _quarantined(h)
    assert len(rows) == 6
    for (bad, word), (source, line, reason, raw) in zip(bads, rows, strict=False):
        assert line == 2 and word in reason and json.loads(raw)["value"] == bad["value"], reason
        assert "/ressources-usage/save-all" in source or "future" in reason, source
    source, line, reason, raw = rows[-1]  # the envelope was bad: line 0, the whole body
    assert line == 0 and "ipaddress" in reason and "bad-ip" in raw


def test_agent_batches_refused_by_validation_are_quarantined_with_their_key(hosts_app: Hosts,
                                                                            now: float):
    h = hosts_app
    sample = {"ts": now, "pid": 42, "started": now - 100, "name": "py", "cpu": 12.5, "mem": 3.0}
    samples = [sample, {**sample, "pid": 43, "cpu": 101}, sample, {**sample, "mem": "x"}]
    assert h.agent_post(samples, key="refused-0001").status_code == 422
    got = _quarantined(h)
    assert [(line, raw and json.loads(raw)["pid"]) for _, line, _, raw in got] == [(2, 43), (4, 42)]
    assert all(s.startswith("batch refused-0001 refused at POST /api/v1/hosts/samples")
               for s, *_ in got)
    assert "samples.1.cpu" in got[0][2] and "samples.3.mem" in got[1][2]
    # Not JSON at all: refused, recorded as the batch (line 0) with the body's start.
    r = h.client.post("/api/v1/hosts/samples", content=b"{not json", headers={
        **AUTH, "Content-Type": "application/json"})
    assert r.status_code == 422 and _quarantined(h)[-1][1:] == (0, _quarantined(h)[-1][2],
                                                                "{not json")
    # Too many values: 413, recorded too.
    assert h.agent_post([sample] * 10_001).status_code == 413
    assert "KPIFLOW_HOSTS_MAX_BATCH" in _quarantined(h)[-1][2]
    n = len(_quarantined(h))
    # Without the token nothing is recorded (an anonymous client cannot fill the quarantine).
    r = h.client.post("/api/v1/hosts/samples", content=b"{not json",
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 422  # FastAPI reads the JSON before it checks the token
    body = {"key": "anon-0001", "host_id": "x", "hostname": "x", "ip": "10.0.0.1",
            "samples": [{**sample, "cpu": 101}]}
    assert h.client.post("/api/v1/hosts/samples", json=body).status_code == 401
    assert h.client.post("/api/v1/hosts/samples", json=body,
                         headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert len(_quarantined(h)) == n and _count(h) == 0


def test_resend_is_stored_once_and_writes_need_the_token(hosts_app: Hosts, now: float):
    h = hosts_app
    data = seed_rows("web", "mem", [10.0, 11.0], now - 20)
    assert h.seed_put("10.0.0.7", data).json() == {"Response": "Ok"}
    assert h.seed_put("10.0.0.7", data).json() == {"Response": "Ok"}
    assert _count(h) == 2
    # With an explicit key, the same key is one batch even if the body differs
    h.seed_put("10.0.0.7", seed_rows("x", "mem", [1.0], now), **{"Idempotency-Key": "k-12345678"})
    h.seed_put("10.0.0.7", seed_rows("x", "mem", [2.0], now), **{"Idempotency-Key": "k-12345678"})
    assert _count(h) == 3
    body = {"ipaddress": "10.0.0.7", "data": data}
    assert h.client.put("/ressources-usage/save-all", json=body).status_code == 401
    assert h.client.put("/ressources-usage/save-all", json=body,
                        headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert AUTH  # the helper sends the right one


def test_agent_route_resend_and_validation(hosts_app: Hosts, now: float):
    h = hosts_app
    sample = {"ts": now, "pid": 42, "started": now - 100, "name": "py", "cpu": 12.5, "mem": 3.0}
    r = h.agent_post([sample], key="batch-0001")
    assert r.status_code == 200 and r.json() == {"stored": True, "samples": 2}
    r = h.agent_post([sample], key="batch-0001")
    assert r.json() == {"stored": False, "samples": 2}
    assert _count(h) == 2
    assert h.agent_post([{**sample, "cpu": 101}]).status_code == 422
    assert h.agent_post([{**sample, "extra": 1}]).status_code == 422
    assert _count(h) == 2
    hosts = h.client.get("/api/v1/hosts/hosts").json()
    assert [(x["host_id"], x["ip"], x["cores"]) for x in hosts] == [("host-a", "10.0.0.1", 2)]
    procs = h.client.get("/api/v1/hosts/hosts/host-a/processes").json()
    assert procs == [{"host_id": "host-a", "pid": 42, "started": round(now - 100, 3), "name": "py",
                      "cpu": 12.5, "mem": 3.0, "samples": 2, "last_seen": round(now, 3)}]
    assert h.client.get("/api/v1/hosts/hosts/nope/processes").status_code == 404


def test_get_all_from_partials_equals_the_means_of_the_raw_samples(hosts_app: Hosts, now: float):
    h = hosts_app
    t0 = (now - 200) // 1 * 1
    # Three hosts, two names, samples every 0.7 s: many fall inside the bucket at a window's edge.
    pushed = []
    for host in range(3):
        rows = [{"ts": t0 + 0.7 * i + host * 0.1, "pid": 10 + i % 2, "started": 5.0,
                 "name": f"n{i % 2}", "cpu": float((i * 7 + host) % 100),
                 "mem": float((i * 3) % 50) / 4} for i in range(250)]
        assert h.agent_post(rows, host_id=f"h{host}").status_code == 200
        pushed += rows
    h.run("flush")  # trims only what is older than the hot window: nothing here
    for back in (0.05, 3.3, 17.7, 42.0, 99.99, 150.0, 199.0):
        since_ms = round((t0 + 175 - back) * 1000)
        ref: dict[str, list[float | None]] = {}
        for name in ("n0", "n1"):
            mine = [r for r in pushed if r["name"] == name and round(r["ts"] * 1000) >= since_ms]
            if mine:
                ref[name] = [sum(r["mem"] for r in mine) / len(mine),
                             sum(r["cpu"] for r in mine) / len(mine)]
        with h.runtime.db.connect() as conn:
            got = queries.means_by_name(conn, since_ms)
        assert got.keys() == ref.keys(), back
        for name, (mem, cpu) in ref.items():
            assert got[name] == [pytest.approx(mem), pytest.approx(cpu)], (back, name)
