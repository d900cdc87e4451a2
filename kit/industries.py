"""The zone industries named in the guidance, shared by every service (registry's enterprises
and zones, inspection's checklists, credit's recognitions)."""

from __future__ import annotations

from enum import StrEnum


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


INDUSTRY_NAMES: dict[Industry, tuple[str, str]] = {
    Industry.auto_parts: ("汽车及零部件", "Auto & parts"),
    Industry.stationery: ("文具", "Stationery"),
    Industry.molds: ("模具", "Molds"),
    Industry.lighting: ("灯具", "Lighting"),
    Industry.hardware: ("五金机械", "Hardware & machinery"),
    Industry.electronics: ("电子电器", "Electronics & electrical"),
    Industry.furniture: ("家具（木制品）", "Furniture (wood)"),
    Industry.outdoor: ("户外休闲用品（运动杖）", "Outdoor leisure (trekking poles)"),
}
