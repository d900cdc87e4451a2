"""Token issuing: short-lived EdDSA (Ed25519) JWTs, and the JWKS that verifies them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from kit import gateway_assertion

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


class Signer:
    """Signs tokens with one Ed25519 key; publishes its public half as a JWKS."""

    def __init__(self, private_pem: str, *, issuer: str, audience: str, ttl_s: int):
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the signing key must be an Ed25519 private key")
        self._key = key
        public_jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.kid = hashlib.sha256(raw).hexdigest()[:16]
        self._jwk = {**public_jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s

    def jwks(self) -> dict[str, Any]:
        """The public keys."""
        return {"keys": [self._jwk]}

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
