"""Settings come from flags, env vars and a `.env` file, in that order of precedence."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from kpiflow.config import Settings
from kpiflow.packs.network.config import NetworkSettings


def test_defaults(tmp_path: Path) -> None:
    s = Settings()
    assert s.database_url == "sqlite:///kpiflow.db"
    assert s.resolved_state_dir == tmp_path / ".kpiflow"  # beside the SQLite file
    assert NetworkSettings().top_n == 10


def test_env_file_then_env_then_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-env-file.db\nKPIFLOW_TOP_N=4\n"
                                   "DATA_DIR=/srv/in\n")
    assert Settings().database_url == "sqlite:///from-env-file.db"
    assert NetworkSettings().top_n == 4
    monkeypatch.setenv("KPIFLOW_TOP_N", "6")
    assert NetworkSettings().top_n == 6
    assert NetworkSettings(top_n=2).top_n == 2
    assert Settings(data_dir=Path("x")).data_dir == Path("x")


def test_state_dir_for_server_databases(tmp_path: Path) -> None:
    s = Settings(database_url="postgresql://u@h/db")
    # Named after the database, so two databases run from one folder never share state.
    assert s.resolved_state_dir == (tmp_path / ".kpiflow" / "db-postgresql-h-default-db").resolve()
    assert Settings(state_dir=Path("/var/lib/kpiflow")).resolved_state_dir == Path("/var/lib/kpiflow")


@pytest.mark.parametrize("field, value", [
    ("database_url", "not a url"), ("api_port", 0), ("api_port", 70000),
    ("lock_timeout_seconds", -1),
])
def test_invalid_core_values(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})


@pytest.mark.parametrize("value", [0, -3, "ten"])
def test_invalid_top_n(value: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIFLOW_TOP_N", str(value))
    with pytest.raises(ValidationError):
        NetworkSettings()
