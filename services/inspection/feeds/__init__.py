"""Feeds in their published formats: EU Safety Gate alert exports into risk signals."""
