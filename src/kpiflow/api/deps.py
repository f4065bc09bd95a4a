"""Dependencies routes declare with Annotated: a database connection, the runtime."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from kpiflow.runtime import Runtime


def db_connection(request: Request) -> Iterator[Connection]:
    """A connection from the app's engine for the length of one request.

    On PostgreSQL it autocommits: at READ COMMITTED each statement reads its own snapshot
    whether or not a transaction wraps them, so the wrapping bought a `BEGIN` and a `ROLLBACK`,
    two of a read's four round trips (the `get-all` median under load fell 16.6 -> 12.4 ms in the
    handler, docs/benchmarks.md). A route that writes more than one statement opens its own
    transaction (`engine.begin()`). SQLite keeps its transaction: there it is the snapshot that
    keeps a route's statements consistent (a page and its total count); MariaDB's driver would
    spend a round trip on each switch of the autocommit mode.
    """
    with request.app.state.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")  # given back on return
        yield conn


def runtime(request: Request) -> Runtime:
    """The settings the app was built with."""
    rt: Runtime = request.app.state.runtime
    return rt


DbDep = Annotated[Connection, Depends(db_connection)]
RuntimeDep = Annotated[Runtime, Depends(runtime)]
