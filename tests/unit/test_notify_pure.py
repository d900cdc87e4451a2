"""Notify's pure parts: the SSRF guard, signatures, templates, subscription matching."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from kit.events import CloudEvent
from services.notify import signing, ssrf
from services.notify.subscriptions import matching
from services.notify.templates import service as templates


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.9",
        "172.16.5.5",
        "169.254.169.254",
        "100.100.100.200",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "::ffff:127.0.0.1",
        "2002:7f00:1::",
        "fd00:ec2::254",
        "fe80::1",
        "224.0.0.1",
    ],
)
def test_forbidden_addresses(address: str) -> None:
    assert ssrf.forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "1.1.1.1"])
def test_public_addresses(address: str) -> None:
    assert ssrf.forbidden(ipaddress.ip_address(address)) is None


def test_check_target_literals_allow_list_and_shape() -> None:
    def check(url: str, allow: str = "", https: bool = False) -> None:
        asyncio.run(ssrf.check_target(url, require_https=https, allow=allow))

    for url in ("http://127.0.0.1/x", "http://[::1]/x", "http://169.254.169.254/", "http://a..b/"):
        with pytest.raises(ssrf.Refused):
            check(url)
    check("http://127.0.0.1:9/hook", allow="127.0.0.1")
    check("http://10.9.8.7/hook", allow="10.0.0.0/8")
    for url in ("ftp://h/x", "http://u:p@127.0.0.1/"):
        with pytest.raises(ssrf.Refused):
            check(url, allow="127.0.0.1")
    with pytest.raises(ssrf.Refused, match="https"):
        check("http://127.0.0.1/x", allow="127.0.0.1", https=True)


def test_a_refusal_does_not_say_how_a_host_resolves() -> None:
    """`localhost` resolves to loopback and `nonexistent.invalid` not at all (RFC 6761):
    a subscriber gets the same answer for both, naming neither address nor reason."""
    answers = []
    for host in ("localhost", "nonexistent.invalid"):
        with pytest.raises(ssrf.Refused) as refused:
            asyncio.run(ssrf.check_target(f"http://{host}/x", require_https=False, allow=""))
        answers.append(str(refused.value).replace(host, "HOST"))
    assert answers[0] == answers[1]
    assert not any(word in answers[0] for word in ("127.", "::1", "loopback", "resolve"))


def test_standard_webhooks_signature() -> None:
    secret = signing.new_secret()
    body = b'{"id":"e1"}'
    headers = signing.headers([secret], "msg_1", 1_700_000_000, body)
    assert headers["webhook-signature"].startswith("v1,")
    assert signing.verify(secret, "msg_1", 1_700_000_000, body, headers["webhook-signature"])
    assert not signing.verify(secret, "msg_1", 1_700_000_001, body, headers["webhook-signature"])
    other = signing.new_secret()
    both = signing.headers([other, secret], "msg_1", 1_700_000_000, body)["webhook-signature"]
    assert signing.verify(secret, "msg_1", 1_700_000_000, body, both)
    # the spec's published example
    example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    sig = signing.sign(example, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_templates_checked_at_save() -> None:
    for (code, _), (title, body) in templates.DEFAULTS.items():
        templates.check(code, title, body)
    for title in ("{batch.__class__}", "{batch[0]}", "{batch!r}", "{batch:>10}", "{fine}", "{"):
        with pytest.raises(templates.TemplateError):
            templates.check("risk.warning", title, "x")
    assert templates.render("{a}", "{b}", {"a": 1, "b": None}) == ("1", "—")


def _event(type_: str, subject: str, **data: object) -> CloudEvent:
    return CloudEvent(source="/t", type=type_, subject=subject, data=data)


def test_patterns() -> None:
    assert matching.pattern_matches("inspection.alert.*", "inspection.alert.raised.v1")
    assert matching.pattern_matches("registry.>", "registry.membership.admitted.v1")
    assert matching.pattern_matches(">", "credit.level.changed.v1")
    assert not matching.pattern_matches("inspection.alert.*", "inspection.task.completed.v1")
    assert not matching.pattern_matches("registry.enterprise", "registry.enterprise.registered.v1")


def test_entitlement_and_filters() -> None:
    mine, theirs = "91330226MA2AH0KX8K", "913302263FEWYLF16M"
    about_me = matching.about(
        _event("credit.level.changed.v1", mine, uscc=mine, severity="serious")
    )
    about_them = matching.about(_event("credit.level.changed.v1", theirs, uscc=theirs))
    assert matching.entitled("enterprise", mine, about_me)
    assert not matching.entitled("enterprise", mine, about_them)
    traced = matching.about(_event("registry.batch.traced.v1", mine, uscc=mine))
    assert not matching.entitled("enterprise", mine, traced)
    assert matching.entitled("agency", "ciq", about_them)
    assert not matching.entitled("stranger", "x", about_them)
    task = matching.about(_event("inspection.task.completed.v1", mine, uscc=mine))
    draw = matching.about(_event("inspection.draw.published.v1", "c1"))
    assert not matching.entitled("inspector", "i1", task)
    assert matching.entitled("inspector", "i1", draw)
    assert matching.passes({"severities": ["serious"]}, about_me)
    assert not matching.passes({"usccs": [theirs]}, about_me)
    zoned = matching.about(_event("x.y.z.v1", mine, uscc=mine), zones=("z1",), industry="toys")
    assert matching.passes({"zones": ["z1"], "industries": ["toys"]}, zoned)
    assert not matching.passes({"zones": ["z2"]}, zoned)
