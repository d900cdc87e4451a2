"""Notify: subscriptions, signed webhooks, inboxes, risk warnings, bulletins, dead letters."""
