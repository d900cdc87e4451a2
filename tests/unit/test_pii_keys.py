"""`make run`'s keys of columns encrypted at rest: generated once (mode 0600), handed to the
registry's and the gateway's processes only, and to their code the launcher runs
in-process."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from deploy import pii_keys
from deploy.launcher import APPS, Stack
from gateway.keys import pii as gateway_pii
from kit.crypto import DEV_KEY_ID, new_key_spec
from services.registry.config import RegistrySettings
from services.registry.keys import pii


@pytest.fixture(autouse=True)
def _no_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_PII_KEYS", raising=False)
    monkeypatch.delenv("GATEWAY_PII_KEYS", raising=False)
    monkeypatch.delenv("ZONE_PII_KEYS_FILE", raising=False)


def test_keys_are_generated_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "pii-keys.json"
    first = pii_keys.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pii_keys.load_or_create(path) == first == pii_keys.read(path)
    assert first.keyring().current.key_id == first.key_id != DEV_KEY_ID
    assert pii_keys.read(tmp_path / "none.json") is None


def test_only_registry_and_gateway_get_them_and_prod_settings_accept_them(
    tmp_path: Path,
) -> None:
    stack = Stack(data_dir=tmp_path)
    keys = stack.pii_keys
    assert keys is not None and (tmp_path / "pii-keys.json").exists()
    for name, (_, prefix) in APPS.items():
        env = stack.service_env(name)
        assert (f"{prefix}PII_KEYS" in env) is (name in ("registry", "gateway")), name
    env = stack.service_env("registry")
    assert json.loads(env["REGISTRY_PII_KEYS"]) == keys.keys
    prod = RegistrySettings(
        profile="prod",
        database_url="postgresql+asyncpg://db/registry",
        nats_user="registry",
        nats_password="a-real-password",
        pii_keys=json.loads(env["REGISTRY_PII_KEYS"]),
        pii_key_id=env["REGISTRY_PII_KEY_ID"],
    )
    assert prod.pii_keyring().current.key_id == keys.key_id


def test_in_process_code_uses_the_stacks_keys_unless_the_environment_names_some(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = pii_keys.load_or_create(tmp_path / "pii-keys.json")
    with pii_keys.in_process(keys):
        assert pii.get().current.key_id == keys.key_id
        assert gateway_pii.get().current.key_id == keys.key_id
    assert pii.get().current.key_id == DEV_KEY_ID  # the tests' own, outside the block
    monkeypatch.setenv("REGISTRY_PII_KEYS", json.dumps({"ops": new_key_spec()}))
    with pii_keys.in_process(keys):  # the registry's from the environment, the gateway's not
        assert pii.get().current.key_id == DEV_KEY_ID
        assert gateway_pii.get().current.key_id == keys.key_id
    monkeypatch.setenv("GATEWAY_PII_KEYS", json.dumps({"ops": new_key_spec()}))
    stack = Stack(data_dir=tmp_path / "other")
    assert stack.pii_keys is None and not (tmp_path / "other").exists()
    assert "REGISTRY_PII_KEY_ID" not in stack.service_env("registry")  # inherited as set
    with pii_keys.in_process(keys):
        assert pii.get().current.key_id == DEV_KEY_ID  # not overridden: the env is for settings
