"""The whole data path on loopback: the upstream simulator and the gateway, in a background thread.

The gateway is built with ``gateway.app.create_app`` and fed by local mode's ``LocalTableSource`` over
manifest files whose base URLs point at the simulator, with credentials from a secrets folder, so the
same code paths as ``aliasgate run`` are exercised. Running in its own thread lets the openai SDK's sync
client block the test thread while the servers keep serving.
"""

from __future__ import annotations

import asyncio
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
from tests.support.threaded import loop_in_thread, start_site


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


@contextmanager
def running_stack(folder: Path, config: SimulatorConfig | None = None) -> Iterator[Stack]:
    """Start the stack in ``folder`` (manifests + secrets are written there); stop it on exit."""

    async def start() -> tuple[Stack, list[web.AppRunner]]:
        sim_app = create_simulator_app(config or SimulatorConfig())
        sim_runner, sim_port = await start_site(sim_app, shutdown_timeout=1.0)
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
        gw_runner, gw_port = await start_site(app, shutdown_timeout=1.0)
        admin_runner, admin_port = await start_site(app[admin_app_key], shutdown_timeout=1.0)
        async with asyncio.timeout(10):
            while app[table_holder_key].current is None:
                await asyncio.sleep(0.01)
        stack = Stack(
            upstream=upstream,
            gateway=f"http://127.0.0.1:{gw_port}",
            admin=f"http://127.0.0.1:{admin_port}",
            simulator=sim_app[simulator_key],
            loop=asyncio.get_running_loop(),
        )
        return stack, [gw_runner, admin_runner, sim_runner]

    async def stop(started: tuple[Stack, list[web.AppRunner]]) -> None:
        for runner in started[1]:
            await runner.cleanup()

    with loop_in_thread(start, stop, name="e2e-stack", timeout=20) as ((stack, _), _loop):
        yield stack
