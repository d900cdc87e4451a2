"""On the launched stack (uvicorn workers in prometheus_client's multiprocess mode, as
deployed), each process's /metrics shows from its start every series the alert rules in
deploy/prometheus/ read, for each label value it will use: its relay's published count,
each of its consumers' outcomes and lag, notify's webhook outcomes and every route's 5xx
statuses (the gateway's forwarded prefixes too). Values may have moved since (the stack is
shared); the series that nothing touched are still at 0. tests/unit/test_metrics_from_start.py
covers the same in two worker processes without a stack."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from deploy.launcher import Stack
from deploy.streams import SERVICES, consumers_of
from gateway.proxy import proxied_templates
from kit.inbox import OUTCOMES
from kit.observability import SERVER_ERRORS
from services.notify.deliveries.dispatch import OUTCOMES as WEBHOOK_OUTCOMES

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(stack: Stack, process: str) -> Series:
    response = httpx.get(f"{stack.url(process)}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _has(series: Series, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in series, f"{name}{labels} is not in the scrape"
    return series[key]


def test_each_service_shows_the_series_its_alerts_need(stack: Stack) -> None:
    for service in SERVICES:
        series = _scrape(stack, service)
        _has(series, "outbox_published_total", service=service)
        _has(series, "outbox_backlog", service=service)
        _has(series, "outbox_oldest_unsent_seconds", service=service)
        for consumer in consumers_of(service):
            for outcome in OUTCOMES:
                _has(series, "consumer_messages_total", consumer=consumer.durable, outcome=outcome)
            _has(series, "consumer_pending", consumer=consumer.durable)
        for status in SERVER_ERRORS:
            labels = {"service": service, "method": "GET", "route": "/readyz", "status": status}
            assert _has(series, "http_requests_total", **labels) == 0, (service, status)
    notify = _scrape(stack, "notify")
    for outcome in WEBHOOK_OUTCOMES:
        _has(notify, "webhook_deliveries_total", outcome=outcome)


def test_the_gateway_shows_a_5xx_series_for_every_forwarded_prefix(stack: Stack) -> None:
    series = _scrape(stack, "gateway")
    for method, route in proxied_templates():
        for status in SERVER_ERRORS:
            labels = {"service": "gateway", "method": method, "route": route, "status": status}
            _has(series, "http_requests_total", **labels)
    labels = {"service": "gateway", "method": "POST", "route": "/oauth/token", "status": "504"}
    assert _has(series, "http_requests_total", **labels) == 0
