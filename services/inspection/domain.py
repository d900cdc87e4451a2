"""Inspection vocabulary."""

from __future__ import annotations

from enum import StrEnum


class CampaignLevel(StrEnum):
    """Who organises a campaign; a check by a higher level in the window covers a lower one."""

    county = "county"
    city = "city"
    province = "province"
    national = "national"


LEVEL_RANK = {
    CampaignLevel.county: 0,
    CampaignLevel.city: 1,
    CampaignLevel.province: 2,
    CampaignLevel.national: 3,
}


class Verdict(StrEnum):
    """A task's outcome: pass, minor nonconformity (passes with remarks), fail."""

    passed = "pass"
    minor = "minor"
    fail = "fail"
