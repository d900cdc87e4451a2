"""Personal information (个人信息, issue 19 part 7) through the gateway on the real stack:
shown in full to the enterprise itself, the zone office and the owning agency, masked for
other agencies and inspectors; ciphertext in the database; never in events or logs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from deploy.launcher import Stack
from tests.helpers import (
    assert_problem,
    client_for,
    enterprise_body,
    new_uscc,
    sql,
    stream_events,
    wait_until,
)

READ = ["registry:read"]
LEGAL, CONTACT, PHONE = "欧阳娜娜", "赵敏", "13812345678"
PLAIN = {"legal_representative": LEGAL, "contact_name": CONTACT, "contact_phone": PHONE}
MASKED = {"legal_representative": "欧阳**", "contact_name": "赵*", "contact_phone": "138****5678"}
ZONE = "hardware-provincial"


def _personal(enterprise: dict[str, object]) -> dict[str, object]:
    return {k: enterprise[k] for k in PLAIN}


@pytest.fixture(scope="module")
def registered(admin: httpx.Client, gateway_url: str) -> Iterator[dict[str, httpx.Client | str]]:
    """An enterprise registered by the customs bureau's (ciq) system, with a commitment and a
    primary responsibility, and a client for each kind of caller."""
    owner = client_for(admin, gateway_url, ["registry:read", "registry:write"], agency="ciq")
    uscc = new_uscc()
    created = owner.post(
        "/v1/enterprises",
        json=enterprise_body(
            uscc, legal_representative=LEGAL, contact_name=CONTACT, contact_phone=PHONE
        ),
    )
    assert created.status_code == 201, created.text
    applied = admin.post(f"/v1/zones/{ZONE}/applications", json={"uscc": uscc})
    assert applied.status_code == 201, applied.text
    for decision in ("assess", "admit"):
        decided = admin.post(
            f"/v1/memberships/{applied.json()['id']}/decision", json={"decision": decision}
        )
        assert decided.status_code == 200, decided.text
    signed = admin.post(
        f"/v1/enterprises/{uscc}/commitments",
        json={
            "zone_code": ZONE,
            "signatory": LEGAL,
            "signed_on": "2026-11-01",
            "text_version": f"pii-{uuid.uuid4().hex[:8]}",
            "text": "质量诚信承诺",
        },
    )
    assert signed.status_code == 201, signed.text
    topic = f"pii_{uuid.uuid4().hex[:8]}"
    primary = admin.post(
        "/v1/responsibilities",
        json={
            "zone_code": ZONE,
            "tier": "primary",
            "topic": topic,
            "uscc": uscc,
            "duty": "企业对产品质量安全负第一责任",
            "responsible_person": CONTACT,
        },
    )
    assert primary.status_code == 201, primary.text
    clients = {
        "uscc": uscc,
        "topic": topic,
        "owner": owner,
        "office": client_for(admin, gateway_url, READ, agency="commerce"),
        "itself": client_for(admin, gateway_url, READ, uscc=uscc),
        "agency": client_for(admin, gateway_url, READ, agency="market_supervision"),
        # an officer of the owning agency is a person, not the agency
        "inspector": client_for(
            admin, gateway_url, READ, agency="ciq", inspector_id=str(uuid.uuid4())
        ),
        "other_enterprise": client_for(admin, gateway_url, READ, uscc=new_uscc()),
    }
    yield clients
    for value in clients.values():
        if isinstance(value, httpx.Client):
            value.close()


@pytest.mark.parametrize(
    ("who", "shown"),
    [
        ("owner", PLAIN),
        ("office", PLAIN),
        ("itself", PLAIN),
        ("agency", MASKED),
        ("inspector", MASKED),
    ],
)
def test_personal_fields_are_masked_for_all_but_the_enterprise_office_and_owner(
    registered: dict[str, httpx.Client | str], who: str, shown: dict[str, str]
) -> None:
    uscc, client = registered["uscc"], registered[who]
    assert isinstance(client, httpx.Client)
    one = client.get(f"/v1/enterprises/{uscc}")
    assert one.status_code == 200, one.text
    assert _personal(one.json()) == shown
    listed = client.get("/v1/enterprises", params={"q": one.json()["name"]}).json()["items"]
    assert [_personal(e) for e in listed if e["uscc"] == uscc] == [shown]
    commitments = client.get(f"/v1/enterprises/{uscc}/commitments").json()["items"]
    assert {c["signatory"] for c in commitments} == {shown["legal_representative"]}


@pytest.mark.parametrize(
    ("who", "person"), [("owner", CONTACT), ("agency", "赵*"), ("inspector", "赵*")]
)
def test_the_first_responsible_person_is_masked_likewise(
    registered: dict[str, httpx.Client | str], who: str, person: str
) -> None:
    uscc, topic, client = registered["uscc"], registered["topic"], registered[who]
    assert isinstance(client, httpx.Client)
    listed = client.get("/v1/responsibilities", params={"topic": topic}).json()["items"]
    assert [r["responsible_person"] for r in listed if r["tier"] == "primary"] == [person]
    routed = client.get(
        "/v1/responsibilities/route", params={"zone": ZONE, "topic": topic, "uscc": uscc}
    )
    assert routed.status_code == 200, routed.text
    assert routed.json()["first_responsible"]["responsible_person"] == person
    assert routed.json()["chain"][0]["responsible_person"] == person


def test_the_registering_agency_owns_the_record(
    registered: dict[str, httpx.Client | str],
) -> None:
    client, uscc = registered["owner"], registered["uscc"]
    assert isinstance(client, httpx.Client)
    assert client.get(f"/v1/enterprises/{uscc}").json()["owner_agency"] == "ciq"


def test_another_enterprise_reads_none_of_it(registered: dict[str, httpx.Client | str]) -> None:
    client, uscc = registered["other_enterprise"], registered["uscc"]
    assert isinstance(client, httpx.Client)
    assert_problem(client.get(f"/v1/enterprises/{uscc}"), 403, "forbidden")
    assert_problem(client.get(f"/v1/enterprises/{uscc}/commitments"), 403, "forbidden")
    assert client.get("/v1/enterprises", params={"limit": 500}).json()["items"] == []


def test_a_bad_phone_is_422_saying_what_a_phone_looks_like(api: httpx.Client) -> None:
    refused = api.post(
        "/v1/enterprises", json=enterprise_body(new_uscc(), contact_phone="555-1234")
    )
    problem = assert_problem(refused, 422, "validation")
    (error,) = problem["errors"]
    assert error["field"] == "contact_phone" and "mainland mobile number" in error["reason"]
    assert "555-1234" not in refused.text  # a refused value is not echoed either
    assert (
        "owner_agency cannot be set"
        in api.post(
            "/v1/enterprises", json=enterprise_body(new_uscc(), owner_agency="finance")
        ).text
    )


def test_the_database_holds_ciphertext_and_events_and_logs_no_plaintext(
    stack: Stack, registered: dict[str, httpx.Client | str], admin: httpx.Client
) -> None:
    uscc = registered["uscc"]
    (row,) = sql(
        stack,
        "registry",
        "SELECT legal_representative, contact_name, contact_phone FROM enterprises WHERE uscc = $1",
        uscc,
    )
    assert all(v.startswith("enc:v1:aes256gcm:local-") for v in row)  # make run's own key
    assert not any(p in v for p in PLAIN.values() for v in row)
    changed = admin.get(f"/v1/enterprises/{uscc}")
    patched = admin.patch(
        f"/v1/enterprises/{uscc}",
        json={"contact_phone": "0574-65512345"},
        headers={"If-Match": changed.headers["etag"]},
    )
    assert patched.status_code == 200 and patched.json()["contact_phone"] == "0574-65512345"

    def announced() -> list[dict[str, object]] | None:
        events = [
            e for e in stream_events(stack, "registry.enterprise.>") if e.get("subject") == uscc
        ]
        return events if len(events) >= 2 else None

    events = wait_until(announced, what="registry's enterprise events")
    assert [e["type"] for e in events] == [
        "registry.enterprise.registered.v1",
        "registry.enterprise.updated.v1",
    ]
    assert events[1]["data"]["changed"] == ["contact_phone"]  # type: ignore[index]
    text = json.dumps(events, ensure_ascii=False)
    for value in (*PLAIN.values(), "65512345", "赵*"):
        assert value not in text
    for name in ("registry", "gateway"):
        log = (stack.data_dir / f"{name}.log").read_text(errors="replace")
        assert not any(value in log for value in (LEGAL, CONTACT, PHONE, "65512345")), name
