"""The zone industries named in the guidance, shared by every service (registry's enterprises
and zones, inspection's checklists, credit's recognitions)."""

from __future__ import annotations

from enum import StrEnum

from kit.vocabulary import INDUSTRIES


class Industry(StrEnum):
    """Industries named in the guidance (宁政办发〔2017〕49号)."""

    auto_parts = "auto_parts"  # 汽车及零部件 / 汽配
    stationery = "stationery"  # 文具
    molds = "molds"  # 模具
    lighting = "lighting"  # 灯具
    hardware = "hardware"  # 五金机械
    electronics = "electronics"  # 电子电器
    furniture = "furniture"  # 家具（木制品）
    outdoor = "outdoor"  # 户外休闲用品（运动杖）


# Derived from the one vocabulary (kit/vocabulary.py), not a second list of names.
INDUSTRY_NAMES: dict[Industry, tuple[str, str]] = {Industry(k): v for k, v in INDUSTRIES.items()}
