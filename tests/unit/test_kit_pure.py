"""Pure kit logic: problems, cursors, ids, tokens, secrets."""

import json
import time
import uuid

import jwt
import pytest

from gateway.auth.tokens import Signer, hash_secret, new_private_key_pem, verify_secret
from kit.auth import JwksVerifier
from kit.ids import uuid7
from kit.pagination import decode_cursor, encode_cursor
from kit.problems import ProblemError, problem_body, wants_chinese


@pytest.mark.parametrize(
    ("header", "zh"),
    [
        (None, False),
        ("en", False),
        ("zh-CN", True),
        ("zh", True),
        ("en;q=0.5, zh-CN;q=0.9", True),
        ("zh-CN;q=0.1, en", False),
        ("fr", False),
        ("zh-TW,zh;q=0.9", True),
        ("garbage;q=x", False),
    ],
)
def test_language_negotiation(header: str | None, zh: bool) -> None:
    assert wants_chinese(header) is zh


def test_problem_body_is_rfc9457() -> None:
    body = problem_body(
        "not-found", "zone 'x' does not exist", accept_language="zh-CN", instance="/v1/zones/x"
    )
    assert body == {
        "type": "/problems/not-found",
        "title": "资源不存在",
        "status": 404,
        "detail": "zone 'x' does not exist",
        "instance": "/v1/zones/x",
    }


def test_cursor_round_trip_and_tamper() -> None:
    assert decode_cursor(encode_cursor({"uscc": "9133"})) == {"uscc": "9133"}
    with pytest.raises(ProblemError):
        decode_cursor("!!not-base64!!")
    with pytest.raises(ProblemError):
        decode_cursor(encode_cursor({"a": 1})[:-3] + "[]")


def test_uuid7_is_version_7_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(200)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    stamps = [i.int >> 80 for i in ids]
    assert stamps == sorted(stamps)
    assert len(set(ids)) == 200


async def test_tokens_verify_and_reject_tampering() -> None:
    signer = Signer(
        new_private_key_pem(), issuer="zone-gateway", audience="zone-platform", ttl_s=60
    )
    verifier = JwksVerifier(
        jwks_url="",
        issuer="zone-gateway",
        audience="zone-platform",
        inline_jwks=json.dumps(signer.jwks()),
    )
    token, _ = signer.issue(subject="c1", scopes=["registry:read"], uscc="91330226MA2AH0KX8K")
    principal = await verifier.verify(token)
    assert (
        principal.subject == "c1" and principal.has("registry:read") and not principal.has("admin")
    )
    assert principal.uscc == "91330226MA2AH0KX8K" and not principal.can_act_for(
        "913302260LP2CP361E"
    )
    header, payload, sig = token.split(".")
    with pytest.raises(ProblemError) as err:
        await verifier.verify(f"{header}.{payload}.{sig[:-4]}AAAA")
    assert err.value.status == 401
    other = Signer(new_private_key_pem(), issuer="zone-gateway", audience="zone-platform", ttl_s=60)
    foreign, _ = other.issue(subject="c1", scopes=["admin"])
    with pytest.raises(ProblemError, match=r"unknown key|cannot be fetched"):
        await verifier.verify(foreign)


async def test_expired_and_wrong_audience_tokens_are_refused() -> None:
    pem = new_private_key_pem()
    expired = Signer(pem, issuer="zone-gateway", audience="zone-platform", ttl_s=-120)
    wrong_aud = Signer(pem, issuer="zone-gateway", audience="elsewhere", ttl_s=60)
    verifier = JwksVerifier(
        jwks_url="",
        issuer="zone-gateway",
        audience="zone-platform",
        inline_jwks=json.dumps(expired.jwks()),
    )
    with pytest.raises(ProblemError, match="expired"):
        await verifier.verify(expired.issue(subject="c", scopes=[])[0])
    with pytest.raises(ProblemError, match=r"(?i)audience"):
        await verifier.verify(wrong_aud.issue(subject="c", scopes=[])[0])


def test_secret_hashes() -> None:
    stored = hash_secret("s3cret")
    assert verify_secret("s3cret", stored)
    assert not verify_secret("s3cret!", stored)
    assert not verify_secret("s3cret", "garbage")
    assert hash_secret("s3cret") != stored  # salted


def test_prod_settings_refuse_placeholders() -> None:
    from pydantic import ValidationError

    from gateway.config import GatewaySettings
    from kit.crypto import new_key_spec

    keys = {"pii_keys": {"k1": new_key_spec()}}
    with pytest.raises(ValidationError, match="GATEWAY_SIGNING_KEY_PEM"):
        GatewaySettings(profile="prod", database_url="postgresql+asyncpg://db/gateway", **keys)
    with pytest.raises(ValidationError, match="GATEWAY_SIGNING_KEY_PEM"):
        GatewaySettings(
            profile="prod",
            signing_key_pem="change-me",
            database_url="postgresql+asyncpg://db/gateway",
            **keys,
        )
    with pytest.raises(ValidationError, match="production PostgreSQL"):
        GatewaySettings(profile="prod", signing_key_pem=new_private_key_pem(), **keys)
    with pytest.raises(ValidationError, match="pii_keys must hold"):  # names, signing keys
        GatewaySettings(
            profile="prod",
            signing_key_pem=new_private_key_pem(),
            database_url="postgresql+asyncpg://db/gateway",
        )
    assert GatewaySettings(profile="dev").signing_key_pem == ""


def test_prod_settings_refuse_armed_failpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from kit.crypto import new_key_spec
    from services.registry.config import RegistrySettings

    monkeypatch.setenv("ZONE_FAILPOINTS", "outbox.after_publish=1")
    prod = {
        "profile": "prod",
        "database_url": "postgresql+asyncpg://db/registry",
        "nats_user": "registry",
        "nats_password": "kJ8v2-real-secret",
        "pii_keys": {"k1": new_key_spec()},
    }
    with pytest.raises(ValidationError, match="ZONE_FAILPOINTS"):
        RegistrySettings(**prod)
    assert RegistrySettings(profile="dev").profile == "dev"  # the fault tests' profile
    monkeypatch.setenv("ZONE_FAILPOINTS", "")
    RegistrySettings(**prod)
    with pytest.raises(ValidationError, match="nats_user"):
        RegistrySettings(**(prod | {"nats_user": ""}))  # anonymous on NATS
    with pytest.raises(ValidationError, match="nats_password"):
        RegistrySettings(**(prod | {"nats_password": "change-me"}))


def test_bulk_lines_json_lines_csv_and_bad_rows() -> None:
    from kit.bulk import _csv_rows, _has_nul, _records

    single, rows = _records(b'{"a": 1}', "application/json")
    assert single and rows == [(1, {"a": 1})]
    single, rows = _records(b'[{"a": 1}, {"a": 2}]', "application/json")
    assert not single and [n for n, _ in rows] == [1, 2]
    _, rows = _records(b'{"a": 1}\n\n{oops\n{"a": 3}\n', "application/x-ndjson")
    assert [n for n, _ in rows] == [1, 3, 4] and isinstance(rows[1][1], ValueError)
    text = "\ufeffkind,brand,note\nrecall,甲,\nrecall,乙,x,extra\nrecall\n"
    rows = _csv_rows(text.encode("utf-8"))
    assert rows[0] == (2, {"kind": "recall", "brand": "甲"})
    assert [type(r) for _, r in rows[1:]] == [ValueError, ValueError]
    assert _csv_rows(text.replace("\ufeff", "").encode("gb18030"))[0][1]["brand"] == "甲"
    assert _has_nul({"a": ["x\x00"]}) and not _has_nul({"a": ["x"]})


def test_failpoints_spec_and_dead_letter_header_text() -> None:
    from kit.failpoints import parse
    from kit.inbox import header_text

    assert parse("") == {}
    assert parse("outbox.after_publish=3, inbox.after_commit") == {
        "outbox.after_publish": 3,
        "inbox.after_commit": 1,
    }
    with pytest.raises(ValueError):
        parse("outbox.after_publish=soon")
    text = header_text('value too long for type character varying(40)\n企业 "x"')
    assert text.isascii() and "\n" not in text and "\\u4f01" in text


def test_bodies_that_are_not_json_objects_get_answers_that_say_so() -> None:
    from fastapi import FastAPI, Form
    from fastapi.testclient import TestClient

    from kit.problems import ProblemError, install_problem_handlers
    from kit.validation import Input

    class Thing(Input):
        name: str

    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def make(thing: Thing) -> dict[str, str]:
        return {"name": thing.name}

    @app.post("/form")
    async def form(name: str = Form()) -> dict[str, str]:
        return {"name": name}

    @app.post("/clash")
    async def taken() -> None:
        raise ProblemError("conflict", "taken", request_id="someone-else", status=409)

    client = TestClient(app)
    wrong_type = client.post(
        "/things", content=b'{"name": "x"}', headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415 and "application/json" in wrong_type.json()["detail"]
    broken = client.post(
        "/things", content=b'{"name":', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "body"
    assert broken.json()["detail"].startswith("the body is not valid JSON")
    extra = client.post("/things", json={"name": "x", "nmae": "y"})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "nmae"
    assert client.post("/things", json={"name": "x"}).json() == {"name": "x"}
    # a form endpoint's missing field is a 422 about the field, not a media type
    assert client.post("/form", data={}).status_code == 422
    # an extension cannot replace a member the problem format defines
    clash = client.post("/clash").json()
    assert clash["status"] == 409 and "request_id" not in clash


def test_every_named_lock_has_its_own_space() -> None:
    from kit.locks import Lock, key

    spaces = {key(lock)[0] for lock in Lock}
    assert len(spaces) == len(Lock)
    assert all(-(2**31) <= s < 2**31 for s in spaces)


def test_a_lock_on_a_part_is_stable_and_distinct() -> None:
    from kit.locks import Lock, key

    assert key(Lock.CHECKLIST_VERSION, "ck-1") == key(Lock.CHECKLIST_VERSION, "ck-1")
    assert key(Lock.CHECKLIST_VERSION, "ck-1") != key(Lock.CHECKLIST_VERSION, "ck-2")
    assert key(Lock.RISK_KEY, 7) == (key(Lock.RISK_KEY)[0], 7)
    assert key(Lock.RISK_KEY, 2**32 - 1)[1] == -1  # int4, as PostgreSQL takes it


async def test_tokens_claiming_too_long_a_life_are_refused() -> None:
    signer = Signer(
        new_private_key_pem(), issuer="zone-gateway", audience="zone-platform", ttl_s=60
    )
    verifier = JwksVerifier(
        jwks_url="",
        issuer="zone-gateway",
        audience="zone-platform",
        inline_jwks=json.dumps(signer.jwks()),
        max_lifetime_s=1200,
    )
    now = int(time.time())
    issued = signer.issue(subject="c", scopes=["admin"])[0]
    assert (await verifier.verify(issued)).subject == "c"  # 60 s: within the maximum
    base = {"iss": "zone-gateway", "aud": "zone-platform", "sub": "c", "scope": "admin"}
    for claims in (
        {**base, "iat": now, "exp": now + 10 * 365 * 86400},  # a ten-year token
        {**base, "iat": now - 100, "exp": now + 1200},  # 1300 s in all
        {**base, "iat": now + 3600, "exp": now + 3700},  # issued in the future
    ):
        minted = jwt.encode(claims, signer._key, algorithm="EdDSA", headers={"kid": signer.kid})
        with pytest.raises(ProblemError, match=r"lifetime|not yet valid") as err:
            await verifier.verify(minted)
        assert err.value.status == 401


@pytest.mark.parametrize(
    ("location", "host", "expected"),
    [
        ("http://evil.example/v1/clients", "evil.example", "/v1/clients"),
        ("https://EVIL.example:8443/v1/zones?x=1", "evil.example:8443", "/v1/zones?x=1"),
        ("http://evil.example//other.example/x", "evil.example", "/other.example/x"),
        ("https://elsewhere.example/x", "evil.example", "https://elsewhere.example/x"),
        ("/v1/zones/abc", "evil.example", "/v1/zones/abc"),
    ],
)
def test_redirects_to_the_request_s_own_host_become_paths(
    location: str, host: str, expected: str
) -> None:
    from kit.observability import site_relative

    assert site_relative(location, host) == expected


def test_no_durable_mixes_urgent_and_routine_events() -> None:
    """Urgent events never share a durable with bulk traffic, and a consumer that takes both
    kinds runs as two lanes recording in one inbox."""
    from deploy.streams import all_consumers
    from kit.events import URGENT, CloudEvent
    from kit.inbox import ForSibling, decode

    consumers = all_consumers()
    for c in consumers:
        urgent = {t in URGENT for t in c.handlers}
        assert len(urgent) == 1 or not c.lanes, f"{c.durable} mixes urgent and routine types"
    lanes = {c.durable: c for c in consumers if c.durable.endswith("-urgent")}
    assert {"notify-registry-urgent", "notify-inspection-urgent"} <= set(lanes)
    urgent = lanes["notify-inspection-urgent"]
    assert urgent.inbox_name == "notify-inspection"
    assert "inspection.alert.raised.v1" in urgent.handlers
    # credit's commitment facts keep the stream's order after the enterprise's registration
    assert "credit-registry-urgent" not in lanes
    # a type its sibling takes, delivered to a lane (a filter being narrowed): acked, not poison
    (routine,) = (c for c in consumers if c.durable == "notify-inspection")
    assert "inspection.alert.raised.v1" in routine.elsewhere
    alert = CloudEvent(
        source="/services/inspection",
        type="inspection.alert.raised.v1",
        subject="x",
        data={},
    )
    with pytest.raises(ForSibling):
        decode(alert.model_dump_json().encode(), "inspection.alert.raised", routine)


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        ("UniqueViolationError", 409, "conflict"),
        ("ForeignKeyViolationError", 422, "validation"),
        ("CheckViolationError", 422, "validation"),
    ],
)
def test_a_prebuilt_statement_s_violations_are_problems_not_500s(
    error: str, status: int, kind: str
) -> None:
    """kit.db.Prepared runs on the driver, so its constraint violations arrive as asyncpg's
    own errors, not wrapped in SQLAlchemy's IntegrityError: the same problems answer them."""
    import asyncpg
    from starlette.requests import Request

    from kit.problems import problem_for_exception

    request = Request({"type": "http", "method": "POST", "path": "/v1/x", "headers": []})
    answer = problem_for_exception(request, getattr(asyncpg.exceptions, error)("violated"))
    body = json.loads(answer.body)
    assert answer.status_code == status, body
    assert body["type"].endswith(kind)
