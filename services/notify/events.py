"""Emit notify events through the outbox."""

from kit.outbox import publisher

SOURCE = "/services/notify"
publish = publisher(SOURCE)
