"""Settings shared by every service: one `settings` object per service, an env prefix each."""

from __future__ import annotations

import os
from typing import ClassVar, Literal

from pydantic import Field, IPvAnyNetwork, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kit.crypto import Keyring, dev_keyring, is_dev_key
from kit.messaging import NatsIdentity

Profile = Literal["dev", "test", "prod"]

# Values that only make sense on a developer's machine; outside dev/test they are refused.
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "demo-admin-secret"}


class PiiSettings(BaseSettings):
    """The keys of a service's encrypted personal-information columns (kit.crypto), readable
    on their own: a migration that encrypts rows needs them, not the service's settings."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    profile: Profile = "dev"
    # key id -> "aes256gcm:<base64 of 32 bytes>" or "sm4gcm:<base64 of 16 bytes>", as JSON in
    # the environment (REGISTRY_PII_KEYS='{"2026a": "aes256gcm:…"}'). Old keys stay to
    # decrypt; `pii_key_id` names the one new values are encrypted under (may be empty with
    # one key). Without keys, dev and test use kit.crypto's published dev key; prod refuses.
    pii_keys: dict[str, str] = {}
    pii_key_id: str = ""

    def pii_keyring(self) -> Keyring:
        """The keyring of the personal-information columns (see `pii_keys`)."""
        if not self.pii_keys:
            if self.profile == "prod":
                raise ValueError("pii_keys must hold the personal-information keys in prod")
            return dev_keyring()
        keyring = Keyring.from_specs(self.pii_keys, self.pii_key_id)
        if self.profile == "prod" and any(is_dev_key(k) for k in keyring.keys.values()):
            raise ValueError("pii_keys must not hold the published dev key in prod")
        return keyring


class ServiceSettings(PiiSettings):
    """Settings every service reads. Subclasses set `env_prefix` (e.g. `REGISTRY_`)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")
    uses_nats: ClassVar[bool] = True  # the gateway does not
    # Whether the service sits behind the gateway (every service does; the gateway does not).
    behind_gateway: ClassVar[bool] = True
    # Whether the service keeps personal information (个人信息) in encrypted columns, and so
    # needs `pii_keys` in prod.
    stores_personal_data: ClassVar[bool] = False

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8001
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/postgres"
    db_pool_size: int = 10
    # plain connections for the hot key lookups (kit.db.ReadPool), on top of the engine's
    # pool (db_pool_size, and as many again in overflow): a lookup holds one for about half
    # a millisecond, so a few serve thousands a second per process
    db_read_pool_size: int = 4
    db_connect_timeout_s: float = 3.0
    db_statement_timeout_ms: int = 15_000
    nats_url: str = "nats://127.0.0.1:4222"
    # The service's own NATS identity (the launcher generates them; production reads them from
    # a Secret). TLS: a CA to trust, and a client certificate if the server asks for one.
    nats_user: str = ""
    nats_password: str = ""
    nats_tls_ca_file: str = ""
    nats_tls_cert_file: str = ""
    nats_tls_key_file: str = ""
    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    # Inline JWKS (JSON) instead of fetching; used by single-service tests.
    jwks_json: str = ""
    # The gateway's revocation list, polled every couple of seconds (kit.auth); empty = beside
    # `jwks_url` (its origin + /oauth/revocations), "off" = not polled (single-service tests).
    revocations_url: str = ""
    jwt_issuer: str = "zone-gateway"
    jwt_audience: str = "zone-platform"
    # Tokens claiming a longer lifetime (exp - iat) are refused with a 401, whoever signed
    # them; keep it at or above the gateway's GATEWAY_TOKEN_TTL_S (900).
    token_max_lifetime_s: int = 1200
    max_body_bytes: int = 1024 * 1024
    # Bulk uploads (JSON lines, CSV) and file uploads (multipart: spreadsheet imports) may be
    # larger: thousands of lineage events per request, 20 MiB import files.
    max_bulk_body_bytes: int = 32 * 1024 * 1024
    outbox_poll_s: float = 1.0
    outbox_batch: int = 200
    # The relay, woken by a commit, waits this long so a burst of commits goes in one batch.
    outbox_linger_s: float = Field(default=0.002, ge=0, le=1)
    # A routine lane's consumer that fetched a short batch waits this long for more before
    # applying it: each batch pays a fetch, a transaction and an inbox statement, so at a
    # steady trickle ten events cost nearly what one does. Urgent lanes never wait.
    consumer_linger_s: float = Field(default=0.05, ge=0, le=1)
    consumers_enabled: bool = True
    # Where the workers of one service on one host agree which of them runs the outbox
    # relay and the consumers (kit.app.one_per_host); default: the system's temp folder.
    exchange_lock_dir: str = ""
    # Housekeeping: sent outbox rows and applied inbox ids are kept this long, then pruned.
    outbox_retention_days: int = 7
    # Longer than the streams keep events (365 days): any copy of an event still on a stream
    # (a redelivery, a replay) finds its inbox row and applies nothing.
    inbox_retention_days: int = 400
    janitor_interval_s: float = 3600
    log_level: str = "INFO"
    # Who may read /metrics: networks (JSON list, e.g. ["10.0.0.0/8"]); None = anyone. The
    # gateway, the one public door, allows loopback only by default.
    metrics_allow: list[IPvAnyNetwork] | None = None
    # Accept requests only with the gateway's signed assertion (kit.gateway_assertion), so
    # no caller skips its audit and rate limits by calling the service's port. Unset: on in
    # prod, off otherwise; `make run` and the test stacks turn it on (deploy/launcher.py).
    require_gateway: bool | None = None

    @property
    def revocations_source(self) -> str | None:
        """Where to poll the revocation list, or None."""
        if self.revocations_url == "off" or (self.jwks_json and not self.revocations_url):
            return None
        if self.revocations_url:
            return self.revocations_url
        origin, _, _ = self.jwks_url.partition("/.well-known/")
        return f"{origin}/oauth/revocations"

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_prod(self) -> ServiceSettings:
        if self.profile == "prod" and "127.0.0.1:54329" in self.database_url:
            raise ValueError("database_url must point at the production PostgreSQL in prod")
        if self.uses_nats and self.profile == "prod":
            if not self.nats_user:
                raise ValueError("nats_user must name the service's NATS identity in prod")
            require_real_secret(self.nats_password, name="nats_password", profile=self.profile)
        if self.require_gateway is None:
            self.require_gateway = self.behind_gateway and self.profile == "prod"
        if self.stores_personal_data:
            self.pii_keyring()  # a bad key fails at start, not at the first read
        if self.profile == "prod" and os.environ.get("ZONE_FAILPOINTS", "").strip():
            raise ValueError(
                "ZONE_FAILPOINTS makes the process kill itself (fault tests only); unset it in prod"
            )
        return self

    @property
    def nats_identity(self) -> NatsIdentity:
        """Who this service is to NATS."""
        return NatsIdentity(
            user=self.nats_user,
            password=self.nats_password,
            tls_ca_file=self.nats_tls_ca_file,
            tls_cert_file=self.nats_tls_cert_file,
            tls_key_file=self.nats_tls_key_file,
        )


def require_real_secret(value: str, *, name: str, profile: Profile) -> str:
    """Return `value`, refusing an empty or placeholder secret in the prod profile."""
    if profile == "prod" and value.strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError(f"{name} must be set to a real secret in the prod profile")
    return value
