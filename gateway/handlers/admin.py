"""The admin port: /livez, /readyz, /metrics, /status, /health/models, POST /health/probe."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.keys import draining_key, health_key, metrics_key, prober_key, table_holder_key

__all__ = ["get_health_models", "get_livez", "get_metrics", "get_readyz", "get_status", "post_health_probe"]


async def get_livez(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def get_readyz(request: web.Request) -> web.Response:
    holder = request.app[table_holder_key]
    if holder.current is None:
        return web.json_response({"ready": False, "reason": "no routing table loaded yet"}, status=503)
    if request.app[draining_key].value:
        return web.json_response({"ready": False, "reason": "draining"}, status=503)
    return web.json_response({"ready": True, "generation": holder.current.generation})


async def get_metrics(request: web.Request) -> web.Response:
    body = request.app[metrics_key].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def get_status(request: web.Request) -> web.Response:
    holder = request.app[table_holder_key]
    current = holder.current
    status: dict[str, Any] = {
        "ready": current is not None,
        "draining": request.app[draining_key].value,
        "servedGeneration": None if current is None else current.generation,
        "lastLoadResult": holder.last_result,
        "lastLoadError": holder.last_error,
    }
    if current is not None:
        table = current.table
        status["table"] = {"generation": table.generation, "sha256": table.sha256, "aliasCount": len(table.routes)}
        status["routes"] = {
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
        status["rejected"] = [
            {
                "alias": r.alias,
                "source": f"{r.source.namespace}/{r.source.name}",
                "reason": r.reason,
                "message": r.message,
            }
            for r in table.rejected
        ]
    return web.json_response(status)


async def get_health_models(request: web.Request) -> web.Response:
    current = request.app[table_holder_key].current
    aliases = () if current is None else current.aliases
    return web.json_response({"models": request.app[health_key].snapshot(aliases)})


async def post_health_probe(request: web.Request) -> web.Response:
    results = await request.app[prober_key].probe_now()
    return web.json_response({"results": results})
