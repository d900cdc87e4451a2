"""Webhook deliveries: the dispatcher, attempts, replays."""
