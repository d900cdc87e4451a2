"""USCC (GB 32100-2015) validation: property-based."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.uscc import (
    CHARSET,
    ORG_WEIGHTS,
    UsccError,
    check_char,
    generate,
    org_check_char,
    org_value,
    validate,
    validate_organisation_code,
)


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_codes_validate(seed: int) -> None:
    code = generate(random.Random(seed))
    assert validate(code) == code
    assert code.startswith("91330226")


@given(st.integers(min_value=0, max_value=2**32), st.integers(0, 17), st.sampled_from(CHARSET))
def test_any_single_substitution_is_caught(seed: int, position: int, char: str) -> None:
    code = generate(random.Random(seed))
    mutated = code[:position] + char + code[position + 1 :]
    if mutated == code:
        return
    if position in range(2, 8) and not char.isdigit():
        with pytest.raises(UsccError):
            validate(mutated)
        return
    with pytest.raises(UsccError, match="check character"):
        validate(mutated)


def test_known_public_code() -> None:
    # A published code of a real company (Alibaba (China) Co., Ltd.).
    assert validate("91330100799655058B") == "91330100799655058B"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91330226MA2AH0KX8", "18 characters"),
        ("91330226MA2AH0KX8KK", "18 characters"),
        ("91330226MA2AH0KI8K", "not allowed"),
        ("91330226MA2AH0KO8K", "not allowed"),
        ("91330226MA2AH0KS8K", "not allowed"),
        ("91330226MA2AH0KV8K", "not allowed"),
        ("91330226MA2AH0KZ8K", "not allowed"),
        ("91330226MA2AH0KX8C", "expected K"),
    ],
)
def test_bad_codes_say_why(code: str, reason: str) -> None:
    with pytest.raises(UsccError, match=reason):
        validate(code)


def test_normalises_case_and_space() -> None:
    assert validate("  91330226ma2ah0kx8k ") == "91330226MA2AH0KX8K"


def test_check_char_formula() -> None:
    body = "91330226MA2AH0KX8"
    total = sum(CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    assert check_char(body) == CHARSET[(31 - total % 31) % 31]


# GB 11714: the organisation code (characters 9–17) carries a check character of its own.
# These properties are the reference (python-stdnum's cn.uscc checks only the 18th).


def _with_org(code: str, org: str) -> str:
    """`code` with its organisation code replaced, the 18th check character made right again."""
    body = code[:8] + org
    return body + check_char(body)


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_codes_carry_the_organisation_check(seed: int) -> None:
    code = generate(random.Random(seed))
    assert validate_organisation_code(code) == code
    assert code[16] == org_check_char(code[8:16])


@given(st.integers(min_value=0, max_value=2**32), st.integers(8, 16), st.sampled_from(CHARSET))
def test_organisation_code_substitutions(seed: int, position: int, char: str) -> None:
    """A substitution in the organisation code (the 18th check character kept right) passes
    `validate` and is caught by the GB 11714 check unless it changes the sum by a multiple of
    11: the weights are all prime to 11, so only values 11 or 22 apart (0/B/M, 1/C/N, …) slip
    through, as the standard's mod-11 design allows."""
    code = generate(random.Random(seed))
    org = code[8:17]
    index = position - 8
    if org[index] == char:
        return
    mutated = _with_org(code, org[:index] + char + org[index + 1 :])
    assert validate(mutated) == mutated
    if index == 8 or (org_value(char) - org_value(org[index])) % 11:
        with pytest.raises(UsccError, match="organisation code"):
            validate_organisation_code(mutated)
    else:
        assert validate_organisation_code(mutated) == mutated


@given(st.integers(min_value=0, max_value=2**32), st.integers(0, 7), st.integers(0, 7))
def test_organisation_code_transpositions_mostly_caught(seed: int, i: int, j: int) -> None:
    """Swapping two of the first eight changes the sum by (a − b)(Wi − Wj): caught unless
    that is a multiple of 11."""
    code = generate(random.Random(seed))
    org = list(code[8:17])
    a, b = org_value(org[i]), org_value(org[j])
    org[i], org[j] = org[j], org[i]
    mutated = _with_org(code, "".join(org))
    if ((a - b) * (ORG_WEIGHTS[i] - ORG_WEIGHTS[j])) % 11:
        with pytest.raises(UsccError, match="organisation code"):
            validate_organisation_code(mutated)
    else:
        assert validate_organisation_code(mutated) == mutated


@pytest.mark.parametrize(
    "code",
    [
        "91330100799655058B",  # Alibaba (China) Co., Ltd.
        "9144030071526726XG",  # Shenzhen Tencent Computer Systems Co., Ltd. (check X)
        "914403001922038216",  # Huawei Technologies Co., Ltd.
    ],
)
def test_known_public_codes_carry_the_organisation_check(code: str) -> None:
    assert validate_organisation_code(code) == code


def test_organisation_check_formula() -> None:
    """C9 = 11 − (Σ Ci·Wi mod 11); 10 is written X and 11 is 0."""
    for body in ("79965505", "71526726", "19220382", "MA2AH0KX", "00000000", "D2B5QL8R"):
        total = sum(org_value(c) * w for c, w in zip(body, [3, 7, 9, 10, 5, 8, 4, 2], strict=True))
        value = 11 - total % 11
        assert org_check_char(body) == {10: "X", 11: "0"}.get(value, str(value))
    assert org_value("A") == 10 and org_value("Z") == 35 and org_value("7") == 7


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91330226MA2AH0KX8K", "expected X, got 8"),  # 18th right, 17th wrong
        ("91330226MA2AH0KX8C", "check character is wrong: expected K"),  # 18th wrong first
        ("91330226MA2AH0KX", "18 characters"),
    ],
)
def test_organisation_check_says_why(code: str, reason: str) -> None:
    with pytest.raises(UsccError, match=reason):
        validate_organisation_code(code)
