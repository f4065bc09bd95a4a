"""/metrics: Prometheus text from the run log, the ledger, the scheduler, HTTP and the packs."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client import Gauge
from prometheus_client.parser import text_string_to_metric_families

from kpiflow.config import Settings
from kpiflow.errors import DataDirMissing
from kpiflow.lifecycle import run_job
from kpiflow.packs.network import generate
from kpiflow.registry import Pack, ServeContext, discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token"


def _runtime(tmp_path: Path, database_url: str, packs: tuple[Pack, ...] | None = None,
             **extra: object) -> Runtime:
    data = tmp_path / "data"
    if not data.exists():
        generate.generate(data, datetime(2026, 1, 5, tzinfo=UTC), 0.25, 100, 1, seed=3)
    settings = Settings(database_url=database_url, data_dir=data, state_dir=tmp_path / "state",
                        **extra)
    return Runtime.build(settings, packs or discover_packs())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by name and sorted labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def lab(**labels: str) -> tuple[tuple[str, str], ...]:
    """Labels in the order `samples` keys them."""
    return tuple(sorted(labels.items()))


def test_a_failing_pass_shows_in_metrics(tmp_path: Path, database_url: str) -> None:
    rt = _runtime(tmp_path, database_url)
    with TestClient(create_app(rt)) as client:
        run_job(rt, rt.pack("network"))
        shutil.rmtree(tmp_path / "data")
        with pytest.raises(DataDirMissing):
            run_job(rt, rt.pack("network"))
        reply = client.get("/metrics")
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/plain; version=")
        got = samples(reply.text)
    net = lab(job="ingest", pack="network")
    assert got[("kpiflow_database_up", ())] == 1
    assert got[("kpiflow_passes_total", lab(job="ingest", pack="network", outcome="ok"))] == 1
    assert got[("kpiflow_passes_total", lab(job="ingest", pack="network", outcome="failed"))] == 1
    assert got[("kpiflow_last_pass_success", net)] == 0
    assert got[("kpiflow_pass_duration_seconds_count", net)] == 2
    assert got[("kpiflow_pass_duration_seconds_bucket", lab(job="ingest", pack="network", le="+Inf"))] == 2
    assert 0 < got[("kpiflow_pass_duration_seconds_sum", net)] < 600
    now = datetime.now(UTC).timestamp()
    assert now - 300 < got[("kpiflow_last_success_timestamp_seconds", net)] <= now + 1
    assert got[("kpiflow_ledger_files", (("pack", "network"), ("status", "ingested")))] == 3
    assert got[("kpiflow_ledger_rows", (("pack", "network"),))] == 300
    assert got[("kpiflow_ledger_bad_rows", (("pack", "network"),))] == 0
    assert got[("kpiflow_scheduler_running", ())] == 0


def test_http_requests_by_route_template(tmp_path: Path, sqlite_url: str) -> None:
    with TestClient(create_app(_runtime(tmp_path, sqlite_url))) as client:
        for _ in range(2):
            assert client.get("/api/v1/runs/", params={"limit": 5}).status_code == 200
        assert client.get("/api/v1/runs/", params={"limit": 0}).status_code == 422
        assert client.get("/no/such/page").status_code == 404
        got = samples(client.get("/metrics").text)
    runs = ("route", "/api/v1/runs/")
    assert got[("kpiflow_http_requests_total", (("method", "GET"), runs, ("status", "200")))] == 2
    assert got[("kpiflow_http_requests_total", (("method", "GET"), runs, ("status", "422")))] == 1
    assert got[("kpiflow_http_requests_total",
                (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert got[("kpiflow_http_request_duration_seconds_count", (("method", "GET"), runs))] == 3


def test_scheduler_lag_and_pack_collectors(tmp_path: Path, sqlite_url: str) -> None:
    import copy

    def collectors(ctx: ServeContext) -> list[Gauge]:
        from prometheus_client import CollectorRegistry

        gauge = Gauge("kpiflow_example_answers", "A pack's own metric.",
                      registry=CollectorRegistry())  # own registry: core registers it in the app's
        gauge.set(42)
        return [gauge]

    def with_collectors(pack: Pack[Any]) -> Pack[Any]:
        changed = copy.copy(pack)
        changed.collectors = collectors
        return changed

    packs = tuple(with_collectors(p) if p.name == "stores" else p for p in discover_packs())
    app = create_app(_runtime(tmp_path, sqlite_url, packs), schedule=True)
    with TestClient(app) as client:
        got = samples(client.get("/metrics").text)
    assert got[("kpiflow_example_answers", ())] == 42
    assert got[("kpiflow_scheduler_running", ())] == 1
    lags = {dict(k[1])["job"]: v for k, v in got.items()
            if k[0] == "kpiflow_scheduler_job_lag_seconds"}
    assert "ingest" in lags and all(v >= 0 for v in lags.values())


def test_metrics_needs_the_token_when_reads_do(tmp_path: Path, sqlite_url: str) -> None:
    rt = _runtime(tmp_path, sqlite_url, api_token=TOKEN, api_token_reads=True)
    with TestClient(create_app(rt)) as client:
        assert client.get("/metrics").status_code == 401
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and "kpiflow_database_up 1.0" in ok.text
        assert client.get("/readyz").status_code == 200  # probes stay open


def test_metrics_without_a_database(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:9/nothing_listens_here")
    got = samples(TestClient(create_app(rt)).get("/metrics").text)
    assert got[("kpiflow_database_up", ())] == 0


def test_alert_rules_parse_and_name_real_metrics(tmp_path: Path, sqlite_url: str) -> None:
    """The sample rules load as Prometheus rule groups and use only metrics kpiflow exports."""
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus-alerts.yml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    assert {"KpiflowPassFailing", "KpiflowNoSuccessfulPass"} <= set(alerts)
    assert alerts["KpiflowNoSuccessfulPass"]["expr"].endswith("> 15 * 60")
    rt = _runtime(tmp_path, sqlite_url)
    with TestClient(create_app(rt)) as client:
        run_job(rt, rt.pack("network"))
        exported = {f.name for f in text_string_to_metric_families(client.get("/metrics").text)}
    for alert in alerts.values():
        named = {word for word in alert["expr"].replace("(", " ").replace(")", " ").replace(
            "{", " ").split() if word.startswith("kpiflow_")}
        assert named and all(n.removesuffix("_total") in exported for n in named), named


def test_alert_rules_pass_promtool() -> None:
    """`promtool check rules` where Debian's prometheus package is installed (make test does)."""
    import subprocess

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool missing: apt-get install prometheus (the parse test above still ran)")
    checked = subprocess.run([promtool, "check", "rules", str(ROOT / "deploy" /
                              "prometheus-alerts.yml")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 3 rules found" in checked.stdout
