"""Every series the alert rules read is in a scrape from the moment a process starts, at 0,
in prometheus_client's multiprocess mode (several uvicorn workers, one file each): a counter
born at its first increment has no earlier sample, so `rate()` and `increase()` never see
that rise (`OutboxStalled` could not fire for a relay that never published; the first dead
letter would never reach `DeadLetters`).

Two "workers" (subprocesses sharing PROMETHEUS_MULTIPROC_DIR) build what a service process
builds at start (relay, consumer runners, dispatcher, its routes' 5xx series); a third scrapes
with the app's own `metrics_endpoint`. tests/e2e/test_metrics_from_start.py checks the same on
the launched stack."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from deploy.streams import SERVICES, consumers_of
from gateway.proxy import proxied_templates
from kit.inbox import OUTCOMES
from kit.observability import SERVER_ERRORS
from services.notify.deliveries.dispatch import OUTCOMES as WEBHOOK_OUTCOMES

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys
from deploy.streams import SERVICES, consumers_of
from gateway.proxy import proxied_templates
from kit.inbox import ConsumerRunner
from kit.observability import route_templates, zero_server_errors
from kit.outbox import BACKLOG, OutboxRelay
from services.notify.deliveries.dispatch import Dispatcher
from services.registry.main import app

for service in SERVICES:
    OutboxRelay(None, service=service, database_url="postgresql+asyncpg://u@localhost/d")
    for consumer in consumers_of(service):
        ConsumerRunner(consumer, None, None)
Dispatcher(None)
zero_server_errors("registry", route_templates(app))
zero_server_errors("gateway", proxied_templates())
if sys.argv[1:] == ["measure"]:
    BACKLOG.labels("registry").set(7)
"""
SCRAPE = """
import asyncio
from kit.observability import metrics_endpoint
print(asyncio.run(metrics_endpoint(None)).body.decode())
"""
# a latency exists once measured: the first request's, lost to `rate()`, changes no p99
MEASURED_ONLY = {"http_request_duration_seconds_bucket"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], list[float]]


def _run(code: str, multiproc: Path, *args: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    multiproc = tmp_path_factory.mktemp("metrics")
    _run(WORKER, multiproc, "measure")  # the first worker measures the backlog ...
    _run(WORKER, multiproc)  # ... before the second one starts
    assert len(list(multiproc.glob("counter_*.db"))) == 2
    samples: Samples = {}
    for family in text_string_to_metric_families(_run(SCRAPE, multiproc)):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            samples.setdefault(key, []).append(sample.value)
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    found = samples.get((name, frozenset(labels.items())))
    assert found is not None, f"{name}{labels} is not in the scrape"
    assert len(found) == 1, (name, labels, found)  # one series, not one per worker
    return found[0]


def test_every_metric_the_rules_read_is_scraped_before_anything_happened(
    scraped: Samples,
) -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yaml").read_text())
    named = {
        metric
        for group in rules["groups"]
        for rule in group["rules"]
        for metric in re.findall(r"\b([a-z]+_[a-z_]+)\b(?=[\[{)\s])", rule["expr"])
    } - {"histogram_quantile"}
    assert named > MEASURED_ONLY
    in_scrape = {name for name, _ in scraped}
    assert named - MEASURED_ONLY <= in_scrape, sorted(named - MEASURED_ONLY - in_scrape)


def test_each_relay_starts_with_nothing_published(scraped: Samples) -> None:
    for service in SERVICES:
        assert _value(scraped, "outbox_published_total", service=service) == 0
        assert _value(scraped, "outbox_republished_total", service=service) == 0
        assert _value(scraped, "outbox_oldest_unsent_seconds", service=service) == 0
        if service != "registry":
            assert _value(scraped, "outbox_backlog", service=service) == 0


def test_a_gauges_placeholder_never_hides_a_measurement(scraped: Samples) -> None:
    # the second worker's 0 came later, but is stamped older than any measurement
    assert _value(scraped, "outbox_backlog", service="registry") == 7


def test_each_consumer_starts_with_every_outcome_at_zero(scraped: Samples) -> None:
    durables = [c.durable for s in SERVICES for c in consumers_of(s)]
    assert durables
    for durable in durables:
        for outcome in OUTCOMES:
            assert (
                _value(scraped, "consumer_messages_total", consumer=durable, outcome=outcome) == 0
            )
        assert _value(scraped, "consumer_pending", consumer=durable) == 0
        assert _value(scraped, "consumer_ack_pending", consumer=durable) == 0


def test_webhook_outcomes_start_at_zero(scraped: Samples) -> None:
    for outcome in WEBHOOK_OUTCOMES:
        assert _value(scraped, "webhook_deliveries_total", outcome=outcome) == 0


def test_every_route_starts_with_its_server_errors_at_zero(scraped: Samples) -> None:
    for method, route in [("GET", "/livez"), ("POST", "/v1/enterprises")]:
        for status in SERVER_ERRORS:
            labels = {"service": "registry", "method": method, "route": route, "status": status}
            assert _value(scraped, "http_requests_total", **labels) == 0
    for method, route in proxied_templates():
        labels = {"service": "gateway", "method": method, "route": route, "status": "503"}
        assert _value(scraped, "http_requests_total", **labels) == 0
