"""The deployment files agree with the code: every app is deployed with probes, requests and
limits, on the port its settings name, from one image; NATS is a 3-node cluster with R3
streams and `sync_interval: always`; the NATS config is one the server accepts, its
authorization is the one generated from the services' declarations, every identity's
password comes from the nats-credentials Secret (compose: the environment), network
policies let only the platform's pods reach NATS and PostgreSQL and only the gateway reach the
services (which also require its assertion), and every uvicorn launch
believes forwarded headers only from its trusted proxies (none for the gateway by default)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.launcher import APPS, Stack, proxy_header_flags
from deploy.nats_auth import IDENTITIES, PROVISIONER, environment_passwords, production_config
from deploy.streams import SERVICES
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
NATS_SECRET = "nats-credentials"
SETTINGS = {
    "gateway": GatewaySettings,
    "registry": RegistrySettings,
    "credit": CreditSettings,
    "inspection": InspectionSettings,
    "notify": NotifySettings,
}
# The services that keep encrypted personal information: they, and the migration that
# encrypts their rows, need their keys in prod.
PII = [name for name, settings in SETTINGS.items() if settings.stores_personal_data]


def _k8s() -> list[dict[str, Any]]:
    return [
        d
        for f in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for d in yaml.safe_load_all(f.read_text())
        if d
    ]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def _from_nats_secret(key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": NATS_SECRET, "key": key}}


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
    assert config["data"]["auth.conf"] == (DEPLOY / "nats" / "auth.conf").read_text()


def test_kubernetes_nats_reads_every_identity_password_from_the_secret() -> None:
    docs = _k8s()
    nats = _one(docs, "StatefulSet", "nats")
    pod = nats["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = _env(container)
    for name in IDENTITIES:
        assert env[f"{name.upper()}_NATS_PASSWORD"] == _from_nats_secret(name), name
    # every variable auth.conf refers to is one the container gets
    referenced = set(re.findall(r"\$([A-Z_]+_NATS_PASSWORD)\b", production_config()))
    assert referenced == {f"{name.upper()}_NATS_PASSWORD" for name in IDENTITIES}
    assert referenced <= set(env)
    # both files of the ConfigMap land side by side in /etc/nats, where the include finds them
    config_dir = next(m for m in container["volumeMounts"] if m["name"] == "config")
    assert config_dir["mountPath"] == "/etc/nats" and "subPath" not in config_dir
    volume = next(v for v in pod["volumes"] if v["name"] == "config")
    assert volume["configMap"]["name"] == "nats-config" and "items" not in volume["configMap"]
    assert container["args"][container["args"].index("-c") + 1] == "/etc/nats/nats.conf"
    assert "include ./auth.conf" in (DEPLOY / "nats" / "nats.conf").read_text().splitlines()


def test_kubernetes_services_and_the_migration_connect_as_their_own_nats_identity() -> None:
    docs = _k8s()
    for name, (_, prefix) in APPS.items():
        deployment = _one(docs, "Deployment", name)
        env = _env(deployment["spec"]["template"]["spec"]["containers"][0])
        if name not in SERVICES:  # the gateway does not use NATS
            assert not any("NATS" in key for key in env), name
            continue
        assert env[f"{prefix}NATS_USER"] == name
        assert env[f"{prefix}NATS_PASSWORD"] == _from_nats_secret(name)
    job = _one(docs, "Job", "zone-migrate")
    assert job["spec"]["template"]["metadata"]["labels"]["app"] == "migrate"
    env = _env(job["spec"]["template"]["spec"]["containers"][0])
    assert env["ZONE_NATS_USER"] == PROVISIONER
    assert env["ZONE_NATS_PASSWORD"] == _from_nats_secret(PROVISIONER)
    # no credential is committed: nothing of kind Secret in the manifests
    assert not [d for d in docs if d["kind"] == "Secret"]


def _ingress(policy: dict[str, Any], port: int) -> list[dict[str, Any]]:
    """The `from` peers of the rules that open `port` (TCP)."""
    peers = []
    for rule in policy["spec"]["ingress"]:
        if any(p["port"] == port and p.get("protocol", "TCP") == "TCP" for p in rule["ports"]):
            peers += rule["from"]
    return peers


def _apps(peers: list[dict[str, Any]]) -> set[str]:
    """The `app` labels a list of same-namespace pod peers admits (fails on anything wider)."""
    apps: set[str] = set()
    for peer in peers:
        assert set(peer) == {"podSelector"}, peer  # no namespaceSelector, no ipBlock
        selector = peer["podSelector"]
        if "matchLabels" in selector:
            assert set(selector) == {"matchLabels"} and set(selector["matchLabels"]) == {"app"}
            apps.add(selector["matchLabels"]["app"])
        else:
            (expression,) = selector["matchExpressions"]
            assert set(selector) == {"matchExpressions"}
            assert expression["key"] == "app" and expression["operator"] == "In"
            apps |= set(expression["values"])
    return apps


def test_network_policies_let_only_the_platforms_pods_reach_nats_and_postgres() -> None:
    docs = _k8s()
    services = set(SERVICES)
    nats = _one(docs, "NetworkPolicy", "nats")
    assert nats["metadata"]["namespace"] == "zone-platform"
    assert nats["spec"]["podSelector"] == {"matchLabels": {"app": "nats"}}
    assert nats["spec"]["policyTypes"] == ["Ingress"]
    assert _apps(_ingress(nats, 4222)) == services | {"migrate"}
    assert _apps(_ingress(nats, 6222)) == {"nats"}
    assert _ingress(nats, 8222) == [{"podSelector": {}}]  # the namespace's own pods
    opened = {p["port"] for rule in nats["spec"]["ingress"] for p in rule["ports"]}
    assert opened == {4222, 6222, 8222}
    # the labels the policy names are the ones the pods carry
    statefulset = _one(docs, "StatefulSet", "nats")
    assert statefulset["spec"]["template"]["metadata"]["labels"]["app"] == "nats"
    for name in (*SERVICES, "gateway"):
        labels = _one(docs, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert labels["app"] == name
    job = _one(docs, "Job", "zone-migrate")
    assert job["spec"]["template"]["metadata"]["labels"]["app"] == "migrate"

    postgres = _one(docs, "NetworkPolicy", "postgres")
    assert postgres["metadata"]["namespace"] == "zone-platform"
    assert postgres["spec"]["podSelector"] == {"matchLabels": {"app": "postgres"}}
    assert postgres["spec"]["policyTypes"] == ["Ingress"]
    assert _apps(_ingress(postgres, 5432)) == set(APPS) | {"migrate", "postgres"}
    assert {p["port"] for rule in postgres["spec"]["ingress"] for p in rule["ports"]} == {5432}


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


def test_compose_gives_nats_its_auth_config_and_every_client_its_identity() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]

    def required(variable: str) -> str:
        return f"${{{variable}:?set {variable}}}"

    for node in ("nats-1", "nats-2", "nats-3"):
        assert "./nats/nats.conf:/etc/nats/nats.conf:ro" in compose[node]["volumes"]
        assert "./nats/auth.conf:/etc/nats/auth.conf:ro" in compose[node]["volumes"]
        env = compose[node]["environment"]
        for name in IDENTITIES:
            variable = f"{name.upper()}_NATS_PASSWORD"
            assert env[variable] == required(variable), (node, variable)
    for name, (_, prefix) in APPS.items():
        env = compose[name]["environment"]
        if name not in SERVICES:
            assert not any("NATS" in key for key in env), name
            continue
        assert env[f"{prefix}NATS_USER"] == name
        assert env[f"{prefix}NATS_PASSWORD"] == required(f"{name.upper()}_NATS_PASSWORD")
    migrate = compose["migrate"]["environment"]
    assert migrate["ZONE_NATS_USER"] == PROVISIONER
    assert migrate["ZONE_NATS_PASSWORD"] == required("PROVISIONER_NATS_PASSWORD")


def test_personal_information_keys_come_from_the_secret_in_prod() -> None:
    docs = _k8s()
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    job = next(d for d in docs if d["kind"] == "Job")
    job_env = _env(job["spec"]["template"]["spec"]["containers"][0])
    assert sorted(PII) == ["gateway", "registry"]
    for name in PII:
        prefix = APPS[name][1]
        key = f"{name}-pii-keys"
        app = _one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        # the migration too, in prod: without keys it must fail, not use the dev key
        for env in (_env(app), job_env):
            assert env[f"{prefix}PROFILE"] == "prod"
            assert env[f"{prefix}PII_KEYS"] == {
                "secretKeyRef": {"name": "zone-secrets", "key": key}
            }
        for env in (compose[name]["environment"], compose["migrate"]["environment"]):
            assert env[f"{prefix}PROFILE"] == "prod"
            assert env[f"{prefix}PII_KEYS"] == f"${{{prefix}PII_KEYS:?set {prefix}PII_KEYS}}"


def test_the_committed_auth_conf_is_the_generated_one() -> None:
    committed = (DEPLOY / "nats" / "auth.conf").read_text()
    assert committed == production_config(), (
        "deploy/nats/auth.conf is stale (the services' consumer declarations changed): run "
        "`python -m deploy.nats_auth --write` (auth.conf and its copy in deploy/k8s/nats.yaml)"
    )


def test_the_nats_config_is_one_the_server_accepts(tmp_path: Path) -> None:
    binary = shutil.which("nats-server") or str(
        Path(__file__).resolve().parents[2] / ".venv/bin/nats-server"
    )
    if not Path(binary).exists():
        pytest.skip("nats-server binary not installed")
    config = tmp_path / "nats.conf"
    config.write_text((DEPLOY / "nats" / "nats.conf").read_text().replace("/data", str(tmp_path)))
    shutil.copy(DEPLOY / "nats" / "auth.conf", tmp_path / "auth.conf")  # `include ./auth.conf`
    # The passwords are the server's environment variables (`$REGISTRY_NATS_PASSWORD`, …).
    base = {k: v for k, v in os.environ.items() if not k.endswith("_NATS_PASSWORD")}
    dummy = {
        ref[1:]: f"Dummy{i}+pass/word" for i, ref in enumerate(environment_passwords().values())
    }

    def check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, "-t", "-c", str(config)], capture_output=True, text=True, timeout=30, env=env
        )

    checked = check(base | dummy)
    assert checked.returncode == 0, checked.stderr
    # the include is read: without the variables the server refuses the config
    missing = check(base)
    assert missing.returncode != 0 and "REGISTRY_NATS_PASSWORD" in missing.stderr


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


def test_uvicorn_believes_forwarded_headers_only_from_trusted_proxies() -> None:
    # uvicorn's default trusts 127.0.0.1: any local client could name its own address
    assert proxy_header_flags("") == proxy_header_flags(" , ") == ["--no-proxy-headers"]
    assert proxy_header_flags("10.0.0.0/8, 192.0.2.7") == [
        "--proxy-headers",
        "--forwarded-allow-ips",
        "10.0.0.0/8,192.0.2.7",
    ]
    stack = Stack(data_dir=Path("/nonexistent"))
    assert stack.trusted_proxies_of("gateway") == ""  # `make run`: the gateway trusts no one
    for name in SERVICES:  # … and the services trust the gateway, on this host
        assert stack.trusted_proxies_of(name) == "127.0.0.1"
    assert Stack(data_dir=Path("/x"), host="0.0.0.0").trusted_proxies_of("credit") == "127.0.0.1"
    behind = Stack(data_dir=Path("/x"), host="192.0.2.10", trusted_proxies="192.0.2.1")
    assert behind.trusted_proxies_of("gateway") == "192.0.2.1"
    assert behind.trusted_proxies_of("registry") == "192.0.2.10"


def _dockerfile_cmd() -> str:
    import json

    (line,) = [
        line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    ]
    command: list[str] = json.loads(line.removeprefix("CMD "))
    assert command[:2] == ["sh", "-c"]
    return command[2]


@pytest.mark.parametrize(
    ("trusted", "flags"),
    [
        (None, ["--no-proxy-headers"]),
        ("", ["--no-proxy-headers"]),
        (
            "10.0.0.0/8,192.0.2.7",
            ["--proxy-headers", "--forwarded-allow-ips", "10.0.0.0/8,192.0.2.7"],
        ),
    ],
)
def test_the_image_passes_its_trusted_proxies_to_uvicorn(
    tmp_path: Path, trusted: str | None, flags: list[str]
) -> None:
    fake = tmp_path / "python"  # stands in for the image's: prints the arguments it was given
    fake.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    fake.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "ZONE_APP": "gateway.main:app",
        "ZONE_PORT": "8000",
        "ZONE_WORKERS": "2",
    }
    if trusted is not None:
        env["ZONE_TRUSTED_PROXIES"] = trusted
    run = subprocess.run(
        ["sh", "-c", _dockerfile_cmd()], env=env, capture_output=True, text=True, timeout=10
    )
    assert run.returncode == 0, run.stderr
    args = run.stdout.splitlines()
    assert args[:5] == ["-m", "deploy.serve", "gateway.main:app", "--host", "0.0.0.0"]
    assert args[args.index("--timeout-graceful-shutdown") + 2 :] == flags
    assert "ZONE_TRUSTED_PROXIES=" in (DEPLOY / "Dockerfile").read_text()  # empty by default


def test_deployments_trust_no_proxy_at_the_gateway_and_the_gateway_at_services() -> None:
    import ipaddress

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    docs = _k8s()
    for name in APPS:
        container = _one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        given = {
            "k8s": _env(container)["ZONE_TRUSTED_PROXIES"],
            "compose": compose[name]["environment"]["ZONE_TRUSTED_PROXIES"],
        }
        if name == "gateway":  # none unless the operator names a proxy in front
            assert given == {"k8s": "", "compose": "${ZONE_TRUSTED_PROXIES:-}"}
            continue
        for where, value in given.items():  # networks uvicorn can parse, never "*"
            assert value and all(ipaddress.ip_network(v) for v in value.split(",")), (name, where)


def test_network_policies_let_only_the_gateway_reach_the_services() -> None:
    docs = _k8s()
    policy = _one(docs, "NetworkPolicy", "services")
    assert policy["metadata"]["namespace"] == "zone-platform"
    (selector,) = policy["spec"]["podSelector"]["matchExpressions"]
    assert selector["key"] == "app" and selector["operator"] == "In"
    assert set(selector["values"]) == set(SERVICES)
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert _apps(rule["from"]) == {"gateway"}
    assert {p["port"] for p in rule["ports"]} == {PORTS[name] for name in SERVICES}
    # every service pod is selected, the gateway's pods are not
    for name in SERVICES:
        labels = _one(docs, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert labels["app"] in selector["values"]
    assert "gateway" not in selector["values"]


def test_services_require_the_gateways_assertion_in_k8s_compose_and_make_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = _k8s()
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name, (_, prefix) in APPS.items():
        container = _one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        given = {
            _env(container).get(f"{prefix}REQUIRE_GATEWAY"),
            compose[name]["environment"].get(f"{prefix}REQUIRE_GATEWAY"),
        }
        assert given == ({None} if name == "gateway" else {"true"}), name
    # the prod profile turns it on by itself; dev and test leave it off unless told
    assert RegistrySettings(profile="prod", **_PROD).require_gateway is True
    assert RegistrySettings(profile="dev").require_gateway is False
    assert RegistrySettings(profile="dev", require_gateway=True).require_gateway is True
    assert GatewaySettings(profile="dev").require_gateway is False
    # `make run` (and every test stack) turns it on; the environment may say otherwise
    for _, prefix in APPS.values():
        monkeypatch.delenv(f"{prefix}REQUIRE_GATEWAY", raising=False)
    stack = Stack(data_dir=tmp_path)
    for name in SERVICES:
        assert stack.service_env(name)[f"{APPS[name][1]}REQUIRE_GATEWAY"] == "true"
    assert "GATEWAY_REQUIRE_GATEWAY" not in stack.service_env("gateway")
    monkeypatch.setenv("CREDIT_REQUIRE_GATEWAY", "false")
    assert stack.service_env("credit")["CREDIT_REQUIRE_GATEWAY"] == "false"


_PROD = {
    "database_url": "postgresql+asyncpg://zone:pw@postgres:5432/registry",
    "nats_user": "registry",
    "nats_password": "a-real-password",
    "pii_keys": {"k": "aes256gcm:" + "A" * 43 + "="},
}
