"""Notify settings (env prefix `NOTIFY_`)."""

from pydantic_settings import SettingsConfigDict

from kit.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    """Notify settings; e.g. `NOTIFY_WEBHOOK_ALLOW`, `NOTIFY_RETRY_BASE_S`."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    port: int = 8004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/notify"
    # Hosts or networks (CIDR) a webhook may target although they are private or loopback,
    # comma-separated; the tests and the bench name their local receiver here.
    webhook_allow: str = ""
    # Delivery: timeout per attempt; backoff base and cap; how long a delivery is retried.
    webhook_timeout_s: float = 10.0
    retry_base_s: float = 10.0
    retry_cap_s: float = 4 * 3600.0
    retry_window_s: float = 24 * 3600.0
    # A claimed delivery is leased this long (beyond the timeout): a process killed mid-send
    # leaves it to be sent again after the lease.
    lease_s: float = 60.0
    # A webhook is disabled (with a notice to its owner) when its deliveries have failed this
    # many times in a row and for this long without a success: a burst against a receiver
    # that is down for a minute does not disable it.
    disable_after_failures: int = 100
    disable_after_s: float = 3 * 24 * 3600.0
    # Concurrent deliveries per process, rows claimed per round, and the poll for retries that
    # come due (a delivery due at once wakes the dispatchers through `LISTEN deliveries`).
    dispatch_concurrency: int = 128
    dispatch_batch: int = 500
    dispatch_poll_s: float = 1.0
    # The zone office's agency: it receives every risk warning.
    office_agency: str = "commerce"


settings = NotifySettings()
