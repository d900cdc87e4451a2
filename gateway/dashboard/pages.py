"""What each dashboard page shows, fetched through the API with the user's token.

Each builder returns the template's context: the parts as fetched (a missing part says why,
and the page shows it as unavailable) and the charts shaped by `charts`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from gateway.dashboard import charts
from gateway.dashboard.labels import Words
from gateway.webui.api import Api, Part, gather

CHINA = ZoneInfo("Asia/Shanghai")
TREND_YEARS = 5


def this_year() -> int:
    """The KPI service counts calendar years in China time."""
    return datetime.now(UTC).astimezone(CHINA).year


def q(value: str) -> str:
    """A path segment from user input, percent-encoded: neither a `/` nor a `.`/`..` segment
    (which the HTTP client would resolve) can leave the path."""
    segment = quote(value.strip(), safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def phases(zones: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The work plan's phase timeline: zones grouped by phase, each with its planned period
    (earliest start to latest end of its zones); zones outside the plan come first."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for zone in zones:
        groups.setdefault(int(zone.get("phase") or 0), []).append(zone)
    timeline = []
    for phase in sorted(groups):
        members = sorted(groups[phase], key=lambda z: (z.get("industry") or "", z.get("level")))
        starts = [z["plan_start"] for z in members if z.get("plan_start")]
        ends = [z["plan_end"] for z in members if z.get("plan_end")]
        timeline.append(
            {
                "phase": phase,
                "start": min(starts)[:7] if starts else None,
                "end": max(ends)[:7] if ends else None,
                "zones": members,
            }
        )
    return timeline


def progress(targets: dict[str, Any]) -> dict[str, Any]:
    """The programme's targets against the zones accepted toward each (with the zones of the
    level still being built and the phase windows), and the overdue zones, most late first."""
    actual = targets.get("actual") or {}
    rows = []
    for target in targets.get("targets") or []:
        stages = actual.get(target["level"]) or {}
        building = sum(n for s, n in stages.items() if s not in ("accepted", "revoked"))
        rows.append(
            {
                "level": target["level"],
                "target": target["zones"],
                "accepted": target["accepted"],
                "building": building,
                "met": target["met"],
                "period_end": target["period_end"],
            }
        )
    overdue = sorted(
        (z for z in targets.get("zones") or [] if z.get("schedule_status") == "overdue"),
        key=lambda z: (-int(z.get("days_overdue") or 0), z["code"]),
    )
    return {"targets": rows, "overdue": overdue, "phases": targets.get("phases") or []}


async def overview(api: Api, t: dict[str, Words]) -> dict[str, Any]:
    """Zones on the phase timeline, targets against the zones accepted and the overdue zones,
    enterprise count, credit levels, open alerts, pass rates."""
    year = this_year()
    years = list(range(year - TREND_YEARS + 1, year + 1))
    fetched = await gather(
        zones=api.all("registry", "/v1/zones"),
        targets=api.get("registry", "/v1/programme/targets"),
        enterprises=api.count("registry", "/v1/enterprises"),
        distribution=api.get("credit", "/v1/credit/distribution"),
        open_alerts=api.count("inspection", "/v1/risk/alerts", status="open"),
        latest_alerts=api.get("inspection", "/v1/risk/alerts", status="open", limit=10),
        **{f"kpis_{y}": api.get("inspection", "/v1/risk/kpis", year=y) for y in years},
    )
    zones: Part = fetched["zones"]
    distribution: Part = fetched["distribution"]
    kpi_parts: dict[int, Part] = {y: fetched[f"kpis_{y}"] for y in years}
    context: dict[str, Any] = {
        "zones": zones,
        "timeline": phases(zones.items),
        "targets": fetched["targets"],
        "progress": progress(fetched["targets"].data) if fetched["targets"].ok else None,
        "enterprises": fetched["enterprises"],
        "distribution": distribution,
        "open_alerts": fetched["open_alerts"],
        "latest_alerts": fetched["latest_alerts"],
        "kpis_available": any(p.ok for p in kpi_parts.values()),
        "kpis_detail": next((p.detail for p in kpi_parts.values() if not p.ok), None),
        "zones_chart": None,
        "credit_chart": None,
        "trend_chart": None,
    }
    if zones.ok:
        context["zones_chart"] = charts.zones_by_stage(zones.items, t["stages"], t["zone_levels"])
    if distribution.ok:
        context["credit_chart"] = charts.credit_distribution(
            distribution.data.get("counts") or {}, t["credit_levels"]
        )
    if context["kpis_available"]:
        rows = charts.pass_rate_by_year(
            {y: p.items for y, p in kpi_parts.items() if p.ok}
            | {y: [] for y, p in kpi_parts.items() if not p.ok}
        )
        context["trend_rows"] = rows
        context["trend_chart"] = charts.pass_rate_trend(
            rows, t["ui"]["pass_rate"], t["ui"]["spot_checks"]
        )
    return context


async def zone(api: Api, *, code: str, cursor: str | None, year: int | None) -> dict[str, Any]:
    """A zone's lifecycle, checklist, stage history, members, KPIs and open CAPAs.

    CAPAs have no zone filter in the inspection API, so the open and responded ones are
    fetched and kept when their enterprise is an admitted member."""
    key = q(code)
    chosen = year or this_year()
    fetched = await gather(
        zone=api.get("registry", f"/v1/zones/{key}"),
        transitions=api.all("registry", f"/v1/zones/{key}/transitions"),
        members=api.get("registry", "/v1/enterprises", zone=code, limit=50, cursor=cursor),
        member_usccs=api.all("registry", f"/v1/zones/{key}/memberships", status="admitted"),
        kpis=api.get("inspection", "/v1/risk/kpis", zone=code, year=chosen),
        capas_open=api.all("inspection", "/v1/capas", status="open"),
        capas_responded=api.all("inspection", "/v1/capas", status="responded"),
    )
    usccs = {m["uscc"] for m in fetched["member_usccs"].items}
    capas: Part
    if fetched["capas_open"].ok and fetched["capas_responded"].ok:
        mine = [
            c
            for c in fetched["capas_open"].items + fetched["capas_responded"].items
            if c["uscc"] in usccs
        ]
        capas = Part("ok", {"items": sorted(mine, key=lambda c: c["due_at"])}, 200)
    else:
        capas = (
            fetched["capas_open"] if not fetched["capas_open"].ok else fetched["capas_responded"]
        )
    kpi = fetched["kpis"]
    items = [i for i in kpi.items if i.get("zone") == code] if kpi.ok else []
    tasks_by_stage: dict[str, list[dict[str, Any]]] = {}
    if fetched["zone"].ok:
        for task in fetched["zone"].data.get("tasks") or []:
            tasks_by_stage.setdefault(task["stage"], []).append(task)
    return {
        **fetched,
        "code": code,
        "year": chosen,
        "kpi": items[0] if items else None,
        "capas": capas,
        "tasks_by_stage": tasks_by_stage,
    }


def zone_names(zones: Part) -> dict[str, tuple[str, str]]:
    """Each zone's (zh, en) name by code: zone names are data, registry's."""
    return {z["code"]: (z["name_zh"], z["name_en"]) for z in zones.items} if zones.ok else {}


async def enterprise(
    api: Api,
    t: dict[str, Words],
    *,
    uscc: str,
    batch: str | None,
    direction: str,
    cursor: str | None,
) -> dict[str, Any]:
    """The composite profile, credit contributions, commitments, batches and one trace."""
    key = q(uscc.upper())
    fetched = await gather(
        profile=api.call("GET", "gateway", f"/v1/enterprises/{key}/profile"),
        batches=api.get("registry", "/v1/batches", uscc=uscc.upper(), limit=20, cursor=cursor),
        zones=api.all("registry", "/v1/zones"),
    )
    profile: Part = fetched["profile"]
    parts = profile.data.get("parts", {}) if profile.ok else {}
    credit = parts.get("credit") or {}
    context: dict[str, Any] = {
        **fetched,
        "uscc": uscc.upper(),
        "parts": parts,
        "direction": direction,
        "contributions_chart": None,
        "trace": None,
        "trace_chart": None,
        "batch_id": None,
        "zone_names": zone_names(fetched["zones"]),
    }
    if credit.get("status") == "ok" and credit["data"].get("contributions"):
        context["contributions_chart"] = charts.contributions(
            credit["data"]["contributions"], t["ui"], t["fact_kinds"], t["statuses"]
        )
    batches: Part = fetched["batches"]
    chosen = batch or next(
        (b["id"] for b in batches.items if b.get("kind") == "export"),
        batches.items[0]["id"] if batches.items else None,
    )
    if chosen:
        trace = await api.get("registry", f"/v1/batches/{q(chosen)}/trace", direction=direction)
        context["batch_id"] = chosen
        context["trace"] = trace
        if trace.ok:
            legend = (t["ui"]["trace_root"], t["ui"]["trace_lot"], t["ui"]["trace_nonconformant"])
            context["trace_chart"] = charts.trace_graph(trace.data, t["kinds"], legend)
    return context


async def campaigns(
    api: Api, *, cursor: str | None, campaign: str | None, draws_cursor: str | None
) -> dict[str, Any]:
    """Campaigns (paged), and for one: its draw, the published draw list and the results."""
    listed = await api.get("inspection", "/v1/campaigns", limit=20, cursor=cursor)
    chosen = campaign or next(
        (c["id"] for c in listed.items if c.get("status") in ("drawn", "closed")), None
    )
    context: dict[str, Any] = {"campaigns": listed, "selected": None}
    if chosen:
        key = q(chosen)
        context["selected_id"] = chosen
        context.update(
            await gather(
                selected=api.get("inspection", f"/v1/campaigns/{key}"),
                draw=api.get("inspection", f"/v1/campaigns/{key}/draw"),
                draw_list=api.get(
                    "inspection",
                    "/v1/public/draws",
                    campaign_id=chosen,
                    limit=50,
                    cursor=draws_cursor,
                ),
                results=api.get("inspection", "/v1/public/results", campaign_id=chosen, limit=100),
            )
        )
    return context


async def alerts(
    api: Api, *, signals_cursor: str | None, alerts_cursor: str | None, status: str
) -> dict[str, Any]:
    """Unmatched signals to link or dismiss, and alerts of one status to move on."""
    return {
        **await gather(
            signals=api.get(
                "inspection",
                "/v1/risk/signals",
                status="unmatched",
                limit=20,
                cursor=signals_cursor,
            ),
            alerts=api.get(
                "inspection", "/v1/risk/alerts", status=status, limit=20, cursor=alerts_cursor
            ),
        ),
        "alert_status": status,
    }


async def audit(
    api: Api, *, cursor: str | None, actor: str | None, outcome: str | None
) -> dict[str, Any]:
    """The gateway's audit log, newest first (admin scope; others see it refused)."""
    entries = await api.call(
        "GET",
        "gateway",
        "/v1/audit",
        params={"limit": 50, "cursor": cursor, "actor": actor or None, "outcome": outcome or None},
    )
    return {"entries": entries, "actor": actor or "", "outcome": outcome or ""}
