"""Notify consumes every domain event (one durable consumer per producing stream)."""

from kit.inbox import Consumer
from services.notify.fanout import on_event

CONSUMERS = [
    Consumer(durable="notify-registry", stream="REGISTRY", handler=on_event),
    Consumer(durable="notify-credit", stream="CREDIT", handler=on_event),
    Consumer(durable="notify-inspection", stream="INSPECTION", handler=on_event),
]
