"""A gateway served the production way (``gateway.app.serve``: guarded runner, real ports) for tests of the
connection layer, which the in-process test client bypasses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from aliasgate.simulator import SimulatorConfig, create_simulator_app
from gateway.app import create_app, serve
from gateway.credentials.files import DirectoryCredentialStore
from gateway.keys import table_holder_key
from gateway.metrics import GatewayMetrics
from gateway.settings import GatewaySettings
from tests.gateway.conftest import DEFAULT_ROUTES, RouteSpec, StaticTableSource, build_table, write_secrets
from tests.support.ports import free_port

__all__ = ["RawAnswer", "Served", "raw_request", "served_gateway"]


@dataclass
class Served:
    app: web.Application
    metrics: GatewayMetrics
    port: int
    admin_port: int
    stop: asyncio.Event
    """Set it to begin the shutdown (as SIGTERM does); the context's exit sets it anyway."""
    task: asyncio.Task[None]
    """``serve`` itself: done once the gateway has shut down."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.value(name, labels)


@asynccontextmanager
async def served_gateway(
    aiohttp_server: AiohttpServer,
    tmp_path: Path,
    sim_config: SimulatorConfig | None = None,
    *,
    upstream: web.Application | None = None,
    routes: Sequence[RouteSpec] = DEFAULT_ROUTES,
    **settings: Any,
) -> AsyncIterator[Served]:
    """The gateway in front of ``upstream`` (by default the simulator with ``sim_config``), serving ``routes``;
    yielded once its table is loaded and its port accepts connections, shut down on exit."""
    sim = await aiohttp_server(upstream or create_simulator_app(sim_config or SimulatorConfig()))
    table = build_table(str(sim.make_url("")).rstrip("/"), list(routes))
    port, admin_port = free_port(), free_port()
    options = {"listen": f"127.0.0.1:{port}", "admin_listen": f"127.0.0.1:{admin_port}", "shutdown_grace_seconds": 2.0}
    config = GatewaySettings(**(options | settings))
    metrics = GatewayMetrics()
    secrets = tmp_path / "secrets"
    app = create_app(
        config,
        table_source=StaticTableSource(table),
        credentials=DirectoryCredentialStore(secrets if secrets.exists() else write_secrets(secrets)),
        metrics=metrics,
        probing=False,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, stop=stop))
    for _ in range(500):
        if app[table_holder_key].loaded:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            writer.close()
            break
        await asyncio.sleep(0.01)
    try:
        yield Served(app, metrics, port, admin_port, stop, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@dataclass
class RawAnswer:
    status_line: bytes
    headers: dict[str, str]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split()[1])

    def json(self) -> Any:
        return orjson.loads(self.body)


async def read_answer(reader: asyncio.StreamReader, timeout: float = 10.0) -> RawAnswer:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), timeout)
    return RawAnswer(status_line.encode(), headers, body)


async def raw_request(port: int, *parts: bytes, pause: float = 0.0) -> RawAnswer:
    """Send ``parts`` (``pause`` seconds apart) on a fresh connection; the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for index, part in enumerate(parts):
            if index and pause:
                await asyncio.sleep(pause)
            writer.write(part)
            await writer.drain()
        return await read_answer(reader)
    finally:
        writer.close()
