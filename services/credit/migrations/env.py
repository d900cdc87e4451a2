"""Alembic environment for the credit database."""

from kit.migrations import run_env
from services.credit.models import metadata

run_env(metadata)
