"""Dependencies routes declare with Annotated: a database connection, the runtime."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from kpiflow.runtime import Runtime


def db_connection(request: Request) -> Iterator[Connection]:
    """A connection from the app's engine for the length of one request."""
    with request.app.state.engine.connect() as conn:
        yield conn


def runtime(request: Request) -> Runtime:
    """The settings the app was built with."""
    rt: Runtime = request.app.state.runtime
    return rt


DbDep = Annotated[Connection, Depends(db_connection)]
RuntimeDep = Annotated[Runtime, Depends(runtime)]
