"""Inboxes: messages for agencies, enterprises, inspectors and users."""
