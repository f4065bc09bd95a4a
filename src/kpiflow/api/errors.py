"""Errors become JSON 4xx/503 with a clear message, never a 500 with a traceback."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from kpiflow.errors import ConfigError, DatabaseUnavailable, KpiflowError, LockBusy

log = logging.getLogger(__name__)

STATUS = {ConfigError: 422, LockBusy: 409, DatabaseUnavailable: 503}


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(KpiflowError)
    async def kpiflow_error(_request: Request, exc: KpiflowError) -> JSONResponse:
        status = next((s for t, s in STATUS.items() if isinstance(exc, t)), 400)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(DBAPIError)
    async def database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        log.warning("database error: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        return JSONResponse({"detail": "database unavailable"}, status_code=503)
