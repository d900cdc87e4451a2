"""The county's integrity commitment (质量诚信承诺书) that zone enterprises sign: one text for
every zone, by version. The registry keeps a signed commitment by the SHA-256 of the text as
signed; the demo seed and the enterprise portal take the text from here."""

from __future__ import annotations

import hashlib
from typing import Final

CURRENT_VERSION: Final = "2017-v1"
TEXTS: Final[dict[str, str]] = {
    "2017-v1": (
        "宁海县出口产品质量安全示范区企业质量诚信承诺书：本企业承诺严格遵守产品质量法律法规，"
        "落实企业质量安全第一责任人责任，建立以出口产品批次管理为主线的质量可追溯制度，"
        "如实报送质量信息，接受各成员单位监督。"
    ),
}


def text_sha256(text: str) -> str:
    """The digest the registry records for a signed text (UTF-8 bytes)."""
    return hashlib.sha256(text.encode()).hexdigest()
