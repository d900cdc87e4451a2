"""Revocation as services see it: the signed list, and refusals of cached tokens."""

import json
import time

import pytest

from gateway.auth.tokens import Signer, new_private_key_pem
from kit.auth import JwksVerifier, Revoked, subject_digest
from kit.problems import ProblemError
from kit.settings import ServiceSettings


def _pair() -> tuple[Signer, JwksVerifier]:
    signer = Signer(
        new_private_key_pem(), issuer="zone-gateway", audience="zone-platform", ttl_s=60
    )
    verifier = JwksVerifier(
        jwks_url="",
        issuer="zone-gateway",
        audience="zone-platform",
        inline_jwks=json.dumps(signer.jwks()),
    )
    return signer, verifier


async def test_a_revoked_token_is_refused_even_from_the_cache() -> None:
    signer, verifier = _pair()
    token, _ = signer.issue(subject="c1", scopes=["registry:read"])
    other, _ = signer.issue(subject="c1", scopes=["registry:read"])
    principal = await verifier.verify(token)  # now cached
    verifier.use_revocations(Revoked(frozenset({principal.claims["jti"]})))
    with pytest.raises(ProblemError, match="revoked") as refused:
        await verifier.verify(token)
    assert refused.value.status == 401
    assert 'error="invalid_token"' in refused.value.headers["WWW-Authenticate"]
    assert (await verifier.verify(other)).subject == "c1"  # only that one


async def test_a_disabled_subject_loses_the_tokens_it_holds_not_later_ones() -> None:
    signer, verifier = _pair()
    held, _ = signer.issue(subject="user:wang", scopes=[])
    await verifier.verify(held)
    now = int(time.time())
    verifier.use_revocations(Revoked(subjects={subject_digest("user:wang"): now}))
    with pytest.raises(ProblemError, match="revoked"):
        await verifier.verify(held)
    assert (await verifier.verify(signer.issue(subject="user:li", scopes=[])[0])).subject
    verifier.use_revocations(Revoked(subjects={subject_digest("user:wang"): now - 5}))
    assert (await verifier.verify(held)).subject == "user:wang"  # issued after the cut-off


async def test_the_revocation_list_is_taken_only_signed_by_a_gateway_key() -> None:
    signer, verifier = _pair()
    revoked = Revoked(frozenset({"abc"}), {subject_digest("c9"): 123})
    await verifier.load_revocations(signer.revocations(revoked))
    assert verifier.revoked == revoked

    stranger = Signer(new_private_key_pem(), issuer="zone-gateway", audience="x", ttl_s=60)
    access_token, _ = signer.issue(subject="c1", scopes=[])
    for bad in (stranger.revocations(Revoked()), access_token, "garbage", ""):
        with pytest.raises(ValueError, match="refused"):
            await verifier.load_revocations(bad)
        assert verifier.revoked == revoked  # the last good list stands


def test_services_poll_the_revocation_list_beside_the_jwks() -> None:
    beside = ServiceSettings(jwks_url="http://gw:8000/.well-known/jwks.json")
    assert beside.revocations_source == "http://gw:8000/oauth/revocations"
    assert ServiceSettings(jwks_json='{"keys": []}').revocations_source is None
    assert ServiceSettings(revocations_url="off").revocations_source is None
    assert ServiceSettings(revocations_url="http://x/r").revocations_source == "http://x/r"
