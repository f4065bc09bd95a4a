"""Bearer-token guard for the API's write routes (no token configured: they are disabled), and
for every read route too when `KPIFLOW_API_TOKEN_READS` is on."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException

from kpiflow.api import errors
from kpiflow.api.deps import RuntimeDep
from kpiflow.config import Settings

DISABLED = (
    "this write route is disabled: no API token is configured on the server "
    "(set KPIFLOW_API_TOKEN and restart it)"
)


def require_token(
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """Let the request through only with `Authorization: Bearer <KPIFLOW_API_TOKEN>`."""
    configured = runtime.settings.api_token
    expected = configured.get_secret_value() if configured is not None else ""
    if not expected:
        raise HTTPException(403, DISABLED)
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(
            401,
            "a token is required: send the header `Authorization: Bearer <KPIFLOW_API_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not token_matches(runtime.settings, given):
        raise HTTPException(403, "wrong token")


def token_matches(settings: Settings, given: str | None) -> bool:
    """True when `given` is the configured token (compared in constant time, on bytes, since
    compare_digest refuses non-ASCII str); False when none is configured."""
    configured = settings.api_token
    expected = configured.get_secret_value() if configured is not None else ""
    return bool(expected) and hmac.compare_digest((given or "").strip().encode(), expected.encode())


TokenDep = Annotated[None, Depends(require_token)]


def read_guard(settings: Settings) -> dict[str, Any]:
    """`include_router` arguments for a router of API routes: with `api_token_reads`, each of
    its routes needs the token (checked once per request, writes included) and documents 401
    and 403; otherwise nothing."""
    if not settings.api_token_reads:
        return {}
    return {"dependencies": [Depends(require_token)], "responses": errors.responses(401, 403)}
