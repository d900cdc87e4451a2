"""Token issuing: short-lived EdDSA (Ed25519) JWTs, and the JWKS that verifies them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from kit import gateway_assertion
from kit.auth import REVOCATIONS_TYP, Revoked

REVOCATIONS_TTL_S = 60  # a copy held longer than this (a stale cache) is refused

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    """scrypt hash of a client secret, with its parameters and salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of a secret against `hash_secret` output."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        actual = hashlib.scrypt(
            secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


def new_secret() -> str:
    """A fresh 256-bit client secret."""
    return secrets.token_urlsafe(32)


def new_private_key_pem() -> str:
    """A fresh Ed25519 key in PKCS#8 PEM."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def _public_jwk(key: Ed25519PrivateKey) -> dict[str, Any]:
    """The public half as a JWK, its `kid` the first 16 hex digits of its SHA-256."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    public_jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
    kid = hashlib.sha256(raw).hexdigest()[:16]
    return {**public_jwk, "kid": kid, "alg": "EdDSA", "use": "sig"}


def _private_key(private_pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key")
    return key


def kid_of(private_pem: str) -> str:
    """The key id a private key is published under."""
    return str(_public_jwk(_private_key(private_pem))["kid"])


class Signer:
    """Signs tokens with the current Ed25519 key; publishes it and the other keys still
    published (`published`: private keys, rotated out or not yet current) as a JWKS. `use`
    swaps them in place (gateway/signing/ after a rotation)."""

    def __init__(
        self,
        private_pem: str,
        *,
        issuer: str,
        audience: str,
        ttl_s: int,
        published: Sequence[str] = (),
    ):
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s
        self.use(private_pem, published)

    def use(self, private_pem: str, published: Sequence[str] = ()) -> None:
        """Sign with `private_pem` from now on and publish it with `published`."""
        key = _private_key(private_pem)
        current = _public_jwk(key)
        others = [_public_jwk(_private_key(pem)) for pem in published]
        self._key, self.kid = key, str(current["kid"])
        self._jwks = [current, *(k for k in others if k["kid"] != current["kid"])]

    def jwks(self) -> dict[str, Any]:
        """The public keys: the current one first."""
        return {"keys": list(self._jwks)}

    def issue(self, *, subject: str, scopes: list[str], **claims: Any) -> tuple[str, int]:
        """A signed token and its lifetime in seconds."""
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_s,
            "jti": secrets.token_hex(8),
            "scope": " ".join(scopes),
            **{k: v for k, v in claims.items() if v is not None},
        }
        token = jwt.encode(payload, self._key, algorithm="EdDSA", headers={"kid": self.kid})
        return token, self.ttl_s

    def revocations(self, revoked: Revoked) -> str:
        """The revocation list as a JWT signed with the current key (kit.auth verifies it)."""
        now = int(time.time())
        payload = {"iss": self.issuer, "iat": now, "exp": now + REVOCATIONS_TTL_S}
        headers = {"kid": self.kid, "typ": REVOCATIONS_TYP}
        return jwt.encode(
            {**payload, **revoked.claims()}, self._key, algorithm="EdDSA", headers=headers
        )

    def assertion(self, *, method: str, target: str, request_id: str) -> str:
        """The gateway's assertion for one request it sends a service (kit.gateway_assertion):
        `target` is the raw path and query as sent."""
        return gateway_assertion.sign(
            self._key,
            self.kid,
            issuer=self.issuer,
            method=method,
            target=target,
            request_id=request_id,
        )
