"""The whole data path on loopback: the upstream simulator and the gateway, in a background thread.

The gateway is built with ``gateway.app.create_app`` and fed by local mode's ``LocalTableSource`` over
manifest files whose base URLs point at the simulator, with credentials from a secrets folder, so the
same code paths as ``aliasgate run`` are exercised. Running in its own thread lets the openai SDK's sync
client block the test thread while the servers keep serving.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from aliasgate.cli.local import LocalTableSource
from aliasgate.simulator import Simulator, SimulatorConfig, create_simulator_app, simulator_key
from gateway.app import create_app
from gateway.credentials.files import DirectoryCredentialStore
from gateway.keys import admin_app_key, table_holder_key
from gateway.settings import GatewaySettings
from tests.aliasgate.cli.manifests_fixture import aliases_yaml, write_secrets


@dataclass
class Stack:
    """Addresses and handles of a running simulator + gateway."""

    upstream: str
    gateway: str
    admin: str
    simulator: Simulator
    loop: asyncio.AbstractEventLoop

    @property
    def v1(self) -> str:
        return self.gateway + "/v1"

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the stack's loop (for state that lives there) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def recorded(self, suffix: str) -> list[dict[str, Any]]:
        """Bodies of the simulator's recorded requests whose path ends with ``suffix``."""
        return [r.body for r in list(self.simulator.requests) if r.path.endswith(suffix)]


async def _site(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    return runner, int(server.sockets[0].getsockname()[1])


@contextmanager
def running_stack(folder: Path, config: SimulatorConfig | None = None) -> Iterator[Stack]:
    """Start the stack in ``folder`` (manifests + secrets are written there); stop it on exit."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    async def start() -> None:
        sim_app = create_simulator_app(config or SimulatorConfig())
        sim_runner, sim_port = await _site(sim_app)
        upstream = f"http://127.0.0.1:{sim_port}"
        manifest = folder / "aliases.yaml"
        manifest.write_text(aliases_yaml(upstream))
        secrets = write_secrets(folder / "secrets")
        settings = GatewaySettings(
            listen="127.0.0.1:0",
            admin_listen="127.0.0.1:0",
            namespace="e2e",
            secrets_dir=secrets,
            probe_min_interval_seconds=0.0,
            shutdown_grace_seconds=1.0,
            log_json=True,
        )
        source = LocalTableSource(paths=(str(manifest),), secrets_dir=str(secrets), interval_seconds=0.05)
        app = create_app(settings, table_source=source, credentials=DirectoryCredentialStore(secrets), probing=False)
        gw_runner, gw_port = await _site(app)
        admin_runner, admin_port = await _site(app[admin_app_key])
        async with asyncio.timeout(10):
            while app[table_holder_key].current is None:
                await asyncio.sleep(0.01)
        box["runners"] = [gw_runner, admin_runner, sim_runner]
        box["stack"] = Stack(
            upstream=upstream,
            gateway=f"http://127.0.0.1:{gw_port}",
            admin=f"http://127.0.0.1:{admin_port}",
            simulator=sim_app[simulator_key],
            loop=loop,
        )

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:
            box["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()
        for runner in box["runners"]:
            loop.run_until_complete(runner.cleanup())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=run, name="e2e-stack", daemon=True)
    thread.start()
    if not started.wait(20):
        raise RuntimeError("the stack did not start within 20 s")
    if "error" in box:
        raise RuntimeError("the stack failed to start") from box["error"]
    try:
        yield box["stack"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
