"""ECharts options shaped from API answers (pure, so they are unit-tested without a browser).

Each function returns a complete ECharts option as plain JSON data; the page puts it in a
`data-chart` attribute and `static/dashboard.js` hands it to `echarts.setOption` unchanged,
so no chart logic lives in JavaScript.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from html import escape
from typing import Any

LEVEL_COLOURS = {"A": "#2e7d32", "B": "#1565c0", "C": "#ef6c00", "D": "#c62828"}
STAGE_ORDER = ["planned", "launching", "implementing", "assessing", "accepted", "revoked"]
ZONE_LEVEL_ORDER = ["provincial", "national"]


def credit_distribution(counts: dict[str, int], names: dict[str, str]) -> dict[str, Any]:
    """A pie of enterprises per credit level A–D (levels with none are kept, at 0)."""
    data: list[dict[str, Any]] = []
    for level, colour in LEVEL_COLOURS.items():
        value = int(counts.get(level, 0))
        point: dict[str, Any] = {
            "name": names.get(level, level),
            "value": value,
            "itemStyle": {"color": colour},
        }
        if not value:  # kept in the legend, but no label pointing at an empty slice
            point["label"] = {"show": False}
            point["labelLine"] = {"show": False}
        data.append(point)
    return {
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "legend": {"bottom": 0},
        "series": [
            {"type": "pie", "radius": ["30%", "58%"], "center": ["50%", "44%"], "data": data}
        ],
    }


def zones_by_stage(
    zones: list[dict[str, Any]], stage_names: dict[str, str], level_names: dict[str, str]
) -> dict[str, Any]:
    """Stacked bars: zones per lifecycle stage, one series per zone level."""
    tally = Counter((z.get("stage"), z.get("level")) for z in zones)
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 56},
        "xAxis": {
            "type": "category",
            "axisLabel": {"interval": 0},
            "data": [stage_names.get(s, s) for s in STAGE_ORDER],
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "name": level_names.get(level, level),
                "type": "bar",
                "stack": "zones",
                "data": [tally.get((stage, level), 0) for stage in STAGE_ORDER],
            }
            for level in ZONE_LEVEL_ORDER
        ],
    }


def pass_rate_by_year(kpis_by_year: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per year: random spot checks across zones and their pass rate, weighted by the checks
    (a zone without checks does not pull the rate down). Rate None when no check was made."""
    rows = []
    for year in sorted(kpis_by_year):
        checks = 0
        passed = 0.0
        for item in kpis_by_year[year]:
            n = int(item.get("spot_checks") or 0)
            rate = item.get("spot_check_pass_rate")
            if n and rate is not None:
                checks += n
                passed += float(rate) * n
        rows.append(
            {"year": year, "spot_checks": checks, "rate": passed / checks if checks else None}
        )
    return rows


def pass_rate_trend(rows: list[dict[str, Any]], rate_name: str, checks_name: str) -> dict[str, Any]:
    """Line of the pass rate (percent) over years, with the number of checks as bars."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 48, "right": 48, "top": 32, "bottom": 56},
        "xAxis": {"type": "category", "data": [str(r["year"]) for r in rows]},
        "yAxis": [
            {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
            {"type": "value", "minInterval": 1},
        ],
        "series": [
            {
                "name": rate_name,
                "type": "line",
                "connectNulls": True,
                "showSymbol": True,
                "symbol": "circle",
                "symbolSize": 9,
                "z": 3,
                "label": {"show": True, "formatter": "{c}%"},
                "data": [
                    round(r["rate"] * 100, 1) if r["rate"] is not None else None for r in rows
                ],
            },
            {
                "name": checks_name,
                "type": "bar",
                "yAxisIndex": 1,
                "itemStyle": {"opacity": 0.35},
                "data": [r["spot_checks"] for r in rows],
            },
        ],
    }


def contributions(
    items: list[dict[str, Any]],
    kind_names: Mapping[str, str],
    facts: Mapping[str, str] | None = None,
    states: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Horizontal bars: each credit fact's points (after decay and caps), largest effect first;
    facts that no longer count are shown at 0 with their state in the label. Fact kinds and
    states are named through `facts` and `states` (a code without a name shows itself)."""
    facts, states = facts or {}, states or {}
    ordered = sorted(items, key=lambda c: -abs(float(c.get("points") or 0)))

    def label(c: dict[str, Any]) -> str:
        kind = str(c.get("kind", "?"))
        named = facts.get(kind, kind)
        if c.get("state") == "counted":
            return named
        state = str(c.get("state", ""))
        return f"{named} · {states.get(state, state)}"

    labels = [label(c) for c in ordered]
    data = [
        {
            "value": round(float(c.get("points") or 0), 2),
            "itemStyle": {"color": "#2e7d32" if float(c.get("points") or 0) >= 0 else "#c62828"},
        }
        for c in ordered
    ]
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 160, "right": 24, "top": 8, "bottom": 24},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "inverse": True, "data": labels},
        "series": [{"name": kind_names.get("points", "points"), "type": "bar", "data": data}],
    }


def trace_graph(
    trace: dict[str, Any],
    kinds: Mapping[str, str] | None = None,
    legend: tuple[str, str, str] = ("root", "lot", "non-conformant"),
) -> dict[str, Any]:
    """A batch's trace as a graph: one node per lot (the root larger), an edge from each lot
    to the lot it was reached from (its `path`), labelled with the linking quantity."""
    nodes: dict[str, dict[str, Any]] = {}
    kinds = kinds or {}
    links: list[dict[str, Any]] = []
    seen_links: set[tuple[str, str]] = set()
    for node in trace.get("nodes") or []:
        lot = node.get("lot") or {}
        number = str(lot.get("number") or lot.get("id") or "?")
        depth = int(node.get("depth") or 0)
        failing = any(s.get("disposition") == "non_conformant" for s in node.get("steps") or [])
        if number not in nodes:
            nodes[number] = {
                "name": number,
                "value": kinds.get(str(lot.get("kind")), lot.get("kind")),
                "symbolSize": 44 if depth == 0 else 28,
                "category": 2 if failing else (0 if depth == 0 else 1),
                "tooltip": {
                    # the formatter is HTML: what enterprises typed is escaped
                    "formatter": f"{escape(number)}<br/>{escape(kinds.get(str(lot.get('kind')), str(lot.get('kind') or '')))} "
                    f"{escape(str(lot.get('product') or ''))}"
                },
            }
        path = [str(p) for p in node.get("path") or []]
        if len(path) >= 2:
            source, target = path[-2], path[-1]
            if (source, target) not in seen_links:
                seen_links.add((source, target))
                link: dict[str, Any] = {"source": source, "target": target}
                if node.get("quantity") is not None:
                    link["label"] = {"show": True, "formatter": str(node["quantity"])}
                links.append(link)
    known = set(nodes)
    links = [lk for lk in links if lk["source"] in known and lk["target"] in known]
    return {
        "tooltip": {},
        "legend": {"bottom": 0, "data": list(legend)},
        "series": [
            {
                "type": "graph",
                "layout": "force",
                "roam": True,
                "draggable": True,
                "label": {"show": True, "position": "right"},
                "edgeSymbol": ["none", "arrow"],
                "force": {"repulsion": 220, "edgeLength": 90},
                "categories": [{"name": name} for name in legend],
                "data": list(nodes.values()),
                "links": links,
            }
        ],
    }
