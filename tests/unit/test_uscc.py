"""USCC (GB 32100-2015) validation: property-based."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.uscc import CHARSET, UsccError, check_char, generate, validate


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
