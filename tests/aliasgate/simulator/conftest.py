"""Fixtures: a simulator on a loopback port and clients pointed straight at it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from aliasgate.simulator import Simulator, SimulatorConfig, create_simulator_app, simulator_key

StartSimulator = Callable[..., Awaitable[tuple[TestServer, Simulator]]]


@pytest.fixture
def start_simulator(aiohttp_server: AiohttpServer) -> StartSimulator:
    """Start a simulator with ``SimulatorConfig(**overrides)``; returns the server and its state."""

    async def start(**overrides: object) -> tuple[TestServer, Simulator]:
        app = create_simulator_app(SimulatorConfig(**overrides))  # type: ignore[arg-type]
        server = await aiohttp_server(app, host="127.0.0.1")
        return server, app[simulator_key]

    return start


def base_url(server: TestServer, prefix: str = "/v1") -> str:
    return f"http://127.0.0.1:{server.port}{prefix}"
