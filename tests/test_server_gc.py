"""The served app keeps its start-up objects out of full garbage collections.

Under ingest load a full collection ran every ~11 s and walked every module, route and model
built at start-up: a 130-180 ms stop of every request (docs/benchmarks.md, Hosts). Frozen
objects are not in any generation, so a full collection no longer visits them.
"""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from kpiflow.config import Settings
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app


def test_serving_app_freezes_start_up_objects_and_gives_them_back(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}", data_dir=tmp_path,
                        state_dir=tmp_path / "state")
    app = create_app(Runtime.build(settings, discover_packs()))
    assert gc.get_freeze_count() == 0
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        frozen = gc.get_freeze_count()
        walked = len(gc.get_objects(generation=2))
        # the app's modules, routes and models are frozen: a full collection walks what
        # requests left behind, a small part of what start-up built
        assert frozen > 50_000
        assert walked < frozen / 4
        route = app.routes[0]
        assert all(o is not route for o in gc.get_objects(generation=2))
    assert gc.get_freeze_count() == 0
