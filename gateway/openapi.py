"""One API document: the gateway's own paths merged with every reachable service's."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from typing import Any

import aiohttp
from fastapi import FastAPI

from gateway.proxy import Upstreams

INTERNAL_PATHS = {"/livez", "/readyz", "/metrics"}
# A service builds its document on the first request: on a loaded machine that took over
# 3 s, and the merged document then said the service was unavailable.
FETCH_TIMEOUT_S = 10
DESCRIPTION = (
    "出口产品质量安全示范区平台 (the export product quality safety demonstration zone "
    "platform): the gateway's own paths (OAuth2 client-credentials and password tokens, "
    "clients, users, audit) and every service's (registry, credit, inspection, notify), "
    "routed through the gateway. Errors are RFC 9457 problems; lists are cursor-paged "
    "(`?cursor=&limit=` → `{items, next_cursor}`; cursors are opaque). Each operation's "
    "`security` names the scope its token needs; `[]` means no token."
)
_cache: dict[str, Any] = {"at": 0.0, "doc": None}


async def _fetch(upstreams: Upstreams, name: str, base: str) -> tuple[str, dict[str, Any] | None]:
    assert upstreams.session is not None
    try:
        async with upstreams.session.get(
            f"{base}/openapi.json", timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
        ) as response:
            if response.status == 200:
                return name, await response.json()
    except (aiohttp.ClientError, TimeoutError, OSError):
        pass
    return name, None


def _clean_name(key: str) -> str:
    """A component key FastAPI made unique with the module path
    (`services__inspection__tasks__schemas__ResultIn`) as a model name (`InspectionTasksResultIn`)."""
    if "__" not in key:
        return key
    parts = [p for p in key.split("__") if p not in ("services", "gateway", "schemas", "")]
    return "".join(p[:1].upper() + p[1:] for p in "_".join(parts).split("_"))


def _rename(doc: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    """`doc` with schemas renamed and every reference to them rewritten."""
    if not renames:
        return doc
    text = json.dumps(doc)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    renamed: dict[str, Any] = json.loads(text)
    schemas = renamed["components"]["schemas"]
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
    return renamed


def _titled(doc: dict[str, Any]) -> dict[str, Any]:
    """Module-path keys made readable, and each schema's `title` its key: code generators
    name models by title, so two schemas titled `ResultIn` would collide."""
    schemas = doc.get("components", {}).get("schemas", {})
    taken = set(schemas)
    renames = {}
    for key in list(schemas):
        clean = _clean_name(key)
        if clean != key and clean not in taken:
            renames[key] = clean
            taken.add(clean)
    doc = _rename(doc, renames)
    for key, schema in doc.get("components", {}).get("schemas", {}).items():
        schema["title"] = key
    return doc


def _namespace_clashes(
    service: str, service_doc: dict[str, Any], taken: dict[str, Any]
) -> dict[str, Any]:
    """Rename a service's schemas whose names another document already uses for a different
    schema (two services' `DecisionIn`): `CreditDecisionIn`, with every reference rewritten."""
    clashes = {
        key: f"{service.title()}{key}"
        for key, schema in service_doc.get("components", {}).get("schemas", {}).items()
        if key in taken and taken[key] != schema
    }
    return _rename(service_doc, clashes)


async def merged_openapi(
    app: FastAPI, upstreams: Upstreams, public_base_url: str, ttl_s: float = 30
) -> dict[str, Any]:
    """The gateway's schema plus each service's paths and components (cached briefly)."""
    if _cache["doc"] is not None and time.monotonic() - _cache["at"] < ttl_s:
        return _cache["doc"]  # type: ignore[no-any-return]
    doc = copy.deepcopy(app.openapi())
    # ASCII: generators derive package names from it; the Chinese name travels beside it
    doc["info"]["title"] = "Zone platform API"
    doc["info"]["x-title-zh-CN"] = "出口产品质量安全示范区平台 API"
    doc["info"]["description"] = DESCRIPTION
    doc["servers"] = [{"url": public_base_url, "description": "This gateway"}]
    doc["info"]["x-services"] = {}
    results = await asyncio.gather(
        *(_fetch(upstreams, name, base) for name, base in upstreams.urls.items() if base)
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    scopes = doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"]
    for name, service_doc in results:
        doc["info"]["x-services"][name] = "available" if service_doc else "unavailable"
        if not service_doc:
            continue
        service_doc = _namespace_clashes(name, _titled(service_doc), schemas)
        for path, item in service_doc.get("paths", {}).items():
            if path in INTERNAL_PATHS:
                continue
            for operation in item.values():
                if isinstance(operation, dict):
                    operation["tags"] = [f"{name} · {t}" for t in operation.get("tags", [])] or [
                        name
                    ]
                    operation["x-service"] = name
            doc["paths"].setdefault(path, item)
        for key, schema in service_doc.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(key, schema)
        theirs = service_doc.get("components", {}).get("securitySchemes", {}).get("oauth2", {})
        scopes.update(theirs.get("flows", {}).get("clientCredentials", {}).get("scopes", {}))
    doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"] = dict(
        sorted(scopes.items())
    )
    doc = _titled(doc)
    _cache.update(at=time.monotonic(), doc=doc)
    return doc
