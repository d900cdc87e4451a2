"""Every code a user can see has a zh-CN and an en name in the one vocabulary (kit)."""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from deploy import seed
from gateway.dashboard import labels
from kit import vocabulary
from kit.industries import Industry
from kit.measures import Admission, LevelEffects
from services.credit.domain import LEVEL_NAMES, FactKind, Level, Severity
from services.credit.policy.schemas import JobOut as RescoreJobOut
from services.credit.policy.schemas import LevelMeasures
from services.credit.recognitions.schemas import RecognitionOut
from services.credit.repairs.schemas import RepairOut
from services.credit.scores.schemas import ContributionOut, LevelCode
from services.credit.scoring import Measure
from services.inspection.campaigns.schemas import CampaignOut
from services.inspection.capas.schemas import CapaOut
from services.inspection.domain import CampaignLevel, Verdict
from services.inspection.labs.schemas import TestStatus as LabTestStatus
from services.inspection.risk.schemas import AlertStatus, RiskLevel, SignalKind, SignalOut
from services.inspection.tasks.schemas import TaskOut
from services.notify.bulletins.schemas import BulletinIn
from services.notify.deliveries.schemas import DeliveryOut
from services.notify.inbox.router import Kind
from services.notify.subscriptions.schemas import SubscriptionOut
from services.notify.templates.router import Code
from services.registry.batches.schemas import LotKind
from services.registry.domain import STAGE_CODES, ScheduleStatus, Stage, ZoneLevel
from services.registry.imports.schemas import ImportStatus, RowOutcome
from services.registry.memberships.schemas import (
    BreachSeverity,
    CommitmentStatus,
    MembershipStatus,
)
from services.registry.programme.acceptance.schemas import AcceptanceApplicationOut
from services.registry.programme.honours.schemas import CreditLevel, NominationOut
from services.registry.programme.leadership.schemas import ActionItemOut


def codes(source: Any) -> list[str]:
    """The values of an enum, a Literal, or a model field typed by one."""
    if isinstance(source, type) and issubclass(source, Enum):
        return [str(m.value) for m in source]
    args = typing.get_args(source)
    found: list[str] = []
    for arg in args:
        found += codes(arg) if typing.get_args(arg) else [str(getattr(arg, "value", arg))]
    return found


def field(model: type[BaseModel], name: str) -> Any:
    return model.model_fields[name].annotation


WALKED: list[tuple[str, Any]] = [
    ("industries", Industry),
    ("zone_levels", ZoneLevel),
    ("stages", Stage),
    ("tasks", [c for cs in STAGE_CODES.values() for c in cs]),
    ("agencies", [code for code, *_ in seed.AGENCIES + seed.AUTHORITIES]),
    ("credit_levels", Level),
    ("credit_levels", LevelCode),
    ("credit_levels", CreditLevel),
    ("credit_levels", field(LevelMeasures, "level")),
    ("fact_kinds", FactKind),
    ("measures", field(Measure, "kind")),
    ("measures", Admission),
    ("measures", list(LevelEffects.model_fields)),
    ("inspections", field(TaskOut, "kind")),
    ("inspections", CampaignLevel),
    ("inspections", Verdict),
    ("signal_kinds", SignalKind),
    ("severities", RiskLevel),
    ("severities", Severity),
    ("severities", BreachSeverity),
    ("notices", Kind),
    ("notices", Code),
    ("notices", field(BulletinIn, "kind")),
    ("lot_kinds", LotKind),
    ("statuses", AlertStatus),
    ("statuses", field(SignalOut, "status")),
    ("statuses", field(TaskOut, "status")),
    ("statuses", field(CapaOut, "status")),
    ("statuses", field(CampaignOut, "status")),
    ("statuses", LabTestStatus),
    ("statuses", MembershipStatus),
    ("statuses", CommitmentStatus),
    ("statuses", ScheduleStatus),
    ("statuses", field(ContributionOut, "state")),
    ("statuses", field(RepairOut, "status")),  # shown by the enterprise portal
    ("statuses", field(SubscriptionOut, "status")),
    ("statuses", ["success", "denied", "failed", "intent"]),  # audit outcomes
    ("statuses", ImportStatus),
    ("statuses", RowOutcome),
    ("statuses", field(RescoreJobOut, "status")),
    ("statuses", field(RecognitionOut, "status")),
    ("statuses", field(AcceptanceApplicationOut, "status")),
    ("statuses", field(NominationOut, "status")),
    ("statuses", field(ActionItemOut, "status")),
    ("statuses", field(DeliveryOut, "status")),
]


@pytest.mark.parametrize(
    ("table", "source"), WALKED, ids=[f"{t}-{i}" for i, (t, _) in enumerate(WALKED)]
)
def test_every_code_has_a_chinese_and_an_english_name(table: str, source: Any) -> None:
    names = vocabulary.VOCABULARIES[table]
    values = source if isinstance(source, list) else codes(source)
    assert values, f"nothing walked for {table}"
    missing = [c for c in values if c not in names]
    assert not missing, f"{table} has no name for {missing}"
    for code in values:
        zh, en = names[code]
        assert zh.strip() and en.strip(), f"{table}.{code} has an empty name"
        assert any(ord(ch) > 0x2E80 for ch in zh), f"{table}.{code}: {zh!r} is not Chinese"
        assert en.isascii(), f"{table}.{code}: {en!r} is not English"


def test_every_vocabulary_is_walked() -> None:
    assert {t for t, _ in WALKED} == set(vocabulary.VOCABULARIES)


def test_one_name_per_credit_level_everywhere() -> None:
    for level in Level:
        assert LEVEL_NAMES[level] == vocabulary.CREDIT_LEVELS[level]
        assert labels.words("zh-CN")["credit_levels"][level] == vocabulary.CREDIT_LEVELS[level][0]
        assert labels.words("en")["credit_levels"][level] == vocabulary.CREDIT_LEVELS[level][1]


def test_the_dashboard_names_codes_from_the_vocabulary() -> None:
    zh = labels.words("zh-CN")
    assert zh["agencies"]["commerce"] == "县商务局"
    assert zh["fact_kinds"]["commitment_signed"] == "签署诚信承诺"
    assert zh["tasks"]["kickoff_meeting"] == "组织召开示范区建设推进会"
    assert labels.words("en")["ui"]["nav_enterprise"] == "Enterprises"


def test_names_fall_back_to_the_code_and_follow_the_language() -> None:
    assert vocabulary.name(vocabulary.STAGES, "accepted", "en") == "Accepted"
    assert vocabulary.name(vocabulary.STAGES, "accepted", "zh-CN") == "验收通过"
    assert vocabulary.name(vocabulary.STAGES, "nowhere", "zh-CN") == "nowhere"
    assert vocabulary.name(vocabulary.STAGES, None) == ""
    assert vocabulary.bilingual(vocabulary.INDUSTRIES, "stationery") == "文具 Stationery"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-12-06T19:24:05+00:00", "2026-12-07 03:24"),
        ("2026-12-06T19:24:05Z", "2026-12-07 03:24"),
        ("2026-12-07T03:24:05+08:00", "2026-12-07 03:24"),
        (datetime(2026, 12, 6, 19, 24, tzinfo=UTC), "2026-12-07 03:24"),
        ("2026-12-06T19:24:05", "2026-12-07 03:24"),  # naive: taken as UTC
        ("not a time", "not a time"),
        (None, ""),
        ("", ""),
    ],
)
def test_china_time_reads_utc_as_asia_shanghai(value: Any, shown: str) -> None:
    assert vocabulary.china_time(value) == shown


def test_china_time_with_seconds() -> None:
    assert vocabulary.china_time("2026-12-06T16:00:09+00:00", seconds=True) == "2026-12-07 00:00:09"


def test_every_name_field_is_described_in_the_openapi() -> None:
    """Names, and every text given in both languages (`*_zh`, `*_en`), say what they are."""
    undescribed = []
    root = Path(__file__).resolve().parents[2]
    paths = sorted((root / "services").rglob("schemas.py"))
    paths += [root / "services/credit/scoring.py", root / "kit/feed_imports.py"]
    for path in paths:
        module = importlib.import_module(".".join(path.relative_to(root).with_suffix("").parts))
        for cls in vars(module).values():
            if not (inspect.isclass(cls) and issubclass(cls, BaseModel)):
                continue
            for name, info in cls.model_fields.items():
                if name.endswith(("_name", "_zh", "_en")) and not info.description:
                    undescribed.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert not undescribed, undescribed


def test_one_name_per_concept() -> None:
    """An agency is a 部门, a membership an 入区记录, a zone's or campaign's level a 级别 and
    an enterprise's credit level a 信用等级, wherever a user reads them (issue #23)."""
    from kit.problem_text import FIELD_LABELS, RESOURCE_LABELS
    from services.notify.templates.service import DEFAULTS

    assert FIELD_LABELS["agency"] == RESOURCE_LABELS["agency"] == labels.UI["agency"][0] == "部门"
    assert RESOURCE_LABELS["membership"] == labels.UI["memberships"][0] == "入区记录"
    assert FIELD_LABELS["level"] == labels.UI["level"][0] == "级别"
    assert labels.UI["credit_level"][0] == "信用等级"
    texts = [zh for zh, _ in labels.UI.values()]
    texts += list(FIELD_LABELS.values()) + list(RESOURCE_LABELS.values())
    texts += [part for (_, lang), both in DEFAULTS.items() if lang == "zh-CN" for part in both]
    for other in ("成员单位", "参与单位", "成员资格", "入区申请", "风险等级"):
        assert not [t for t in texts if other in t], other
    assert not [t for t in texts if "等级" in t and "信用等级" not in t]


# a Chinese f-string that prints a status, a stage or an enum's value as it is stored
_RAW_CODE_IN_ZH = re.compile(
    r"f\"[^\"\n]*[\u4e00-\u9fff][^\"\n]*\{\w[\w.]*\.(status|stage|state)(\.value)?\}"
    r"|f\"[^\"\n]*\{\w[\w.]*\.(status|stage|state)(\.value)?\}[^\"\n]*[\u4e00-\u9fff]"
)


def test_chinese_details_name_statuses_rather_than_print_codes() -> None:
    root = Path(__file__).resolve().parents[2]
    raw = [
        f"{path.relative_to(root)}:{number}"
        for top in ("kit", "services", "gateway")
        for path in sorted((root / top).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _RAW_CODE_IN_ZH.search(line)
    ]
    assert not raw, f"print the name (kit.vocabulary.name) instead: {raw}"


def test_the_vocabulary_stands_alone() -> None:
    """kit.vocabulary holds China's time zone and the languages; it needs no other kit module
    (kit.validation reads CHINA from it, not the other way round)."""
    import ast

    from kit import validation

    source = Path(vocabulary.__file__).read_text(encoding="utf-8")
    imported = [
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    ]
    assert not [m for m in imported if m == "kit" or m.startswith("kit.")], imported
    assert validation.CHINA is vocabulary.CHINA
