"""The keys of the registry's encrypted personal-information columns (REGISTRY_PII_KEYS)."""

from pydantic_settings import SettingsConfigDict

from kit.crypto import KeyringSource
from kit.settings import PiiSettings


class RegistryKeys(PiiSettings):
    """`REGISTRY_PROFILE`, `REGISTRY_PII_KEYS`, `REGISTRY_PII_KEY_ID`: the registry's own."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")


# Read on first use, not at import (a migration needs the keys, not the service's settings).
# A process running registry code with other keys hands them over with `pii.using(...)`.
pii = KeyringSource(lambda: RegistryKeys().pii_keyring())
