"""Failpoints: named places where a fault-injection test makes the process die on the spot.

Off unless `ZONE_FAILPOINTS` names them: `outbox.after_publish=3` kills the process with
SIGKILL (as `kill -9` or a power cut would: no cleanup, no rollback message, open
transactions abandoned) the third time the relay reaches that point. Several are separated by
commas. Only the fault tests set it; a service in the prod profile refuses to start with it set
(kit.settings).

- `outbox.after_publish`: the relay has every JetStream ack of a batch, before it commits the
  rows as sent.
- `inbox.after_commit`: a consumer committed a batch's effects, before it acks the messages.
- `audit.after_forward`: the gateway forwarded a write and has its answer, before it records
  the outcome (the intent is committed).
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger("kit.failpoints")


def parse(spec: str) -> dict[str, int]:
    """`name=n,name2=m` → {name: n, …}; a bare name means its first hit."""
    armed: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, count = part.partition("=")
        armed[name.strip()] = int(count) if count.strip() else 1
    return armed


_armed = parse(os.environ.get("ZONE_FAILPOINTS", ""))
_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    """Die here if the environment armed this point and its count is reached."""
    if name not in _armed:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= _armed[name]:
        log.error("failpoint %s reached (hit %d): killing the process", name, _hits[name])
        os.kill(os.getpid(), signal.SIGKILL)
