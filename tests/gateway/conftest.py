"""Gateway test fixtures: a real simulator upstream, a real gateway on loopback, table builders.

Every test gets its own CollectorRegistry (through its own app), a secrets folder in tmp_path, and
a check that no task and no upstream connection outlives it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import openai
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from aliasgate.runtime.logs import configure_logging
from aliasgate.simulator import Simulator, SimulatorConfig, create_simulator_app, simulator_key
from gateway.app import create_app
from gateway.client_keys import ApiKeys
from gateway.credentials.files import DirectoryCredentialStore
from gateway.keys import table_holder_key, upstream_key
from gateway.metrics import GatewayMetrics
from gateway.routing.loading import TableHolder
from gateway.routing.source import TableSink
from gateway.routing.table import (
    Backend,
    HealthCheckSettings,
    Route,
    RouteSettings,
    RoutingTable,
    SourceRef,
    backend_key,
)
from gateway.settings import GatewaySettings

OPENAI_KEY = "sk-upstream-secret-0123456789abcdef"
CHATGPT_ACCESS = "chatgpt-access-token-secret-abcdef"
CHATGPT_ACCOUNT = "acct-1234"
CHATGPT_REFRESH = "chatgpt-refresh-token-secret-xyz"


class StaticTableSource:
    """Delivers one table at start, then idles (tests push later tables through the holder)."""

    def __init__(self, table: RoutingTable | None) -> None:
        self.table = table

    async def run(self, sink: TableSink) -> None:
        if self.table is not None:
            sink.load_table(self.table, origin="test")
        await asyncio.Event().wait()


@dataclass
class RouteSpec:
    alias: str
    provider: str = "openai"
    prefix: str = "/v1"
    model: str = "gpt-5.4"
    mode: Literal["chat", "responses"] = "chat"
    credentials: str | None = "openai-key"
    settings: dict[str, Any] = field(default_factory=dict)
    base_url: str | None = None


def build_table(base: str, specs: list[RouteSpec], *, generation: int = 1) -> RoutingTable:
    backends: dict[str, Backend] = {}
    routes: dict[str, Route] = {}
    for spec in specs:
        url = spec.base_url or (base + spec.prefix)
        key = backend_key(spec.provider, url, spec.model)
        backends[key] = Backend.model_validate(
            {
                "key": key,
                "provider": spec.provider,
                "baseURL": url,
                "model": spec.model,
                "mode": spec.mode if spec.provider != "chatgpt" else "responses",
                "credentials": spec.credentials,
            }
        )
        settings = {"healthCheck": HealthCheckSettings(enabled=False).model_dump(by_alias=True)} | spec.settings
        routes[spec.alias] = Route(
            alias=spec.alias,
            backend=key,
            mode=spec.mode,
            source=SourceRef(namespace="team-a", name=spec.alias.replace("/", "-"), generation=1),
            settings=RouteSettings.model_validate(settings),
        )
    return RoutingTable.build(backends=backends, routes=routes, generation=generation)


FAST_RETRIES = {"retries": {"attempts": 3, "backoffSeconds": 0.001, "backoffMaxSeconds": 0.005}}

DEFAULT_ROUTES = [
    RouteSpec("team/chat", mode="chat", model="gpt-4.1-mini", settings=FAST_RETRIES),
    RouteSpec("team/responses", mode="responses", settings=FAST_RETRIES),
    RouteSpec(
        "chatgpt/gpt-5.4",
        provider="chatgpt",
        prefix="/backend-api/codex",
        mode="responses",
        credentials="chatgpt-pro",
        settings=FAST_RETRIES,
    ),
]


def write_secrets(root: Path) -> Path:
    (root / "openai-key").mkdir(parents=True)
    (root / "openai-key" / "apiKey").write_text(OPENAI_KEY + "\n")
    (root / "chatgpt-pro").mkdir()
    (root / "chatgpt-pro" / "accessToken").write_text(CHATGPT_ACCESS)
    (root / "chatgpt-pro" / "accountId").write_text(CHATGPT_ACCOUNT)
    (root / "chatgpt-pro" / "refreshToken").write_text(CHATGPT_REFRESH)
    return root


@dataclass
class Gateway:
    """A running gateway and its admin app, with the upstream simulator behind it."""

    client: TestClient[web.Request, web.Application]
    admin: TestClient[web.Request, web.Application]
    app: web.Application
    sim: Simulator
    sim_server: TestServer
    metrics: GatewayMetrics

    @property
    def holder(self) -> TableHolder:
        return self.app[table_holder_key]

    @property
    def base_url(self) -> str:
        return str(self.client.make_url("/v1"))

    def sdk(self, **kwargs: Any) -> openai.AsyncOpenAI:
        options: dict[str, Any] = {"api_key": "unused", "max_retries": 0, "timeout": 20.0} | kwargs
        return openai.AsyncOpenAI(base_url=self.base_url, **options)

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.value(name, labels)

    def upstream_connections(self) -> int:
        """Upstream connections still carrying an answer (0 once every answer was read or dropped)."""
        pool = self.app[upstream_key].pool
        if pool is not None:
            return pool.busy_connections
        connector = self.app[upstream_key].session.connector
        assert connector is not None
        return sum(len(v) for v in connector._acquired_per_host.values())


@dataclass
class GatewayFactory:
    aiohttp_client: AiohttpClient
    aiohttp_server: AiohttpServer
    tmp_path: Path

    async def __call__(
        self,
        routes: list[RouteSpec] | None = None,
        *,
        sim_config: SimulatorConfig | None = None,
        api_keys: ApiKeys | None = None,
        settings: GatewaySettings | None = None,
        table: RoutingTable | None = None,
        load_table: bool = True,
        **app_kwargs: Any,
    ) -> Gateway:
        sim_app = create_simulator_app(sim_config or SimulatorConfig())
        sim_server = await self.aiohttp_server(sim_app)
        base = str(sim_server.make_url("")).rstrip("/")
        if table is None and load_table:
            table = build_table(base, routes if routes is not None else DEFAULT_ROUTES)
        secrets = write_secrets(self.tmp_path / "secrets") if not (self.tmp_path / "secrets").exists() else None
        store = DirectoryCredentialStore(secrets or self.tmp_path / "secrets", interval_seconds=0.05)
        metrics = GatewayMetrics()
        app = create_app(
            settings or GatewaySettings(probe_min_interval_seconds=0.0),
            table_source=StaticTableSource(table),
            credentials=store,
            api_keys=api_keys,
            metrics=metrics,
            probing=False,
            **app_kwargs,
        )
        client = await self.aiohttp_client(app)
        admin = await self.aiohttp_client(app[admin_app_key_()])
        for _ in range(100):
            if app[table_holder_key].loaded or not load_table:
                break
            await asyncio.sleep(0.01)
        if load_table:
            assert app[table_holder_key].loaded, app[table_holder_key].last_error
        return Gateway(client, admin, app, sim_app[simulator_key], sim_server, metrics)


def admin_app_key_() -> web.AppKey[web.Application]:
    from gateway.keys import admin_app_key

    return admin_app_key


@pytest.fixture
def make_gateway(aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, tmp_path: Path) -> GatewayFactory:
    return GatewayFactory(aiohttp_client, aiohttp_server, tmp_path)


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> Gateway:
    return await make_gateway()


@pytest.fixture(autouse=True)
def _logging() -> Iterator[None]:
    """The production logging set-up (uncached, so capture_logs works), undone afterwards for other test areas."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("aiohttp.access").disabled)
    configure_logging(level="info", json=True, cache=False)
    yield
    root.handlers[:], level, logging.getLogger("aiohttp.access").disabled = saved
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
async def _no_leaked_tasks() -> AsyncIterator[None]:
    """Every task a test started (servers, streams, background loops) is gone when its fixtures are."""
    before = set(asyncio.all_tasks())
    yield
    # fixture teardown of servers/clients runs after this fixture's teardown is scheduled; give it a moment
    leaked: set[asyncio.Task[Any]] = set()
    for _ in range(100):
        leaked = {t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()}
        if not leaked:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"tasks outlived the test: {sorted(t.get_name() for t in leaked)}")


@pytest.fixture
def captured_logs() -> Iterator[list[MutableMapping[str, Any]]]:
    with structlog.testing.capture_logs() as logs:
        yield logs
