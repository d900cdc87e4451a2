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
_cache: dict[str, Any] = {"at": 0.0, "doc": None}


async def _fetch(upstreams: Upstreams, name: str, base: str) -> tuple[str, dict[str, Any] | None]:
    assert upstreams.session is not None
    try:
        async with upstreams.session.get(
            f"{base}/openapi.json", timeout=aiohttp.ClientTimeout(total=3)
        ) as response:
            if response.status == 200:
                return name, await response.json()
    except (aiohttp.ClientError, TimeoutError, OSError):
        pass
    return name, None


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
    if not clashes:
        return service_doc
    text = json.dumps(service_doc)
    for old, new in clashes.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    renamed: dict[str, Any] = json.loads(text)
    schemas = renamed["components"]["schemas"]
    for old, new in clashes.items():
        schemas[new] = schemas.pop(old)
    return renamed


async def merged_openapi(app: FastAPI, upstreams: Upstreams, ttl_s: float = 30) -> dict[str, Any]:
    """The gateway's schema plus each service's paths and components (cached briefly)."""
    if _cache["doc"] is not None and time.monotonic() - _cache["at"] < ttl_s:
        return _cache["doc"]  # type: ignore[no-any-return]
    doc = copy.deepcopy(app.openapi())
    doc["info"]["x-services"] = {}
    results = await asyncio.gather(
        *(_fetch(upstreams, name, base) for name, base in upstreams.urls.items() if base)
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, service_doc in results:
        doc["info"]["x-services"][name] = "available" if service_doc else "unavailable"
        if not service_doc:
            continue
        service_doc = _namespace_clashes(name, service_doc, schemas)
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
        for scheme, value in service_doc.get("components", {}).get("securitySchemes", {}).items():
            doc["components"].setdefault("securitySchemes", {}).setdefault(scheme, value)
    doc["components"].setdefault("securitySchemes", {})["oauth2"] = {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
    }
    doc["security"] = [{"oauth2": []}]
    _cache.update(at=time.monotonic(), doc=doc)
    return doc
