"""The deployment files agree with the code: every app is deployed with probes, requests and
limits, on the port its settings name, from one image; NATS is a 3-node cluster with R3
streams and `sync_interval: always`; the NATS config is one the server accepts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.launcher import APPS
from gateway.config import GatewaySettings
from services.credit.config import CreditSettings
from services.inspection.config import InspectionSettings
from services.notify.config import NotifySettings
from services.registry.config import RegistrySettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PORTS = {
    "gateway": GatewaySettings.model_fields["port"].default,
    "registry": RegistrySettings.model_fields["port"].default,
    "credit": CreditSettings.model_fields["port"].default,
    "inspection": InspectionSettings.model_fields["port"].default,
    "notify": NotifySettings.model_fields["port"].default,
}


def _k8s() -> list[dict[str, Any]]:
    return [
        d
        for f in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for d in yaml.safe_load_all(f.read_text())
        if d
    ]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_every_app_has_its_settings_port() -> None:
    assert set(PORTS) == set(APPS)


def test_kubernetes_deploys_every_app_with_probes_limits_scaling_and_the_right_port() -> None:
    docs = _k8s()
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for name, (app, prefix) in APPS.items():
        deployment = next(
            d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name
        )
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        port = PORTS[name]
        assert container["image"] == "zone-platform:1"
        assert container["ports"][0]["containerPort"] == port
        env = _env(container)
        assert env["ZONE_APP"] == app and env["ZONE_PORT"] == str(port)
        assert env[f"{prefix}PROFILE"] == "prod" and f"{prefix}DATABASE_URL" in env
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": port}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound])
        assert ("Service", name) in kinds and ("HorizontalPodAutoscaler", name) in kinds
        for value in env.values():  # secrets come from the environment, never inline
            assert (
                "password" not in str(value).lower()
                or "secretKeyRef" in str(value)
                or "$(" in str(value)
            )
    gateway = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "gateway"
    )
    gateway_env = _env(gateway["spec"]["template"]["spec"]["containers"][0])
    assert "secretKeyRef" in gateway_env["GATEWAY_SIGNING_KEY_PEM"]
    for name in APPS:
        if name != "gateway":
            assert gateway_env[f"GATEWAY_{name.upper()}_URL"] == f"http://{name}:{PORTS[name]}"


def test_kubernetes_migrates_then_provisions_r3_streams_on_a_three_node_nats() -> None:
    docs = _k8s()
    job = next(d for d in docs if d["kind"] == "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert (
        "deploy.migrate" in container["command"][-1]
        and "deploy.streams" in container["command"][-1]
    )
    assert _env(container)["ZONE_STREAM_REPLICAS"] == "3"
    nats = next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "nats")
    assert nats["spec"]["replicas"] == 3 and nats["spec"]["volumeClaimTemplates"]
    config = next(
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "nats-config"
    )
    assert config["data"]["nats.conf"] == (DEPLOY / "nats" / "nats.conf").read_text()
    assert "sync_interval: always" in config["data"]["nats.conf"]


def test_compose_runs_every_app_after_the_migration_on_three_nats_nodes() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert {"postgres", "nats-1", "nats-2", "nats-3", "migrate"} <= set(compose)
    assert compose["migrate"]["environment"]["ZONE_STREAM_REPLICAS"] == "3"
    for name, (app, prefix) in APPS.items():
        service = compose[name]
        assert service["environment"]["ZONE_APP"] == app
        assert service["environment"][f"{prefix}PROFILE"] == "prod"
        assert service["environment"]["ZONE_PORT"] == str(PORTS[name])
        assert f":{PORTS[name]}/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for node in ("nats-1", "nats-2", "nats-3"):
        command = compose[node]["command"]
        assert command[command.index("--routes") + 1].count("nats://") == 2


def test_the_nats_config_is_one_the_server_accepts(tmp_path: Path) -> None:
    binary = shutil.which("nats-server") or str(
        Path(__file__).resolve().parents[2] / ".venv/bin/nats-server"
    )
    if not Path(binary).exists():
        pytest.skip("nats-server binary not installed")
    config = tmp_path / "nats.conf"
    config.write_text((DEPLOY / "nats" / "nats.conf").read_text().replace("/data", str(tmp_path)))
    checked = subprocess.run(
        [binary, "-t", "-c", str(config)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr


def test_alert_rules_name_only_metrics_the_code_exports() -> None:
    import re

    from prometheus_client import REGISTRY

    import services.notify.deliveries.dispatch  # noqa: F401 - registers its metrics

    exported = set()
    for family in REGISTRY.collect():
        exported |= {family.name, f"{family.name}_total", f"{family.name}_bucket"}
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    named = [r for g in rules["groups"] for r in g["rules"]]
    assert {r["alert"] for r in named} >= {"ServerErrors", "OutboxBacklog", "DeadLetters"}
    promql = {"histogram_quantile", "by", "and"}
    for rule in named:
        metrics = set(re.findall(r"\b([a-z]+_[a-z_]+)\b(?=[\[{)\s])", rule["expr"])) - promql
        assert metrics, rule["alert"]
        assert metrics <= exported, (rule["alert"], metrics - exported)
        assert rule["labels"]["severity"] in ("page", "ticket")
