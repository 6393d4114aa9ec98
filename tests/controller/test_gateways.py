"""GatewayPoller reads each gateway pod's admin ``/status`` summary, and still understands older pods."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from controller.gateways import GatewayPoller, served_generation
from gateway.app import create_app
from gateway.keys import admin_app_key, table_holder_key
from gateway.routing.source import TableSink
from gateway.routing.table import RoutingTable
from gateway.settings import GatewaySettings
from tests.support.tables import BACKEND, one_backend_table


def _table(generation: int) -> RoutingTable:
    return one_backend_table(generation, {"a": None})


class _Once:
    def __init__(self, table: RoutingTable) -> None:
        self.table = table

    async def run(self, sink: TableSink) -> None:
        sink.load_table(self.table, origin="test")
        await asyncio.Event().wait()


class _Urls:
    def __init__(self, urls: list[str]) -> None:
        self.urls = urls

    async def status_urls(self) -> list[str] | None:
        return self.urls


def _poller(urls: list[str]) -> GatewayPoller:
    async def ignore(served: dict[str, int] | None) -> None:
        return None

    return GatewayPoller(discovery=_Urls(urls), on_served=ignore, idle_seconds=60)


async def _poll(poller: GatewayPoller) -> dict[str, int] | None:
    async with aiohttp.ClientSession() as session:
        return await asyncio.wait_for(poller.poll_once(session), timeout=5)


async def test_the_poller_reads_a_real_gateway_s_summary(aiohttp_server: AiohttpServer) -> None:
    app = create_app(GatewaySettings(namespace="t"), table_source=_Once(_table(7)), probing=False)
    asked: list[str] = []

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        asked.append(request.path_qs)
        return await handler(request)

    admin = app[admin_app_key]
    admin.middlewares.append(record)
    await aiohttp_server(app)
    admin_server = await aiohttp_server(admin)
    async with asyncio.timeout(5):
        while not app[table_holder_key].loaded:
            await asyncio.sleep(0.01)
    url = str(admin_server.make_url(""))
    assert await _poll(_poller([url])) == {url: 7}
    assert asked == ["/status?view=summary"]


async def test_a_gateway_that_ignores_the_view_still_reports_its_generation(aiohttp_server: AiohttpServer) -> None:
    """An older gateway answers the full view (with ``routes``) whatever the query says."""
    asked: list[str] = []

    async def old_status(request: web.Request) -> web.Response:
        asked.append(request.query.get("view", ""))
        return web.json_response(
            {
                "ready": True,
                "draining": False,
                "servedGeneration": 4,
                "lastLoadResult": "accepted",
                "lastLoadError": None,
                "table": {"generation": 4, "sha256": "x", "aliasCount": 1},
                "routes": {"a": {"backend": BACKEND.key}},
                "rejected": [],
            }
        )

    old = web.Application()
    old.router.add_get("/status", old_status)
    server = await aiohttp_server(old)
    url = str(server.make_url(""))
    assert await _poll(_poller([url])) == {url: 4}
    assert asked == ["summary"]


async def test_an_unreadable_pod_counts_as_serving_nothing(aiohttp_server: AiohttpServer) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="no")

    app = web.Application()
    app.router.add_get("/status", broken)
    server = await aiohttp_server(app)
    url = str(server.make_url(""))
    assert await _poll(_poller([url])) == {url: -1}


def test_served_generation_reads_the_gateway_status_document() -> None:
    assert served_generation({"table": {"generation": 7, "sha256": "x"}}) == 7
    assert served_generation({"generation": 2}) == 2
    assert served_generation({"table": None}) is None
    assert served_generation(["not", "a", "dict"]) is None
    assert served_generation({"table": {"generation": True}}) is None
