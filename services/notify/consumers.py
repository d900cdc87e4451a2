"""Notify consumes every domain event (one durable consumer per producing stream)."""

from kit.events import CONTRACTS
from kit.inbox import Consumer, Handler, in_lanes
from services.notify.fanout import on_event, wanted


def _every(service: str) -> dict[str, Handler]:
    return {t: on_event for t in CONTRACTS if t.startswith(f"{service}.")}


CONSUMERS = in_lanes(
    Consumer("notify-registry", "REGISTRY", _every("registry"), wanted=wanted),
    Consumer("notify-credit", "CREDIT", _every("credit"), wanted=wanted),
    Consumer("notify-inspection", "INSPECTION", _every("inspection"), wanted=wanted),
)
