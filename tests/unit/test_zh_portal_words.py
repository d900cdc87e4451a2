"""The portal reads the credit service's English explanations (a level change's `cause`, an
override in force) back into names in the page's language: no fact kind, severity, agency
or level code reaches the page (#23's code scan found them on /portal/credit)."""

from __future__ import annotations

import pytest

from gateway.portal.labels import cause, override
from kit import vocabulary
from services.credit.policy.jobs import CAUSES
from tests.helpers import codes_shown

CODES = {c for table in vocabulary.VOCABULARIES.values() for c in table}


@pytest.mark.parametrize(
    ("text", "zh", "en"),
    [
        (
            "fact foreign_notification/serious from commerce",
            "信用事实：国外通报（严重），来源：县商务局",
            "Fact: Foreign notification (Serious), from County Commerce Bureau (zone office)",
        ),
        ("registered: base score", "登记：基础分", "Registered: base score"),
        ("credit repair of return fact", "信用修复：退运", "Credit repair of a fact: "),
        ("commitment ended (zone revoked)", "承诺终止（示范区资格撤销）", "Commitment ended"),
        ("commitment ended (停产)", "承诺终止（停产）", "Commitment ended (停产)"),
        ("model v3 in force", "信用评价模型第 3 版生效", "Credit model v3 in force"),
    ],
)
def test_a_cause_reads_in_names(text: str, zh: str, en: str) -> None:
    assert cause(text, "zh-CN").startswith(zh)
    assert cause(text, "en").startswith(en)
    for lang in ("zh-CN", "en"):  # the code scan of the browser tests
        assert codes_shown(cause(text, lang), CODES, set(), chinese=lang == "zh-CN") == set()


def test_every_rescoring_cause_reads_in_names() -> None:
    for reason, text in CAUSES.items():
        written = text.format(v=2)
        assert cause(written, "zh-CN") != written, reason
        assert cause(written, "en") != written or written[0].isupper(), reason


def test_an_override_reads_in_names() -> None:
    text = "return/serious fact 01938f2a-7c1e-7a3b-9d4e-2f6a8b0c1d2e: at best C for 365 days"
    assert override(text, "zh-CN") == "退运（严重）：365 天内最高为C类（信用风险较高）"
    assert override(text, "en").endswith("at best C (higher credit risk) for 365 days")
    assert override("something else", "zh-CN") == "something else"  # shown as written
