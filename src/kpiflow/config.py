"""Settings: one object, read from env vars, a `.env` file and CLI flags (flags win)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def settings_config() -> SettingsConfigDict:
    """The configuration every kpiflow settings class shares (core and packs)."""
    return SettingsConfigDict(
        env_prefix="KPIFLOW_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        validate_by_name=True,
    )


ENGINES = ("duckdb", "spark")
"""The KPI engines there are (`KPIFLOW_ENGINE`); `engine.select` starts the chosen one."""
EngineName = Literal["duckdb", "spark"]


class Settings(BaseSettings):
    """Core settings: where the data, the database and the state live, and how to serve."""

    model_config = settings_config()

    database_url: str = Field("sqlite:///kpiflow.db", validation_alias="DATABASE_URL")
    data_dir: Path = Field(Path("data"), validation_alias="DATA_DIR")
    state_dir: Path | None = Field(
        None,
        description="Per-file partial state and report files; default `.kpiflow/` beside the "
        "SQLite database file, else `./.kpiflow/`.",
    )
    engine: EngineName = Field(
        "duckdb", description="KPI engine: " + ", ".join(ENGINES) + " (`--engine` on the "
        "commands that compute KPIs).")
    spark_master: str = Field(
        "local[*]", min_length=1, description="Spark master URL for the spark engine "
        "(`local[*]`, `spark://host:7077`, `yarn`, `k8s://...`; `--spark-master`).")
    spark_driver_memory: str | None = Field(
        None, pattern=r"^[1-9][0-9]*[kKmMgGtT]?$", description="Heap of the Spark driver JVM "
        "kpiflow starts (`4g`, `8192m`); by default a quarter of the machine's memory, at most "
        "8 GiB, for a local master, and the cluster's own setting otherwise.")
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    lock_timeout_seconds: float = Field(
        0.0, ge=0, description="How long a pass waits for another pass to finish; 0 = exit at once."
    )
    read_timeout_seconds: float = Field(
        120.0, gt=0, le=86_400,
        description="A source file not read whole within this many seconds (slow or hung "
        "storage) is recorded `unreadable` and tried again on the next pass.",
    )
    api_token: SecretStr | None = Field(
        None,
        description="Bearer token for the API's write routes (`POST /api/v1/runs/{pack}`, the "
        "dashboard's Run now button); unset = those routes are disabled.",
    )
    api_token_reads: bool = Field(
        False,
        description="Require the bearer token on the API's read routes too (every pack's data "
        "routes, CSV reports included); needs `KPIFLOW_API_TOKEN`. `/healthz`, the API docs and "
        "the dashboard's pages and static files stay open.",
    )

    trusted_hosts: str = Field(
        "",
        description="Comma-separated Host header values the API and dashboard answer (e.g. "
        "`kpiflow.example.com,*.internal`); others get 400. Empty = any host. Redirects never "
        "leave the site either way.",
    )

    @property
    def trusted_host_list(self) -> list[str]:
        """`trusted_hosts` as a list, blanks dropped."""
        return [h.strip() for h in self.trusted_hosts.split(",") if h.strip()]

    ready_failed_passes: int = Field(
        3, ge=1, le=1000,
        description="`/readyz` and `kpiflow status` report a pack not ready when its last this "
        "many passes all failed.",
    )

    @field_validator("engine", mode="before")
    @classmethod
    def _known_engine(cls, value: object) -> object:
        # Before the Literal check, whose message ("Input should be ...") names no setting.
        if value not in ENGINES:
            raise ValueError(f"unknown engine {value!r}; engines: {', '.join(ENGINES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _parseable_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url  # here, so `kpiflow --help` never loads SQLAlchemy

        try:
            make_url(value)
        except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse text
            raise ValueError(f"not a database URL: {exc}") from None
        return value

    @model_validator(mode="after")
    def _reads_need_a_token(self) -> Settings:
        token = self.api_token.get_secret_value().strip() if self.api_token is not None else ""
        if self.api_token_reads and not token:
            raise ValueError(
                "KPIFLOW_API_TOKEN_READS is on but KPIFLOW_API_TOKEN is not set: set the token, "
                "or turn KPIFLOW_API_TOKEN_READS off"
            )
        return self

    @property
    def resolved_state_dir(self) -> Path:
        """The state directory, with the default derived from the database location.

        SQLite: `.kpiflow/` beside the database file. A server database: `./.kpiflow/db-<backend>-
        <host>-<port>-<database>/`, so two databases run from one folder never share state
        (a shared folder is refused anyway). A `./.kpiflow/` of the older layout (pack folders
        right in it) is kept as it is, so an upgrade finds its state.
        """
        if self.state_dir is not None:
            return self.state_dir
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).resolve().parent / ".kpiflow"
        base = Path(".kpiflow").resolve()
        if base.is_dir() and any(not c.name.startswith("db-") for c in base.iterdir()):
            return base
        server = f"db-{url.get_backend_name()}-{url.host or 'local'}-{url.port or 'default'}-"
        return base / re.sub(r"[^A-Za-z0-9._-]", "_", server + (url.database or ""))[:200]


class NoSettings(BaseSettings):
    """Settings model for a pack that has none of its own (`kpiflow.registry.NoSettings`)."""
