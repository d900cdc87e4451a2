"""What each portal page shows, fetched through the API with the enterprise user's token.

Every builder takes the signed-in enterprise's USCC from its token: the portal never asks the
API about another enterprise by its own choice, and whatever the URL names (a batch, a CAPA)
the owning service decides whether this user may see it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from gateway.webui.api import Api, Part, gather
from kit import commitments

CHINA = ZoneInfo("Asia/Shanghai")
# A membership in these states may sign the zone's commitment (registry's rule).
SIGNING_STATES = ("applied", "assessing", "admitted")


def q(value: str) -> str:
    """A path segment from user input, percent-encoded (no `/`, `.` or `..` can leave it)."""
    segment = quote(value.strip(), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def today_in_china() -> date:
    """The day people in the county are living."""
    return datetime.now(UTC).astimezone(CHINA).date()


async def profile(api: Api, uscc: str) -> dict[str, Any]:
    """The enterprise's record and its credit level at a glance."""
    fetched = await gather(
        enterprise=api.get("registry", f"/v1/enterprises/{q(uscc)}"),
        credit=api.get("credit", f"/v1/credit/enterprises/{q(uscc)}"),
    )
    return dict(fetched)


def contribution_bars(contributions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each fact's contribution as a bar: its width a share of the largest, its side the
    sign (the chart is plain HTML, readable at 360 px and without scripts)."""
    largest = max((abs(float(c.get("points") or 0)) for c in contributions), default=0.0)
    bars = []
    for c in contributions:
        points = float(c.get("points") or 0)
        share = abs(points) / largest * 100 if largest else 0.0
        bars.append(c | {"points": points, "width": round(share, 1), "negative": points < 0})
    return bars


def repair_date(
    model: dict[str, Any], *, kind: str, severity: str, occurred_at: str
) -> date | None:
    """The first day (China time) a repair of the fact may be asked for, under the model in
    force (credit's rule, shown before asking; the credit service decides): its China date
    plus the waiting days of its kind and severity; None where it needs no repair."""
    by_kind = (model.get("repair_waiting_days_by_kind") or {}).get(kind) or {}
    days = by_kind.get(severity, (model.get("repair_waiting_days") or {}).get(severity))
    if days is None:
        return None
    when = datetime.fromisoformat(occurred_at).astimezone(CHINA).date()
    return when + timedelta(days=int(days))


def repairable(
    contributions: list[dict[str, Any]],
    facts: list[dict[str, Any]],
    model: dict[str, Any] | None,
    repairs: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The adverse facts still counting that a repair could end, each with the day it may be
    asked for and whether that day has come; facts with a repair pending are left out."""
    pending = {r["fact_id"] for r in repairs if r.get("status") == "pending"}
    by_id = {f["id"]: f for f in facts}
    today = today_in_china()
    found = []
    for c in contributions:
        fact = by_id.get(c["fact_id"])
        if (
            fact is None
            or float(c.get("points") or 0) >= 0
            or c.get("state")
            not in (
                "counted",
                "capped",
            )
        ):
            continue
        if c["fact_id"] in pending:
            continue
        earliest = (
            repair_date(
                model, kind=fact["kind"], severity=fact["severity"], occurred_at=fact["occurred_at"]
            )
            if model
            else None
        )
        if model and earliest is None:
            continue  # a fact of a severity that needs no repair
        found.append(
            {
                "fact": fact,
                "points": float(c["points"]),
                "earliest": earliest,
                "ready": earliest is not None and earliest <= today,
            }
        )
    return found


async def credit(api: Api, uscc: str) -> dict[str, Any]:
    """Score, level, contributions as bars, history, measures, repairable facts, repairs."""
    key = q(uscc)
    fetched = await gather(
        score=api.get("credit", f"/v1/credit/enterprises/{key}"),
        history=api.get("credit", f"/v1/credit/enterprises/{key}/history", limit=50),
        facts=api.all("credit", "/v1/credit/facts", uscc=uscc),
        model=api.get("credit", "/v1/credit/model"),
        repairs=api.get("credit", "/v1/credit/repairs", uscc=uscc, limit=50),
    )
    score: Part = fetched["score"]
    contributions = list(score.data.get("contributions") or []) if score.ok else []
    model = fetched["model"].data if fetched["model"].ok else None
    if isinstance(model, dict) and isinstance(model.get("model"), dict):
        model = model["model"]
    return fetched | {
        "bars": contribution_bars(contributions),
        "repairable": repairable(
            contributions, fetched["facts"].items, model, fetched["repairs"].items
        ),
    }


async def zones(api: Api, uscc: str) -> dict[str, Any]:
    """Every zone (to apply to), the enterprise's memberships and each one's history."""
    fetched = await gather(
        zones=api.all("registry", "/v1/zones"),
        memberships=api.all("registry", "/v1/memberships", uscc=uscc),
    )
    details = await gather(
        **{
            str(m["id"]): api.get("registry", f"/v1/memberships/{q(str(m['id']))}")
            for m in fetched["memberships"].items
        }
    )
    zones_by_code = {z["code"]: z for z in fetched["zones"].items}
    open_codes = {
        m["zone_code"]
        for m in fetched["memberships"].items
        if m["status"] in ("applied", "assessing", "admitted", "suspended")
    }
    return fetched | {
        "histories": {k: (p.data or {}).get("history", []) for k, p in details.items() if p.ok},
        "zones_by_code": zones_by_code,
        "may_apply": [
            z
            for z in fetched["zones"].items
            if z["code"] not in open_codes and z.get("stage") not in ("revoked",)
        ],
    }


async def commitment_page(api: Api, uscc: str) -> dict[str, Any]:
    """The enterprise's commitments (every version) and the zones it may sign for."""
    fetched = await gather(
        commitments=api.all("registry", f"/v1/enterprises/{q(uscc)}/commitments"),
        memberships=api.all("registry", "/v1/memberships", uscc=uscc),
        zones=api.all("registry", "/v1/zones"),
    )
    names = {z["code"]: z for z in fetched["zones"].items}
    signable = sorted(
        {m["zone_code"] for m in fetched["memberships"].items if m["status"] in SIGNING_STATES}
    )
    text = commitments.TEXTS[commitments.CURRENT_VERSION]
    return fetched | {
        "zones_by_code": names,
        "signable": signable,
        "text": text,
        "text_version": commitments.CURRENT_VERSION,
        "text_sha256": commitments.text_sha256(text),
    }


async def batches(api: Api, uscc: str, cursor: str | None) -> dict[str, Any]:
    """The enterprise's lots, newest first as the registry lists them."""
    return {"batches": await api.get("registry", "/v1/batches", uscc=uscc, limit=50, cursor=cursor)}


async def batch(api: Api, batch_id: str, direction: str) -> dict[str, Any]:
    """One lot and its trace graph in the chosen direction."""
    key = q(batch_id)
    found = await api.get("registry", f"/v1/batches/{key}")
    trace = (
        await api.get("registry", f"/v1/batches/{key}/trace", direction=direction, depth=10)
        if found.ok
        else Part("not_found")
    )
    return {"batch": found, "trace": trace, "direction": direction}


async def tests(api: Api, uscc: str) -> dict[str, Any]:
    """The enterprise's test requests, the labs, and its export batches to choose from."""
    return dict(
        await gather(
            requests=api.get("inspection", "/v1/test-requests", limit=50),
            labs=api.all("inspection", "/v1/labs", valid_today="true"),
            batches=api.get("registry", "/v1/batches", uscc=uscc, kind="export", limit=200),
        )
    )
