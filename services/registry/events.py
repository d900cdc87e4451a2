"""Emit registry events through the outbox."""

from kit.outbox import publisher

SOURCE = "/services/registry"
publish = publisher(SOURCE)
