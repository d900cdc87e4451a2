"""统一社会信用代码 (unified social credit code, GB 32100-2015) validation and generation.

Characters 9–17 of a USCC are the organisation code (组织机构代码, GB 11714-1997), whose
ninth character is a check character of its own (`org_check_char`). `validate` checks the
code's own (18th) check character; `validate_organisation_code` checks the embedded one too,
which real codes carry (python-stdnum's `cn.uscc` checks only the 18th): the registry
enforces it for new registrations when its setting says so (`REGISTRY_USCC_ORG_CHECK`).
"""

from __future__ import annotations

import random
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from kit.problem_text import BilingualError

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = [pow(3, i, 31) for i in range(17)]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]  # GB 11714-1997, the organisation code's eight
NINGHAI_REGION = "330226"


class UsccError(BilingualError):
    """Why a code is not a valid USCC, in English and Chinese (`zh`)."""


def check_char(body17: str) -> str:
    """The 18th (check) character for the first 17."""
    total = sum(CHARSET.index(c) * w for c, w in zip(body17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_value(char: str) -> int:
    """A character's value in GB 11714: digits 0–9, letters A=10 … Z=35."""
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def org_check_char(body8: str) -> str:
    """The ninth (check) character of an organisation code for its first eight:
    C9 = 11 − (Σ Ci·Wi mod 11), written X for 10 and 0 for 11 (GB 11714-1997)."""
    total = sum(org_value(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def normalize(raw: str) -> str:
    """Trim and upper-case."""
    return raw.strip().upper()


def validate(code: str) -> str:
    """Return the normalised code or raise `UsccError` naming the reason."""
    code = normalize(code)
    if len(code) != 18:
        raise UsccError(
            f"must be 18 characters, got {len(code)}", f"应为 18 位，实际为 {len(code)} 位"
        )
    bad = sorted({c for c in code if c not in CHARSET})
    if bad:
        raise UsccError(
            f"contains characters not allowed in a USCC: {''.join(bad)} "
            "(allowed: digits and letters except I, O, S, V, Z)",
            f"含有统一社会信用代码不允许的字符：{''.join(bad)}"
            "（只允许数字和除 I、O、S、V、Z 以外的大写字母）",
        )
    if not code[2:8].isdigit():
        raise UsccError(
            "characters 3–8 must be the 6-digit administrative region code",
            "第 3–8 位应为 6 位数字的登记管理机关行政区划码",
        )
    expected = check_char(code[:17])
    if code[17] != expected:
        raise UsccError(
            f"check character is wrong: expected {expected}, got {code[17]}",
            f"校验码错误：第 18 位应为 {expected}，实际为 {code[17]}",
        )
    return code


def validate_organisation_code(code: str) -> str:
    """`validate`, then the embedded organisation code's own check character (characters
    9–17, GB 11714): the normalised code, or `UsccError` naming the reason."""
    code = validate(code)
    org = code[8:17]
    expected = org_check_char(org[:8])
    if org[8] != expected:
        raise UsccError(
            f"the organisation code's check character (character 17, GB 11714) is wrong: "
            f"expected {expected}, got {org[8]}",
            f"组织机构代码校验码错误（第 17 位，GB 11714）：应为 {expected}，实际为 {org[8]}",
        )
    return code


def generate(rng: random.Random, *, region: str = NINGHAI_REGION) -> str:
    """A valid code for an enterprise (登记管理部门 9 = 工商, 类别 1 = 企业) in `region`,
    its organisation code's check character included. It draws from `rng` as it always
    did (eight characters and a digit, the digit then replaced by the check character), so
    whatever a caller draws after it stays the same."""
    org = "".join(rng.choice(CHARSET) for _ in range(8))
    rng.choice(CHARSET[:10])  # the former ninth character's draw, kept for the stream
    body = "91" + region + org + org_check_char(org)
    return body + check_char(body)


def _pydantic_validate(value: str) -> str:
    try:
        return validate(value)
    except UsccError as exc:
        raise BilingualError(
            f"invalid unified social credit code (USCC): {exc}", f"无效：{exc.zh}"
        ) from exc


Uscc = Annotated[
    str,
    BeforeValidator(lambda v: normalize(v) if isinstance(v, str) else v),
    AfterValidator(_pydantic_validate),
    Field(
        description="统一社会信用代码: 18 characters, GB 32100-2015 check character",
        examples=["91330226MA2AH0KXXL"],
        json_schema_extra={
            "format": "uscc",
            "minLength": 18,
            "maxLength": 18,
            # GB 32100's alphabet (no I, O, S, V, Z); the check character is checked on top
            "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
        },
    ),
]
