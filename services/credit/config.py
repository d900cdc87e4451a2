"""Credit settings (env prefix `CREDIT_`)."""

from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings


class CreditSettings(ServiceSettings):
    """Credit settings; e.g. `CREDIT_DATABASE_URL`, `CREDIT_RESCORE_CHUNK`."""

    model_config = SettingsConfigDict(env_prefix="CREDIT_", extra="ignore")

    service_name: str = "credit"
    port: int = 8002
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/credit"
    # Facts may be dated this far in the future (clock skew between agency systems).
    clock_skew_s: int = 300
    # A fact for an enterprise not yet announced waits this long for registry's event.
    announce_wait_s: float = 2.0
    # Enterprises per rescoring transaction; memory is bounded by this, not the county.
    rescore_chunk: int = 2000
    # A rescoring job for time decay (and expiries) is queued when none ran for this long.
    decay_interval_s: int = 24 * 3600
    job_poll_s: float = 1.0
    # The zone office's bureau (县商务局): credited with commitments announced by registry, and
    # the agency an admin token without one speaks for.
    office_agency: str = "commerce"


settings = CreditSettings()
