"""`make run`'s keys of personal information at rest (kit.crypto): generated once into the data
folder (mode 0600) and kept across restarts, like the NATS passwords. The launcher hands
them to the registry's processes (`REGISTRY_PII_KEYS`) and to the registry code it runs
itself (migrations, the seed); `make migrate` and `zone seed` find them there too, so every
process reading the local databases uses the same key.

`REGISTRY_PII_KEYS` in the environment wins over the file everywhere (keys of an existing
database, production's). `ZONE_PII_KEYS_FILE` names another file.

`reencrypt` (the `zone pii reencrypt` command) rewrites the registry's encrypted values under
the current key, after a rotation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from kit.crypto import Keyring, new_key_spec, reencrypt_all

FILE_NAME = "pii-keys.json"
ENV = "REGISTRY_PII_KEYS"
# the services that keep encrypted personal information, by env prefix
SERVICES = {"registry": "REGISTRY_"}


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


def from_environment() -> bool:
    """Whether the environment names the keys (then no file is read or made)."""
    return bool(os.environ.get(ENV, "").strip())


@contextmanager
def in_process(keys: LocalKeys | None) -> Iterator[None]:
    """Registry code run in this process (migrations, the seed) uses `keys`, unless the
    environment names others, which it then reads itself."""
    if keys is None or from_environment():
        yield
        return
    from services.registry.keys import pii

    with pii.using(keys.keyring()):
        yield


async def reencrypt(database_url: str) -> dict[str, int]:
    """Rewrite every encrypted value of the registry database at `database_url` that is not
    under the current key (plaintext included), in one transaction; rows per table. Run it
    after making a new key current, before removing the old one."""
    import services.registry.models  # noqa: F401 - every model imported, so every table
    from services.registry.base import Base

    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(reencrypt_all, Base.metadata)
    finally:
        await engine.dispose()
