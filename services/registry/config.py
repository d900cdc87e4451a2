"""Registry settings (env prefix `REGISTRY_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Registry settings; e.g. `REGISTRY_DATABASE_URL`, `REGISTRY_NATS_URL`."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    # legal representatives, responsible persons, signatories (services.registry.keys)
    stores_personal_data: ClassVar[bool] = True

    service_name: str = "registry"
    port: int = 8001
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/registry"
    office_agency: str = "commerce"  # the zone office's bureau: admin tokens act for it
    overdue_check_s: float = 60.0  # how often overdue action items and zones are announced
    import_poll_s: float = 1.0  # how often a process looks for a queued import job
    # New registrations must carry the GB 11714 check character of the organisation code
    # embedded in their USCC (characters 9–17), as every code issued does: on, in every
    # profile, so a mistyped code is refused at the door. Rows already registered are not
    # rechecked; false accepts a code whose 18th check character alone is right.
    uscc_org_check: bool = True


settings = RegistrySettings()
