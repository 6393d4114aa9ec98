"""The gateways as the controller sees them: what table generation each ready gateway pod serves.

:class:`GatewayPoller` reads each pod's admin ``/status`` (pods found through ``ports.GatewayDiscovery``)
and hands the served generations to the reconciler, which feeds ``controller.programmed.ProgrammedTracker``
(pure). It polls quickly after a publish and slowly otherwise; no error stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import structlog

from controller import ports

__all__ = ["GatewayPoller", "served_generation"]

log = structlog.get_logger("controller.gateways")


def served_generation(document: Any) -> int | None:
    """The table generation in a gateway ``/status`` body (``{"table": {"generation": N}}``)."""
    if not isinstance(document, dict):
        return None
    table = document.get("table")
    if isinstance(table, dict):
        value = table.get("generation")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    value = document.get("generation")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


class GatewayPoller:
    """Reads every ready gateway pod's ``/status`` and reports ``{url: generation}`` (or None) on change."""

    def __init__(
        self,
        *,
        discovery: ports.GatewayDiscovery,
        on_served: Callable[[dict[str, int] | None], Awaitable[None]],
        idle_seconds: float,
        fast_seconds: float = 0.1,
        fast_window_seconds: float = 10.0,
        timeout_seconds: float = 2.0,
    ) -> None:
        self._discovery = discovery
        self._on_served = on_served
        self._idle = idle_seconds
        self._fast = fast_seconds
        self._fast_window = fast_window_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._kick = asyncio.Event()
        self._last: dict[str, int] | None = None
        self._target: int | None = None

    def kick(self, generation: int) -> None:
        """A table of ``generation`` was just published: poll fast until every pod serves it."""
        self._target = generation
        self._kick.set()

    async def poll_once(self, session: aiohttp.ClientSession) -> dict[str, int] | None:
        urls = await self._discovery.status_urls()
        if not urls:
            return None
        results = await asyncio.gather(*(self._read(session, url) for url in urls))
        # A pod whose /status cannot be read serves nothing we know of: it counts as generation -1.
        return {url: (-1 if gen is None else gen) for url, gen in zip(urls, results, strict=True)}

    async def _read(self, session: aiohttp.ClientSession, url: str) -> int | None:
        try:
            # The summary view leaves out the per-alias listing (megabytes at 10,000 aliases); a gateway
            # that predates it ignores the parameter and sends the full view, which has the same fields.
            async with session.get(url.rstrip("/") + "/status?view=summary", timeout=self._timeout) as resp:
                if resp.status != 200:
                    return None
                return served_generation(orjson.loads(await resp.read()))
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def run(self) -> None:
        """Poll until cancelled; errors never stop it."""
        loop = asyncio.get_running_loop()
        fast_until = 0.0
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    served = await self.poll_once(session)
                except Exception as exc:  # discovery failures must not kill the poller
                    log.warning("gateway_discovery_failed", error=str(exc))
                    served = None
                if served != self._last:
                    self._last = served
                    await self._on_served(served)
                caught_up = self._target is not None and served is not None and min(served.values()) >= self._target
                delay = self._fast if loop.time() < fast_until and not caught_up else self._idle
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), timeout=delay)
                if self._kick.is_set():
                    self._kick.clear()
                    fast_until = loop.time() + self._fast_window
