"""Alembic environment for the inspection database."""

from kit.migrations import run_env
from services.inspection.models import metadata

run_env(metadata)
