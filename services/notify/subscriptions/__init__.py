"""Subscriptions: event patterns and filters, to a webhook or the inbox."""
