"""Emit credit events through the outbox."""

from kit.outbox import publisher

SOURCE = "/services/credit"
publish = publisher(SOURCE)
