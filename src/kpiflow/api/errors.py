"""Errors become JSON 4xx/503 with a clear message, never a 500 with a traceback."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError

from kpiflow.errors import ConfigError, DatabaseUnavailable, KpiflowError, LockBusy

log = logging.getLogger(__name__)

STATUS = {ConfigError: 422, LockBusy: 409, DatabaseUnavailable: 503}


class ErrorBody(BaseModel):
    """What every error other than a parameter error returns."""

    detail: str


_MEANING = {
    400: "The request cannot be carried out.",
    401: "A bearer token is required.",
    403: "Wrong token, or the route is disabled because no token is configured.",
    404: "No such resource.",
    409: "Another pass holds the run lock.",
    503: "The database is unreachable.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route or router can answer with."""
    return {code: {"model": ErrorBody, "description": _MEANING[code]} for code in codes}


def invalid(message: str, *where: str) -> JSONResponse:
    """A 422 in FastAPI's own validation-error shape, so that every 422 reads the same."""
    body = {"detail": [{"type": "value_error", "loc": list(where) or ["query"], "msg": message}]}
    return JSONResponse(body, status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(KpiflowError)
    async def kpiflow_error(_request: Request, exc: KpiflowError) -> JSONResponse:
        status = next((s for t, s in STATUS.items() if isinstance(exc, t)), 400)
        if status == 422:
            return invalid(str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(DBAPIError)
    async def database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        log.warning("database error: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        return JSONResponse({"detail": "database unavailable"}, status_code=503)
