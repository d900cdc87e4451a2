"""Inspection settings (env prefix `INSPECTION_`)."""

from typing import Literal

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
    # Evidence files (/v1/evidence): the largest accepted, and where the bytes are kept:
    # PostgreSQL chunk rows of `evidence_chunk_bytes` (default) or an S3-compatible bucket
    # (docs/api.md has the bucket policy). An empty endpoint is AWS's own; empty keys use
    # botocore's usual chain (environment, instance or pod role).
    evidence_max_bytes: int = 20 * 1024 * 1024
    evidence_chunk_bytes: int = 256 * 1024
    evidence_backend: Literal["postgres", "s3"] = "postgres"
    evidence_s3_endpoint_url: str = ""
    evidence_s3_bucket: str = "zone-evidence"
    evidence_s3_prefix: str = "evidence/"
    evidence_s3_region: str = "us-east-1"
    evidence_s3_access_key_id: str = ""
    evidence_s3_secret_access_key: str = ""


settings = InspectionSettings()
