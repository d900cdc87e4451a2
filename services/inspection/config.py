"""Inspection settings (env prefix `INSPECTION_`)."""

from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings


class InspectionSettings(ServiceSettings):
    """Inspection settings; e.g. `INSPECTION_DATABASE_URL`, `INSPECTION_CAPA_DAYS`."""

    model_config = SettingsConfigDict(env_prefix="INSPECTION_", extra="ignore")

    service_name: str = "inspection"
    port: int = 8003
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/inspection"
    # A failed check opens a CAPA due this many days later.
    capa_days: int = 30
    capa_check_s: float = 60.0
    # Largest target population and pool a draw accepts in one request.
    max_population: int = 500_000
    # The agency a signal is recorded for when an admin token names none (the zone office).
    office_agency: str = "commerce"
    # Least attribute score (HS code 0.3, brand 0.3, model 0.3, destination 0.1) for a match.
    match_threshold: float = 0.7


settings = InspectionSettings()
