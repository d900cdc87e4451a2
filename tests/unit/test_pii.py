"""Masks of personal information, who sees it in full, and the phone validator (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from kit.auth import Principal
from kit.pii import mask_id_number, mask_name, mask_phone, masked, sees_personal_data
from kit.validation import PHONE_PATTERN, Phone

PHONE = TypeAdapter(Phone)
OWN = "91330226MA2H4K7X1P"
OTHER = "91330226MA2H4K7Y0X"
OFFICE = {"commerce"}


@pytest.mark.parametrize(
    ("name", "mask"),
    [
        ("张三", "张*"),
        ("王小明", "王**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳修", "欧阳*"),
        ("司马光", "司马*"),
        ("欧阳", "欧*"),  # two characters: a surname and a given name, not a compound surname
        ("李", "*"),
        (" 张三 ", "张*"),
        ("", ""),
    ],
)
def test_a_name_keeps_its_family_name(name: str, mask: str) -> None:
    assert mask_name(name) == mask


@pytest.mark.parametrize(
    ("phone", "mask"),
    [
        ("13812345678", "138****5678"),
        ("0574-65512345", "0574-****2345"),
        ("010-62345678-123", "010-****5678"),
        ("+1 (415) 555-0100", "****0100"),
        ("12345", "****"),
    ],
)
def test_a_phone_keeps_its_prefix_and_last_four(phone: str, mask: str) -> None:
    assert mask_phone(phone) == mask


def test_an_id_number_keeps_its_region_and_last_four() -> None:
    assert mask_id_number("33022619800101123X") == "330226****123X"
    assert mask_id_number("12345") == "****"


@pytest.mark.parametrize(
    ("given_phone", "stored"),
    [
        ("13812345678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("+86-19912345678", "19912345678"),
        ("0574-65512345", "0574-65512345"),
        ("057465512345", "0574-65512345"),
        ("021-62345678", "021-62345678"),
        ("01062345678-123", "010-62345678-123"),
    ],
)
def test_mainland_phones_are_accepted_and_normalised(given_phone: str, stored: str) -> None:
    assert PHONE.validate_python(given_phone) == stored


@pytest.mark.parametrize(
    "phone",
    [
        "12812345678",
        "1381234567",
        "138123456789",
        "5551234",
        "0574-0551234",
        "+1-4155550100",
        "电话",
    ],
)
def test_other_phones_are_refused_with_a_reason(phone: str) -> None:
    with pytest.raises(ValidationError, match=r"mainland mobile number .* or a landline"):
        PHONE.validate_python(phone)


@given(st.from_regex(PHONE_PATTERN, fullmatch=True))
def test_every_phone_the_schema_allows_is_accepted_and_masked(phone: str) -> None:
    stored = PHONE.validate_python(phone)
    mask = mask_phone(stored)
    digits = stored.replace("-", "")
    assert "****" in mask and mask.endswith(
        stored.split("-")[1][-4:] if "-" in stored else digits[-4:]
    )
    assert len(mask.replace("*", "").replace("-", "")) <= 8  # never the whole number


@given(st.text(min_size=2, max_size=20).filter(lambda s: s.strip() == s))
def test_a_masked_name_shows_at_most_its_surname(name: str) -> None:
    mask = mask_name(name)
    assert len(mask) == len(name) and mask[0] == name[0]
    assert mask[2:] == "*" * (len(name) - 2)


@pytest.mark.parametrize(
    ("principal", "sees"),
    [
        (Principal("ent", frozenset({"registry:read"}), uscc=OWN), True),
        (Principal("other-ent", frozenset({"registry:read"}), uscc=OTHER), False),
        (Principal("admin", frozenset({"admin"})), True),
        (Principal("office", frozenset({"registry:read"}), agency="commerce"), True),
        (Principal("owner", frozenset({"registry:read"}), agency="ciq"), True),
        (Principal("agency", frozenset({"registry:read"}), agency="market_supervision"), False),
        (Principal("no-agency", frozenset({"registry:read"})), False),
        (
            Principal("insp", frozenset({"registry:read"}), agency="ciq", inspector_id="i-1"),
            False,
        ),
        # an enterprise-bound token is its enterprise, whatever else it holds
        (Principal("ent-admin", frozenset({"admin"}), uscc=OTHER), False),
    ],
    ids=lambda v: v.subject if isinstance(v, Principal) else None,
)
def test_who_sees_personal_data_in_full(principal: Principal, sees: bool) -> None:
    assert (
        sees_personal_data(principal, uscc=OWN, owner_agency="ciq", office_agencies=OFFICE) is sees
    )


def test_an_unowned_record_is_plain_to_the_office_only() -> None:
    agency = Principal("agency", frozenset({"registry:read"}), agency="ciq")
    assert not sees_personal_data(agency, uscc=OWN, owner_agency=None, office_agencies=OFFICE)
    office = Principal("office", frozenset({"registry:read"}), agency="commerce")
    assert sees_personal_data(office, uscc=OWN, owner_agency=None, office_agencies=OFFICE)


class Person(BaseModel):
    name: str
    phone: str | None = None
    city: str


def test_masked_replaces_only_the_named_fields_that_are_set() -> None:
    person = Person(name="张三", phone=None, city="宁海")
    assert masked(person, {"name": mask_name, "phone": mask_phone}) == Person(
        name="张*", phone=None, city="宁海"
    )
    assert person.name == "张三"  # a copy


def test_registration_refuses_a_bad_phone_naming_the_field_and_why() -> None:
    from services.registry.enterprises.schemas import EnterpriseIn, EnterprisePatch
    from tests.helpers import new_uscc

    body = {"uscc": new_uscc(), "name": "宁海测试有限公司", "contact_phone": "12345"}
    with pytest.raises(ValidationError) as refused:
        EnterpriseIn.model_validate(body)
    (error,) = refused.value.errors()
    assert error["loc"] == ("contact_phone",) and "landline" in error["msg"]
    patch = EnterprisePatch.model_validate({"contact_phone": "057465512345"})
    assert patch.contact_phone == "0574-65512345"
