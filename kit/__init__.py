"""Shared library of the zone platform. It never imports a service."""
