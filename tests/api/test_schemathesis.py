"""Schemathesis against the OpenAPI schema: no 500 and no response outside the schema, on a
database filled by a real network run."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from kpiflow.config import Settings
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.helpers import run_pack

SAMPLE = Path(__file__).resolve().parents[2] / "sample-data" / "network"
_tmp = Path(tempfile.mkdtemp(prefix="kpiflow-schemathesis-"))
shutil.copytree(SAMPLE, _tmp / "data")
_settings = Settings(database_url=f"sqlite:///{_tmp / 'k.db'}", data_dir=_tmp / "data",
                     state_dir=_tmp / "state")
run_pack(_settings, "network")
app = create_app(Runtime.build(_settings, discover_packs()))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


OPERATIONS = [result.ok() for result in schema.get_all_operations()]


# One plain pytest item per operation (not schemathesis' own parametrize, whose items share a
# node id that pytest-xdist cannot tell apart).
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_api_conforms_to_its_schema(operation: schemathesis.APIOperation) -> None:
    @given(case=operation.as_strategy())
    # No shrinking: a failing example is reported as found, so a failure costs seconds in CI
    # instead of minutes of minimising.
    @settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case: schemathesis.Case) -> None:
        # Rules across parameters (end after start) cannot be said in OpenAPI, so a request
        # valid for the schema may still be refused with a 422; every other check runs.
        case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])

    check()


def test_every_route_is_exercised() -> None:
    assert len(OPERATIONS) >= 15
