"""Gateway settings (env prefix `GATEWAY_`)."""

from ipaddress import ip_network
from typing import ClassVar, Literal

from pydantic import Field, IPvAnyNetwork, model_validator
from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings, require_real_secret


class GatewaySettings(ServiceSettings):
    """Gateway settings; service URLs left empty mean "not deployed yet" (503)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    uses_nats: ClassVar[bool] = False
    behind_gateway: ClassVar[bool] = False  # it is the gateway: it signs the assertions
    stores_personal_data: ClassVar[bool] = True  # users' names; and the signing keys, encrypted
    port: int = 8000
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/gateway"
    # Ed25519 private key (PKCS#8 PEM). Required in prod; dev/test generate one. Either way it is
    # kept in the gateway DB (encrypted), where `POST /v1/signing-keys` rotates it (signing/).
    signing_key_pem: str = ""
    token_ttl_s: int = 900
    # The audit chain's hash for new rows: sha256, or sm3 where 国密 is required (GB/T 32905).
    # Each row records its own, so switching applies from the next row and the chain verifies.
    audit_hash: Literal["sha256", "sm3"] = "sha256"
    # Login-failure handling (等保 登录失败处理): this many failed logins of one account from
    # one address within the window lock it from that address, and this many from all
    # addresses lock it from everywhere, for `login_lock_s` (gateway/lockouts/service.py).
    login_max_failures: int = 5
    login_max_account_failures: int = 20
    login_failure_window_s: float = 900.0
    login_lock_s: float = 900.0
    # Users' passwords: at least this long, and never containing the user name.
    password_min_length: int = Field(default=12, ge=12)  # the API schema's floor is 12
    registry_url: str = "http://127.0.0.1:8001"
    credit_url: str = "http://127.0.0.1:8002"
    inspection_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    upstream_timeout_s: float = 15.0
    # Longer or shorter budgets for some routes: path prefix -> seconds.
    # Bulk uploads (thousands of lineage events or notifications in one request) get longer.
    route_timeouts_s: dict[str, float] = {  # noqa: RUF012
        "/v1/batches": 120.0,
        "/v1/risk/signals": 120.0,
    }
    # keep-alive connections open at once to each service, per gateway process (gateway/hop.py)
    upstream_connections: int = 256
    public_base_url: str = "http://127.0.0.1:8000"
    # Token bucket per client per gateway process; a client's record may override (0 = none).
    rate_limit_per_s: float = 100.0
    rate_limit_burst: int = 200
    # Tighter buckets for some routes, per caller: prefix -> (per second, burst). Each of
    # these checks a client secret (scrypt, about 0.1 s of CPU).
    route_rate_limits: dict[str, tuple[float, int]] = {  # noqa: RUF012
        "/oauth/token": (10.0, 50),
        "/oauth/revoke": (10.0, 50),
        "/oauth/introspect": (10.0, 50),
    }
    # Who may read /metrics: loopback (a Prometheus beside it, `make run`, the tests); add the
    # scraper's network where it runs elsewhere, e.g. GATEWAY_METRICS_ALLOW='["10.0.0.0/8"]'.
    metrics_allow: list[IPvAnyNetwork] | None = [ip_network("127.0.0.0/8"), ip_network("::1")]  # noqa: RUF012
    # Origins allowed to call the API from a browser (the dashboard's); empty = none.
    cors_origins: list[str] = []  # noqa: RUF012
    # A CJK TrueType/OpenType font for the dossier PDF; empty = the bundled Noto Sans SC
    # (pip package pylopdf-fonts-zh-cn), else Debian's fonts-noto-cjk or WenQuanYi.
    cjk_font: str = ""

    @model_validator(mode="after")
    def _prod_needs_key(self) -> "GatewaySettings":
        require_real_secret(
            self.signing_key_pem, name="GATEWAY_SIGNING_KEY_PEM", profile=self.profile
        )
        if self.token_ttl_s > self.token_max_lifetime_s:
            raise ValueError(
                "token_ttl_s must not exceed token_max_lifetime_s: every verifier would refuse "
                "the tokens the gateway issues"
            )
        return self


settings = GatewaySettings()
