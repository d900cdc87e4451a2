"""Field encryption (kit.crypto): round trips, rotation, tampering, SM4, and the settings."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql

from kit.crypto import (
    DEV_KEY_ID,
    DecryptionError,
    EncryptedString,
    Keyring,
    KeyringSource,
    dev_keyring,
    is_encrypted,
    new_key_spec,
    sm4_gcm_available,
)
from kit.settings import ServiceSettings

CONTEXT = "registry.enterprises.legal_representative"
needs_sm4 = pytest.mark.skipif(not sm4_gcm_available(), reason="this OpenSSL has no SM4-GCM")


class PersonalSettings(ServiceSettings):
    """A service that keeps personal information."""

    stores_personal_data = True


def _flip(stored: str, index: int) -> str:
    header, _, payload = stored.rpartition(":")
    raw = bytearray(base64.b64decode(payload))
    raw[index] ^= 0x01
    return f"{header}:{base64.b64encode(bytes(raw)).decode()}"


@pytest.mark.parametrize(
    "algorithm", ["aes256gcm", pytest.param("sm4gcm", marks=needs_sm4)], ids=["aes", "sm4"]
)
def test_round_trip_hides_the_plaintext(algorithm: str) -> None:
    keyring = Keyring.from_specs({"k1": new_key_spec(algorithm)})  # type: ignore[arg-type]
    stored = keyring.encrypt("欧阳娜娜", context=CONTEXT)
    assert stored.startswith(f"enc:v1:{algorithm}:k1:") and is_encrypted(stored)
    assert "欧阳" not in stored and "娜娜".encode() not in base64.b64decode(stored.split(":")[-1])
    assert keyring.decrypt(stored, context=CONTEXT) == "欧阳娜娜"
    # a fresh 96-bit nonce each time: equal names do not give equal values
    again = keyring.encrypt("欧阳娜娜", context=CONTEXT)
    assert again != stored
    assert (
        base64.b64decode(again.split(":")[-1])[:12] != base64.b64decode(stored.split(":")[-1])[:12]
    )


def test_rotation_old_keys_decrypt_the_current_one_encrypts() -> None:
    old = Keyring.from_specs({"2025": new_key_spec()})
    written = old.encrypt("13812345678", context=CONTEXT)
    rotated = Keyring.from_specs({"2025": old.keys["2025"].spec(), "2026": new_key_spec()}, "2026")
    assert rotated.decrypt(written, context=CONTEXT) == "13812345678"
    assert rotated.needs_rewrite(written) and rotated.needs_rewrite("13812345678")
    rewritten = rotated.encrypt("13812345678", context=CONTEXT)
    assert rewritten.startswith("enc:v1:aes256gcm:2026:") and not rotated.needs_rewrite(rewritten)
    # once the old key is retired, what it wrote no longer reads, with a reason
    retired = Keyring.from_specs({"2026": rotated.keys["2026"].spec()})
    with pytest.raises(DecryptionError, match="key '2025'"):
        retired.decrypt(written, context=CONTEXT)


@pytest.mark.parametrize("index", [0, 11, 12, -1], ids=["nonce", "nonce-end", "body", "tag"])
def test_a_flipped_bit_does_not_decrypt(index: int) -> None:
    keyring = Keyring.from_specs({"k1": new_key_spec()})
    stored = keyring.encrypt("张三", context=CONTEXT)
    with pytest.raises(DecryptionError, match="altered"):
        keyring.decrypt(_flip(stored, index), context=CONTEXT)


def test_a_value_moved_or_relabelled_does_not_decrypt() -> None:
    a, b = new_key_spec(), new_key_spec()
    keyring = Keyring.from_specs({"k1": a, "k2": b}, "k1")
    stored = keyring.encrypt("张三", context=CONTEXT)
    # the same bytes in another column (a name pasted into the phone column)
    with pytest.raises(DecryptionError):
        keyring.decrypt(stored, context="registry.enterprises.contact_phone")
    # the header names another configured key
    with pytest.raises(DecryptionError):
        keyring.decrypt(stored.replace(":k1:", ":k2:"), context=CONTEXT)
    for broken in (
        "张三",
        "enc:v1:aes256gcm:k1",
        "enc:v1:aes256gcm:k1:%%%",
        "enc:v1:aes256gcm:k1:AA==",
    ):
        with pytest.raises(DecryptionError):
            keyring.decrypt(broken, context=CONTEXT)


@needs_sm4
def test_sm4_and_aes_keys_share_a_keyring() -> None:
    aes = Keyring.from_specs({"a": new_key_spec()})
    written = aes.encrypt("李四", context=CONTEXT)
    gm = Keyring.from_specs({"a": aes.keys["a"].spec(), "gm": new_key_spec("sm4gcm")}, "gm")
    assert gm.decrypt(written, context=CONTEXT) == "李四"
    assert gm.encrypt("李四", context=CONTEXT).startswith("enc:v1:sm4gcm:gm:")
    # an AES value relabelled as SM4 under the same id is refused, not misread
    with pytest.raises(DecryptionError):
        gm.decrypt(written.replace("aes256gcm", "sm4gcm"), context=CONTEXT)


@pytest.mark.parametrize(
    ("specs", "current", "reason"),
    [
        ({}, "", "no keys"),
        ({"k1": "aes256gcm:" + base64.b64encode(bytes(16)).decode()}, "", "needs 32 bytes"),
        ({"k1": "des:AAAA"}, "", "algorithm must be"),
        ({"k1": "aes256gcm:not base64!"}, "", "base64"),
        ({"bad id": new_key_spec()}, "", "key id"),
        ({"k1": new_key_spec(), "k2": new_key_spec()}, "", "name the current"),
        ({"k1": new_key_spec()}, "k9", "not among"),
    ],
)
def test_unusable_keys_are_refused(specs: dict[str, str], current: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Keyring.from_specs(specs, current)


def test_the_type_encrypts_on_the_way_in_and_decrypts_on_the_way_out() -> None:
    keyring = Keyring.from_specs({"k1": new_key_spec()})
    column = EncryptedString(KeyringSource(lambda: keyring), CONTEXT)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    stored = column.process_bind_param("王伟", dialect)
    assert stored is not None and stored.startswith("enc:v1:")
    assert column.process_result_value(stored, dialect) == "王伟"
    assert column.process_bind_param(None, dialect) is None
    assert column.process_result_value(None, dialect) is None


def test_a_source_loads_once_and_can_be_handed_a_keyring() -> None:
    loads: list[int] = []
    settings_keyring = Keyring.from_specs({"s": new_key_spec()})

    def load() -> Keyring:
        loads.append(1)
        return settings_keyring

    source = KeyringSource(load)
    assert source.get() is settings_keyring and source.get() is settings_keyring
    handed = Keyring.from_specs({"h": new_key_spec()})
    with source.using(handed):
        assert source.get() is handed
    assert source.get() is settings_keyring and loads == [1]


def test_settings_build_the_keyring() -> None:
    spec_a, spec_b = new_key_spec(), new_key_spec()
    keyring = PersonalSettings(pii_keys={"a": spec_a, "b": spec_b}, pii_key_id="b").pii_keyring()
    assert keyring.current.key_id == "b" and set(keyring.keys) == {"a", "b"}
    # without keys, dev and test fall back to the published dev key
    assert PersonalSettings(profile="test").pii_keyring().current.key_id == DEV_KEY_ID
    with pytest.raises(ValidationError, match="needs 32 bytes"):
        PersonalSettings(pii_keys={"a": "aes256gcm:AAAA"})


def _prod(**values: object) -> dict[str, object]:
    return {
        "profile": "prod",
        "database_url": "postgresql+asyncpg://zone:pw@db:5432/registry",
        "nats_user": "registry",
        "nats_password": "a-real-nats-password",
        **values,
    }


def test_prod_requires_real_keys() -> None:
    with pytest.raises(ValidationError, match="pii_keys must hold"):
        PersonalSettings(**_prod())  # type: ignore[arg-type]
    dev = dev_keyring().keys[DEV_KEY_ID]
    with pytest.raises(ValidationError, match="published dev key"):
        PersonalSettings(**_prod(pii_keys={DEV_KEY_ID: dev.spec()}))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="published dev key"):
        PersonalSettings(**_prod(pii_keys={"renamed": dev.spec()}))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="algorithm must be"):
        PersonalSettings(**_prod(pii_keys={"k": "change-me"}))  # type: ignore[arg-type]
    PersonalSettings(**_prod(pii_keys={"k": new_key_spec()}))  # type: ignore[arg-type]
    # a service without personal data needs no keys
    ServiceSettings(**_prod())  # type: ignore[arg-type]


def test_autogenerate_writes_an_encrypted_column_as_text() -> None:
    from sqlalchemy import String

    from kit.migrations import render_item

    column = EncryptedString(KeyringSource(dev_keyring), CONTEXT)
    assert render_item("type", column, None) == "sa.Text()"
    assert render_item("type", String(10), None) is False
