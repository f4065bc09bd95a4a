"""Bearer-token guard for the API's write routes; no token configured means they are disabled."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException

from kpiflow.api.deps import RuntimeDep

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
    # Constant time, on bytes: compare_digest refuses non-ASCII str.
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(403, "wrong token")


TokenDep = Annotated[None, Depends(require_token)]
