"""The keys of the gateway's encrypted columns (GATEWAY_PII_KEYS, kit.crypto): users' names
(personal information) and the private halves of the token signing keys."""

from pydantic_settings import SettingsConfigDict

from kit.crypto import KeyringSource
from kit.settings import PiiSettings


class GatewayKeys(PiiSettings):
    """`GATEWAY_PROFILE`, `GATEWAY_PII_KEYS`, `GATEWAY_PII_KEY_ID`: the gateway's own."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")


# Read on first use, not at import (a migration needs the keys, not the gateway's settings).
pii = KeyringSource(lambda: GatewayKeys().pii_keyring())
