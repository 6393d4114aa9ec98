"""The controller's admin server: ``/livez``, ``/readyz`` (first full list reconciled), ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from controller.metrics import ControllerMetrics

__all__ = ["create_admin_app"]


def create_admin_app(*, metrics: ControllerMetrics, ready: Callable[[], bool]) -> web.Application:
    """A small app; ``ready`` is asked on every ``/readyz`` (so readiness is never cached stale)."""

    async def livez(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        if ready():
            return web.json_response({"status": "ready"})
        return web.json_response({"status": "not ready", "reason": "first full list not reconciled yet"}, status=503)

    async def metrics_handler(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    app = web.Application()
    app.router.add_get("/livez", livez, name="livez")
    app.router.add_get("/readyz", readyz, name="readyz")
    app.router.add_get("/metrics", metrics_handler, name="metrics")
    return app
