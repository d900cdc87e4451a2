"""`make run`'s keys of personal information and secrets at rest (kit.crypto): generated once
into the data folder (mode 0600) and kept across restarts, like the NATS passwords. The
launcher hands them to the processes of the services that keep encrypted columns (`SERVICES`:
`REGISTRY_PII_KEYS`, `GATEWAY_PII_KEYS`) and to their code it runs itself (migrations, the
seed); `make migrate` and `zone seed` find them there too, so every process reading the
local databases uses the same key.

A service's `<PREFIX>PII_KEYS` in the environment wins over the file for that service
everywhere (keys of an existing database, production's, where each service has its own).
`ZONE_PII_KEYS_FILE` names another file.

`reencrypt` (the `zone pii reencrypt` command) rewrites a service's encrypted values under
its current key, after a rotation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData, pool
from sqlalchemy.ext.asyncio import create_async_engine

from kit.crypto import Keyring, KeyringSource, new_key_spec, reencrypt_all

FILE_NAME = "pii-keys.json"
# the services that keep encrypted columns, by env prefix
SERVICES = {"registry": "REGISTRY_", "gateway": "GATEWAY_"}


@dataclass(frozen=True)
class LocalKeys:
    """The keys of one data folder: their specs and the current key's id."""

    key_id: str
    keys: dict[str, str]

    def env(self, prefix: str) -> dict[str, str]:
        """A service's environment variables carrying them."""
        return {f"{prefix}PII_KEYS": json.dumps(self.keys), f"{prefix}PII_KEY_ID": self.key_id}

    def keyring(self) -> Keyring:
        """As the services build it."""
        return Keyring.from_specs(self.keys, self.key_id)


def path_for(data_dir: Path) -> Path:
    """`ZONE_PII_KEYS_FILE`, else the data folder's file."""
    return Path(os.environ.get("ZONE_PII_KEYS_FILE") or data_dir / FILE_NAME)


def read(path: Path) -> LocalKeys | None:
    """The keys in `path`, or None when there is no such file."""
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return LocalKeys(key_id=data["key_id"], keys=dict(data["keys"]))


def load_or_create(path: Path) -> LocalKeys:
    """The keys in `path`, generated (one AES-256 key) on first use."""
    existing = read(path)
    if existing is not None:
        return existing
    keys = LocalKeys(key_id=f"local-{time.strftime('%Y%m%d')}", keys={})
    keys.keys[keys.key_id] = new_key_spec()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"key_id": keys.key_id, "keys": keys.keys}, f, indent=2)
    os.replace(tmp, path)
    return keys


def from_environment(name: str) -> bool:
    """Whether the environment names service `name`'s keys (then the file is not its)."""
    return bool(os.environ.get(f"{SERVICES[name]}PII_KEYS", "").strip())


def _sources() -> dict[str, KeyringSource]:
    from gateway.keys import pii as gateway
    from services.registry.keys import pii as registry

    return {"registry": registry, "gateway": gateway}


@contextmanager
def in_process(keys: LocalKeys | None) -> Iterator[None]:
    """Service code run in this process (migrations, the seed) uses `keys`, except where the
    environment names a service's own, which that code then reads itself."""
    with ExitStack() as stack:
        if keys is not None:
            for name, source in _sources().items():
                if not from_environment(name):
                    stack.enter_context(source.using(keys.keyring()))
        yield


def _metadata(name: str) -> MetaData:
    """Every table of service `name` (every model imported)."""
    if name == "gateway":
        import gateway.models

        return gateway.models.metadata
    import services.registry.models  # noqa: F401
    from services.registry.base import Base

    return Base.metadata


async def reencrypt(name: str, database_url: str) -> dict[str, int]:
    """Rewrite every encrypted value of service `name`'s database at `database_url` that is
    not under the current key (plaintext included), in one transaction; rows per table. Run
    it after making a new key current, before removing the old one."""
    metadata = _metadata(name)
    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(reencrypt_all, metadata)
    finally:
        await engine.dispose()
