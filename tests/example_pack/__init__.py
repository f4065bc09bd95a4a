"""A pack that lives outside kpiflow: proves a new pack plugs in without editing anything else."""

from pathlib import Path

from fastapi import APIRouter
from sqlalchemy import BigInteger, Column, MetaData, Table

from kpiflow.registry import Pack

metadata = MetaData()
things = Table("example_things", metadata, Column("id", BigInteger, primary_key=True))

router = APIRouter(tags=["example"])


@router.get("/api/v1/example/ping")
def ping() -> dict[str, str]:
    """Answer, to show the route was mounted."""
    return {"example": "pong"}


pack = Pack(
    name="example",
    title="Example",
    tables=(things,),
    migrations=Path(__file__).parent / "migrations",
    router=router,
)
