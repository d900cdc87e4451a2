"""Emit inspection events through the outbox."""

from kit.outbox import publisher

SOURCE = "/services/inspection"
publish = publisher(SOURCE)
