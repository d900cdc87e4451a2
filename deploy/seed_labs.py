"""The demo labs' records (data only; `deploy.seed.seed_labs` loads them)."""

from datetime import date
from typing import Any

# The public testing platform (公共检测服务平台): accredited labs serving the zones' industries.
# Invented CNAS/CMA numbers; the scopes name real product standards.
LABS: list[dict[str, Any]] = [
    {
        "name": "宁波检验检疫科学技术研究院（宁海实验室）",
        "name_en": "Ningbo Academy of Inspection and Quarantine, Ninghai laboratory",
        "cnas_number": "CNAS L1234",
        "cma_number": "201511000123",
        "agency": "ciq",
        "address": "浙江省宁波市宁海县桃源街道兴工路",
        "scope": [
            {"hs_prefix": "9405", "standard": "GB 7000.1", "title": "灯具安全 luminaire safety"},
            {"hs_prefix": "9405", "standard": "EN 60598-1", "title": "Luminaires (EU)"},
            {"hs_prefix": "9608", "standard": "GB 21027", "title": "学生用品安全 stationery"},
            {"hs_prefix": "9609", "standard": "EN 71-3", "title": "可迁移元素 migration"},
            {"hs_prefix": "8708", "standard": "GB/T 3730.1", "title": "汽车零部件"},
        ],
        "valid_from": date(2024, 3, 1),
        "valid_to": date(2030, 2, 28),
    },
    {
        "name": "宁海县产品质量检验所",
        "name_en": "Ninghai County Product Quality Inspection Institute",
        "cnas_number": "CNAS L5678",
        "cma_number": "201811000456",
        "agency": "market_supervision",
        "address": "浙江省宁波市宁海县跃龙街道",
        "scope": [
            {"hs_prefix": "9403", "standard": "GB 28007", "title": "儿童家具 children's furniture"},
            {"hs_prefix": "9506", "standard": "GB/T 19272", "title": "健身器材 sports equipment"},
            {"hs_prefix": "8480", "standard": "GB/T 12555", "title": "塑料注射模 molds"},
            {"product": "运动杖 trekking poles", "standard": "EN ISO 20957-1"},
        ],
        "valid_from": date(2023, 6, 1),
        "valid_to": date(2029, 5, 31),
    },
]
