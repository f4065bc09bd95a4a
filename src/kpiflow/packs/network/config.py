"""Settings of the network pack (env prefix KPIFLOW_, like the core)."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from kpiflow.config import settings_config


class NetworkSettings(BaseSettings):
    """How many ids to rank, how often to run, and when a file counts as settled."""

    model_config = settings_config()

    top_n: int = Field(10, ge=1, le=10_000, description="Ids kept per interval (KPIFLOW_TOP_N).")
    network_schedule_seconds: int = Field(
        300, ge=5, description="Seconds between scheduled passes under `kpiflow serve`."
    )
    network_settle_seconds: float = Field(
        0.0,
        ge=0,
        description="A file whose mtime is younger than this is left for a later pass.",
    )
    pseudonymize_msisdn: SecretStr | None = Field(
        None,
        description="Key for a keyed hash of msisdn: when set, no raw msisdn is kept in state "
        "or quarantine. Changing it needs a fresh state directory.",
    )

    @property
    def msisdn_secret(self) -> str | None:
        """The pseudonymization key, or None when msisdn is kept as is."""
        key = self.pseudonymize_msisdn
        return key.get_secret_value() if key is not None and key.get_secret_value() else None
