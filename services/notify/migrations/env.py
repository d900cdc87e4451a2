"""Alembic environment for the notify database."""

from kit.migrations import run_env
from services.notify.models import metadata

run_env(metadata)
