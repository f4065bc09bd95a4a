"""The seed's routes on every database: save-all, get-all (window, IP), detailed, bad batches."""

from __future__ import annotations

from sqlalchemy import func, select

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


def test_bad_batches_are_refused_whole_and_store_nothing(hosts_app: Hosts, now: float):
    h = hosts_app
    good = seed_rows("web", "mem", [10.0], now)[0]
    for bad in ({**good, "type_data": "disk"}, {**good, "value": 100.5}, {**good, "value": -1},
                {k: v for k, v in good.items() if k != "process_name"},
                {**good, "timestamp": now + 86400}):
        r = h.seed_put("10.0.0.7", [good, bad])
        assert r.status_code == 422, bad
    assert h.seed_put("bad-ip", [good]).status_code == 422
    assert _count(h) == 0 and _count(h, batches) == 0
    # The future-dated batch is kept aside with its reason, for an operator to see.
    with h.runtime.db.connect() as conn:
        reasons = conn.execute(select(quarantine.c.reason)).scalars().all()
    assert len(reasons) == 1 and "future" in reasons[0]


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
