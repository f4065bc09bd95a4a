"""Shared fixtures: a clean environment, and real databases (SQLite, PostgreSQL, MariaDB).

Each test that takes `database_url` runs once per database. PostgreSQL and MariaDB tests create
their own `kpiflow_test_<random>` database and drop it afterwards. With CI=true a server that
cannot be reached fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

pytest_plugins = ["tests.browser", "tests.dashboard.site", "tests.spark_session"]

SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/",
}
ADMIN_DB = {"postgresql": "postgres", "mariadb": ""}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the shell; `.env` lookups happen in an empty folder."""
    for name in list(os.environ):
        if name.startswith("KPIFLOW_") or name in ("DATABASE_URL", "DATA_DIR"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _server_unavailable(kind: str, exc: Exception) -> None:
    message = f"{kind} server unreachable: {str(exc).splitlines()[0]}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def create_database(kind: str) -> str:
    """Create an empty `kpiflow_test_<random>` database on a server; return its URL."""
    name = f"kpiflow_test_{secrets.token_hex(6)}"
    admin = create_engine(SERVERS[kind] + ADMIN_DB[kind], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    return SERVERS[kind] + name


def drop_database(url: str) -> None:
    """Drop a database made by create_database."""
    kind = "postgresql" if url.startswith("postgresql") else "mariadb"
    name = url.rsplit("/", 1)[1]
    admin = create_engine(SERVERS[kind] + ADMIN_DB[kind], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        admin.dispose()


def _database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'kpiflow.db'}"
        return
    try:
        url = create_database(kind)
    except OperationalError as exc:
        _server_unavailable(kind, exc)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each supported kind."""
    yield from _database(request.param, tmp_path)


@pytest.fixture(params=["postgresql", "mariadb"])
def server_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each database server (for what SQLite tests cover elsewhere)."""
    yield from _database(request.param, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file in the test's folder (for tests about logic, not dialects)."""
    return f"sqlite:///{tmp_path / 'kpiflow.db'}"
