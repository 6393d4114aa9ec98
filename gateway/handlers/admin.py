"""The admin port: /livez, /readyz, /metrics, /status, /health/models, POST /health/probe."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from aliasgate.runtime.gcpause import collector_paused
from gateway.errors import error_body
from gateway.keys import draining_key, health_key, metrics_key, prober_key, table_holder_key
from gateway.routing.loading import CompiledTable

__all__ = [
    "get_health_models",
    "get_livez",
    "get_metrics",
    "get_readyz",
    "get_status",
    "post_health_probe",
    "readiness",
]


async def get_livez(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def readiness(app: web.Application) -> str | None:
    """Why the gateway must not get traffic, or None when it may: the one answer of ``/readyz`` and ``/status``."""
    if app[table_holder_key].current is None:
        return "no routing table loaded yet"
    if app[draining_key].value:
        return "draining"
    return None


async def get_readyz(request: web.Request) -> web.Response:
    reason = readiness(request.app)
    if reason is not None:
        return web.json_response({"ready": False, "reason": reason}, status=503)
    current = request.app[table_holder_key].current
    return web.json_response({"ready": True, "generation": None if current is None else current.generation})


async def get_metrics(request: web.Request) -> web.Response:
    body = request.app[metrics_key].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def get_status(request: web.Request) -> web.Response:
    """The served table and the last load; ``?view=summary`` leaves out the per-alias listing.

    The controller polls every pod's summary ten times a second after each publish, so it must stay
    cheap at 10,000 aliases; the full view encodes its listing once per served table."""
    view = request.query.get("view", "full")
    if view not in ("full", "summary"):
        body = error_body(
            message=f"unknown view {view!r}: expected 'full' or 'summary'",
            error_type="invalid_request_error",
            param="view",
            code="invalid_view",
        )
        return web.json_response(body, status=400)
    holder = request.app[table_holder_key]
    current = holder.current
    status: dict[str, Any] = {
        "ready": readiness(request.app) is None,
        "draining": request.app[draining_key].value,
        "servedGeneration": None if current is None else current.generation,
        "lastLoadResult": holder.last_result,
        "lastLoadError": holder.last_error,
    }
    if current is None:
        return _json(orjson.dumps(status))
    table = current.table
    status["table"] = {"generation": table.generation, "sha256": table.sha256, "aliasCount": len(table.routes)}
    if view == "summary":
        return _json(orjson.dumps(status))
    listing = current.views.get(_LISTING)
    if listing is None:
        listing = current.views[_LISTING] = _status_listing(current)
    return _json(orjson.dumps(status)[:-1] + b"," + listing + b"}")


_LISTING = "status.listing"


def _status_listing(current: CompiledTable) -> bytes:
    """The ``"routes": {...}, "rejected": [...]`` members of the full ``/status`` view, encoded."""
    with collector_paused():  # tens of thousands of short-lived dicts (see aliasgate.runtime.gcpause)
        routes = {
            alias: {
                "backend": target.backend.key,
                "provider": target.backend.provider,
                "mode": target.route.mode,
                "source": f"{target.route.source.namespace}/{target.route.source.name}",
                "sourceGeneration": target.route.source.generation,
                "fallbacks": list(target.fallbacks),
            }
            for alias, target in current.targets.items()
        }
        rejected = [
            {
                "alias": r.alias,
                "source": f"{r.source.namespace}/{r.source.name}",
                "reason": r.reason,
                "message": r.message,
            }
            for r in current.table.rejected
        ]
        return orjson.dumps({"routes": routes, "rejected": rejected})[1:-1]


def _json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def get_health_models(request: web.Request) -> web.Response:
    current = request.app[table_holder_key].current
    aliases = () if current is None else current.aliases
    return web.json_response({"models": request.app[health_key].snapshot(aliases)})


async def post_health_probe(request: web.Request) -> web.Response:
    results = await request.app[prober_key].probe_now()
    return web.json_response({"results": results})
