"""Who may do what on NATS: one identity per service, a provisioning identity, a read-only
observer; the server's `authorization` block is generated from the services' declarations.

| identity      | may publish                                         | may consume                     |
|---------------|-----------------------------------------------------|---------------------------------|
| a service     | its own `<service>.>` subjects; `deadletter.<its durable>`; the JetStream calls its own durables need (info, next, ack) | its own durables, replies on `_INBOX_<service>.>` |
| notify        | as a service, and asks for dead letters to be retried (`retry.>`) | as a service |
| provisioner   | anything (creates and updates streams and consumers: `make migrate`, the launcher) | anything |
| observer      | nothing on a stream; creates its own ephemeral consumers | every stream, read-only |

Anonymous connections are refused. The same block serves `make run` (passwords generated
into the data folder, mode 0600) and production (`deploy/nats/auth.conf`, passwords from the
environment of the NATS pods, which a Secret fills).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nats.js.api import ConsumerConfig

from deploy.streams import SERVICES, all_consumers, consumers_of
from kit.inbox import (
    DEAD_LETTER_PREFIX,
    DEAD_LETTER_STREAM,
    RETRY_PREFIX,
    RETRY_STREAM,
    retry_durable,
)

PROVISIONER = "provisioner"
OBSERVER = "observer"
IDENTITIES = (*SERVICES, PROVISIONER, OBSERVER)
# Lists dead letters and asks for retries (notify's admin endpoint); the owning service
# applies a retried letter itself, so no identity ever publishes another's events.
DEAD_LETTER_ADMIN = "notify"


def _service(service: str) -> dict[str, Any]:
    retries = retry_durable(service)
    publish = [
        f"{service}.>",
        "$JS.API.INFO",
        # its retry requests, and the dead letters they name
        f"$JS.API.CONSUMER.INFO.{RETRY_STREAM}.{retries}",
        f"$JS.API.CONSUMER.MSG.NEXT.{RETRY_STREAM}.{retries}",
        f"$JS.ACK.{RETRY_STREAM}.{retries}.>",
        f"$JS.API.STREAM.MSG.GET.{DEAD_LETTER_STREAM}",
        f"$JS.API.STREAM.MSG.DELETE.{DEAD_LETTER_STREAM}",
    ]
    for c in consumers_of(service):
        publish += [
            f"{DEAD_LETTER_PREFIX}.{c.durable}",
            f"$JS.API.CONSUMER.INFO.{c.stream}.{c.durable}",
            f"$JS.API.CONSUMER.MSG.NEXT.{c.stream}.{c.durable}",
            f"$JS.ACK.{c.stream}.{c.durable}.>",
        ]
    if service == DEAD_LETTER_ADMIN:
        publish += [f"$JS.API.STREAM.INFO.{DEAD_LETTER_STREAM}", f"{RETRY_PREFIX}.>"]
    return {"publish": {"allow": publish}, "subscribe": {"allow": [f"_INBOX_{service}.>"]}}


def _observer() -> dict[str, Any]:
    """Reads every stream through consumers of its own; touches no service's durable."""
    durables = [(c.stream, c.durable) for c in all_consumers()]
    durables += [(RETRY_STREAM, retry_durable(s)) for s in SERVICES]
    # An unnamed create ($JS.API.CONSUMER.CREATE.<stream>) carries the consumer's name only
    # in its body, which could name a service's durable and rewrite it: the observer names
    # its consumers in the subject (nats.go and the nats CLI do; nats-py's pull_subscribe
    # does; its push `subscribe` needs `config=ConsumerConfig(name=…)`).
    deny = ["$JS.API.CONSUMER.DURABLE.CREATE.>", "$JS.API.CONSUMER.CREATE.*"]
    for stream, durable in durables:
        deny += [
            f"$JS.API.CONSUMER.CREATE.{stream}.{durable}",
            f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.>",
            f"$JS.API.CONSUMER.DELETE.{stream}.{durable}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
        ]
    return {
        "publish": {
            "allow": [
                "$JS.API.INFO",
                "$JS.API.STREAM.NAMES",
                "$JS.API.STREAM.LIST",
                "$JS.API.STREAM.INFO.*",
                "$JS.API.STREAM.MSG.GET.*",
                "$JS.API.DIRECT.GET.>",
                "$JS.API.CONSUMER.CREATE.>",
                "$JS.API.CONSUMER.INFO.*.*",
                "$JS.API.CONSUMER.NAMES.*",
                "$JS.API.CONSUMER.LIST.*",
                "$JS.API.CONSUMER.MSG.NEXT.*.*",
                "$JS.API.CONSUMER.DELETE.*.*",
                "$JS.ACK.>",
                "$JS.FC.>",
            ],
            "deny": deny,
        },
        "subscribe": {"allow": [">"]},
    }


def permissions() -> dict[str, dict[str, Any]]:
    """Each identity's permissions."""
    everything = {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}
    return {
        **{s: _service(s) for s in SERVICES},
        PROVISIONER: everything,
        OBSERVER: _observer(),
    }


def authorization(passwords: Mapping[str, str]) -> str:
    """The server's `authorization` block. A password that starts with `$` is a reference to
    an environment variable of the server (production); any other is written as it is."""
    granted = permissions()
    users = [
        {"user": name, "password": passwords[name], "permissions": granted[name]}
        for name in IDENTITIES
    ]
    text = json.dumps({"users": users}, indent=2, ensure_ascii=False)
    for name in IDENTITIES:  # `password: $VAR` unquoted is NATS's environment lookup
        if passwords[name].startswith("$"):
            text = text.replace(json.dumps(passwords[name]), passwords[name])
    return f"authorization {text}\n"


def environment_passwords() -> dict[str, str]:
    """Production's references: `$REGISTRY_NATS_PASSWORD`, …, `$OBSERVER_NATS_PASSWORD`."""
    return {name: f"${name.upper()}_NATS_PASSWORD" for name in IDENTITIES}


def production_config() -> str:
    """`deploy/nats/auth.conf`, included by the cluster's nats.conf (a test keeps the
    committed file equal to this)."""
    return (
        "# Generated by `python -m deploy.nats_auth --write` from the services' consumer\n"
        "# declarations;"
        " do not edit. Passwords come from the environment (the nats-credentials Secret).\n"
        + authorization(environment_passwords())
    )


def read(path: Path) -> dict[str, str]:
    """Every identity's password from `path` (an external server's: never regenerated)."""
    passwords = json.loads(path.read_text())
    missing = [name for name in IDENTITIES if name not in passwords]
    if missing:
        raise ValueError(f"{path} has no password for {', '.join(missing)}")
    return {name: passwords[name] for name in IDENTITIES}


def load_or_create(path: Path) -> dict[str, str]:
    """The local identities' passwords, generated once into `path` (mode 0600) and kept
    across restarts; `make clean` removes them with the data folder."""
    if path.exists():
        passwords = json.loads(path.read_text())
        if set(IDENTITIES) <= set(passwords):
            return {name: passwords[name] for name in IDENTITIES}
    passwords = {name: secrets.token_urlsafe(24) for name in IDENTITIES}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(passwords, f, indent=2)
    os.replace(tmp, path)
    return passwords


def write_production_files(deploy: Path = Path(__file__).resolve().parent) -> None:
    """Regenerate `nats/auth.conf` and the copy in the Kubernetes ConfigMap (`k8s/nats.yaml`)."""
    config = production_config()
    (deploy / "nats" / "auth.conf").write_text(config)
    manifest = deploy / "k8s" / "nats.yaml"
    lines = manifest.read_text().splitlines(keepends=True)
    start = lines.index("  auth.conf: |\n") + 1
    end = start
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    block = ["    " + line if line.strip() else "\n" for line in config.splitlines(keepends=True)]
    manifest.write_text("".join(lines[:start] + block + lines[end:]))


def observer_consumer(**config: Any) -> ConsumerConfig:
    """A consumer of the observer's own: named (see `_observer`), gone a minute after its
    last use."""
    return ConsumerConfig(name=f"observer-{secrets.token_hex(6)}", inactive_threshold=60, **config)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write"]:
        write_production_files()
    else:
        print(production_config(), end="")
