"""Field encryption for personal information (个人信息) at rest, with keys that rotate.

A value is stored as `enc:v1:<algorithm>:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`:
AES-256-GCM by default, SM4-GCM (GB/T 32907, 国密) where a deployment must use it; a fresh
96-bit random nonce per value. The associated data binds the header and the column
(`registry.enterprises.legal_representative`), so a value edited, moved to another column
or relabelled with another key id fails to decrypt instead of reading as something else.

A keyring holds every key still needed: the current one encrypts, any decrypts. Rotating is
adding a key, making it current, then `reencrypt` (the `zone pii reencrypt` command) to
rewrite the rows under it; then the old key can go. The same `reencrypt` encrypts a
column's plaintext rows the first time (its migration).

The columns are not searchable (each value has its own nonce): look rows up by other keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, get_args

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import MetaData, Text, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "enc:v1:"
Algorithm = Literal["aes256gcm", "sm4gcm"]
ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
KEY_BYTES: dict[str, int] = {"aes256gcm": 32, "sm4gcm": 16}
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")

# Processes outside `make run` in the dev and test profiles (a hand-started service, the
# integration tests) use this published key when none is configured; prod refuses it.
DEV_KEY_ID = "dev"
_DEV_SECRET = hashlib.sha256(b"zone-platform: published dev-only PII key, never in prod").digest()


class KeyConfigError(ValueError):
    """A key specification that cannot be used (unknown algorithm, wrong length, bad id)."""


class DecryptionError(Exception):
    """A stored value that does not decrypt: altered, moved, or under a key not configured."""


def sm4_gcm_available() -> bool:
    """Whether the OpenSSL behind `cryptography` offers SM4 in GCM mode (3.0+ builds do
    unless SM4 was compiled out; wheels from PyPI include it)."""
    try:
        Cipher(algorithms.SM4(bytes(16)), modes.GCM(bytes(NONCE_BYTES))).encryptor()
    except UnsupportedAlgorithm:
        return False
    return True


@dataclass(frozen=True)
class FieldKey:
    """One key of a keyring: its id, algorithm and secret bytes."""

    key_id: str
    algorithm: Algorithm
    secret: bytes = field(repr=False)

    def spec(self) -> str:
        """The key as settings hold it: `<algorithm>:<base64>`."""
        return f"{self.algorithm}:{base64.b64encode(self.secret).decode()}"

    @cached_property
    def _aesgcm(self) -> AESGCM:
        """The AES-GCM cipher of this key, made once: making it (OpenSSL's key schedule) cost
        as much as a short value's decryption, once per personal field of every row read."""
        return AESGCM(self.secret)

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Ciphertext followed by the 16-byte tag."""
        if self.algorithm == "aes256gcm":
            return self._aesgcm.encrypt(nonce, plaintext, aad)
        encryptor = Cipher(algorithms.SM4(self.secret), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        return encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag

    def open(self, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
        """The plaintext; `InvalidTag` when anything was altered."""
        if self.algorithm == "aes256gcm":
            return self._aesgcm.decrypt(nonce, sealed, aad)
        body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(self.secret), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(body) + decryptor.finalize()


def parse_key(key_id: str, spec: str) -> FieldKey:
    """A key from its id and `<algorithm>:<base64 secret>` (as settings hold it)."""
    if not KEY_ID.match(key_id):
        raise KeyConfigError(f"key id {key_id!r} must be 1-32 of A-Z a-z 0-9 _ . -")
    algorithm, _, encoded = spec.strip().partition(":")
    if algorithm not in ALGORITHMS:
        raise KeyConfigError(
            f"key {key_id!r}: algorithm must be one of {', '.join(ALGORITHMS)} "
            "(written '<algorithm>:<base64 key>')"
        )
    try:
        secret = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigError(f"key {key_id!r}: the key is not valid base64") from exc
    if len(secret) != KEY_BYTES[algorithm]:
        raise KeyConfigError(f"key {key_id!r}: {algorithm} needs {KEY_BYTES[algorithm]} bytes")
    if algorithm == "sm4gcm" and not sm4_gcm_available():
        raise KeyConfigError(
            f"key {key_id!r}: this OpenSSL has no SM4-GCM; install cryptography's own wheel "
            "(its OpenSSL has it) or use aes256gcm"
        )
    return FieldKey(key_id, algorithm, secret)  # type: ignore[arg-type]


def new_key_spec(algorithm: Algorithm = "aes256gcm") -> str:
    """A fresh random key, written as settings hold it: `<algorithm>:<base64>`."""
    return FieldKey("new", algorithm, secrets.token_bytes(KEY_BYTES[algorithm])).spec()


def is_encrypted(value: str) -> bool:
    """Whether a stored value is one of ours (else it is plaintext from before encryption)."""
    return value.startswith(PREFIX)


class Keyring:
    """The keys of one service: `current` encrypts, every key decrypts."""

    def __init__(self, keys: Mapping[str, FieldKey], current: str):
        if current not in keys:
            raise KeyConfigError(f"the current key id {current!r} is not among the keys")
        self.keys = dict(keys)
        self.current = keys[current]
        # `decrypt`'s fast path: each key by the header its values carry (without the last
        # colon), and the associated data of each (header, column) met so far
        self._by_header = {f"{PREFIX}{k.algorithm}:{kid}": k for kid, k in self.keys.items()}
        self._aads: dict[tuple[str, str], bytes] = {}

    @classmethod
    def from_specs(cls, specs: Mapping[str, str], current: str = "") -> Keyring:
        """From settings: key id -> `<algorithm>:<base64>`; `current` may be left empty when
        there is a single key."""
        if not specs:
            raise KeyConfigError("no keys configured")
        if not current:
            if len(specs) > 1:
                raise KeyConfigError("several keys: name the current one (pii_key_id)")
            current = next(iter(specs))
        return cls({kid: parse_key(kid, spec) for kid, spec in specs.items()}, current)

    @property
    def current_prefix(self) -> str:
        """The header of every value encrypted under the current key."""
        return _header(self.current)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """The stored form of `plaintext` for the column named by `context`."""
        header = _header(self.current)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.current.seal(nonce, plaintext.encode(), _aad(header, context))
        return header + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str, *, context: str) -> str:
        """The plaintext of a stored value; `DecryptionError` when it does not decrypt.

        A value under a configured key takes the fast path: its header looked up whole, its
        associated data made once per column (a list decrypts three fields per row, and the
        parsing cost twice the cipher); anything else, and any failure, the checks below."""
        header, _, payload = stored.rpartition(":")
        key = self._by_header.get(header)
        if key is not None:
            aad = self._aads.get((header, context))
            if aad is None:
                aad = self._aads[(header, context)] = _aad(_header(key), context)
            try:
                raw = binascii.a2b_base64(payload, strict_mode=True)
                if len(raw) >= NONCE_BYTES + TAG_BYTES:
                    return key.open(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode()
            except (InvalidTag, ValueError, binascii.Error):
                pass  # the checks below say why
        return self._decrypt_checked(stored, context)

    def _decrypt_checked(self, stored: str, context: str) -> str:
        parts = stored.split(":")
        if len(parts) != 5 or not is_encrypted(stored):
            raise DecryptionError(f"{context}: not an encrypted value")
        key = self.keys.get(parts[3])
        if key is None or key.algorithm != parts[2]:
            raise DecryptionError(
                f"{context}: value is under key {parts[3]!r} ({parts[2]}), which is not configured"
            )
        try:
            raw = base64.b64decode(parts[4], validate=True)
            nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
            if len(sealed) < TAG_BYTES:
                raise ValueError("too short")
            return key.open(nonce, sealed, _aad(_header(key), context)).decode()
        except (InvalidTag, ValueError, binascii.Error) as exc:
            raise DecryptionError(f"{context}: value was altered or belongs elsewhere") from exc

    def needs_rewrite(self, stored: str) -> bool:
        """True for plaintext and for values under a key other than the current one."""
        return not stored.startswith(self.current_prefix)


def _header(key: FieldKey) -> str:
    return f"{PREFIX}{key.algorithm}:{key.key_id}:"


def _aad(header: str, context: str) -> bytes:
    return f"{header}{context}".encode()


def dev_keyring() -> Keyring:
    """The published dev/test key (see `DEV_KEY_ID`)."""
    return Keyring({DEV_KEY_ID: FieldKey(DEV_KEY_ID, "aes256gcm", _DEV_SECRET)}, DEV_KEY_ID)


def is_dev_key(key: FieldKey) -> bool:
    """The published dev key, under its id or another."""
    return key.key_id == DEV_KEY_ID or key.secret == _DEV_SECRET


class KeyringSource:
    """Where a service's encrypted columns find their keys: the service's settings, read on
    first use, unless a process running the service's code outside it (the launcher's
    migrations and seed, with the keys it generated) hands it a keyring with `using`."""

    def __init__(self, load: Callable[[], Keyring]):
        self._load = load
        self._loaded: Keyring | None = None
        self._override: Keyring | None = None

    def get(self) -> Keyring:
        """The keyring in force."""
        if self._override is not None:
            return self._override
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    @contextmanager
    def using(self, keyring: Keyring) -> Iterator[Keyring]:
        """Use `keyring` until the block ends (in every thread of the process)."""
        previous, self._override = self._override, keyring
        try:
            yield keyring
        finally:
            self._override = previous


class EncryptedString(TypeDecorator[str]):
    """A text column stored encrypted; the model reads and writes plaintext. `context` names
    the column (`<service>.<table>.<column>`) and is bound into each value."""

    impl = Text
    cache_ok = True

    def __init__(self, keys: KeyringSource, context: str):
        super().__init__()
        self.keys = keys
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Encrypt on the way in."""
        return None if value is None else self.keys.get().encrypt(value, context=self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Decrypt on the way out."""
        return None if value is None else self.keys.get().decrypt(value, context=self.context)


def reencrypt(
    connection: Connection,
    keyring: Keyring,
    *,
    table: str,
    key_columns: Sequence[str],
    columns: Mapping[str, str],
    batch: int = 500,
    to_plaintext: bool = False,
) -> int:
    """Rewrite under the current key every value of `columns` (column -> context) that is
    plaintext or under an older key, or with `to_plaintext` (a downgrade) decrypt every
    value; the number of rows rewritten. Runs in the caller's transaction, a batch at a
    time; idempotent."""
    prefix = PREFIX if to_plaintext else keyring.current_prefix
    compare = "=" if to_plaintext else "<>"
    stale = " OR ".join(
        f"({c} IS NOT NULL AND left({c}, {len(prefix)}) {compare} :prefix)" for c in columns
    )
    keys = ", ".join(key_columns)
    select = text(
        f"SELECT {keys}, {', '.join(columns)} FROM {table} WHERE {stale} "  # noqa: S608 - names are code's
        f"ORDER BY {keys} LIMIT :batch FOR UPDATE"
    )
    match = " AND ".join(f"{k} = :k_{k}" for k in key_columns)
    update = text(
        f"UPDATE {table} SET {', '.join(f'{c} = :v_{c}' for c in columns)} WHERE {match}"  # noqa: S608
    )
    done = 0
    while True:
        rows = connection.execute(select, {"prefix": prefix, "batch": batch}).all()
        if not rows:
            return done
        for row in rows:
            values = dict(zip([*key_columns, *columns], row, strict=True))
            params = {f"k_{k}": values[k] for k in key_columns}
            for column, context in columns.items():
                params[f"v_{column}"] = _rewrite(keyring, values[column], context, to_plaintext)
            connection.execute(update, params)
        done += len(rows)


def _rewrite(keyring: Keyring, value: str | None, context: str, to_plaintext: bool) -> str | None:
    if value is None or (not to_plaintext and not keyring.needs_rewrite(value)):
        return value
    plain = keyring.decrypt(value, context=context) if is_encrypted(value) else value
    return plain if to_plaintext else keyring.encrypt(plain, context=context)


@dataclass(frozen=True)
class EncryptedTable:
    """A table's encrypted columns, as `reencrypt` takes them, and their keys."""

    name: str
    key_columns: tuple[str, ...]
    columns: dict[str, str]  # column -> context
    keys: KeyringSource


def encrypted_tables(metadata: MetaData) -> list[EncryptedTable]:
    """Every table of `metadata` with `EncryptedString` columns (one keyring per table)."""
    found = []
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, EncryptedString)]
        if not columns:
            continue
        sources = {id(c.type.keys): c.type.keys for c in columns}  # type: ignore[attr-defined]
        if len(sources) != 1:
            raise ValueError(f"{table.name}: encrypted columns under several keyrings")
        found.append(
            EncryptedTable(
                name=table.name,
                key_columns=tuple(c.name for c in table.primary_key.columns),
                columns={c.name: c.type.context for c in columns},  # type: ignore[attr-defined]
                keys=next(iter(sources.values())),
            )
        )
    return found


def reencrypt_all(connection: Connection, metadata: MetaData) -> dict[str, int]:
    """`reencrypt` every encrypted column of `metadata` under its keyring's current key (after
    a rotation); rows rewritten per table."""
    return {
        t.name: reencrypt(
            connection, t.keys.get(), table=t.name, key_columns=t.key_columns, columns=t.columns
        )
        for t in encrypted_tables(metadata)
    }
