"""What the gateways really serve: the ``Programmed`` condition (DESIGN §3).

:class:`ProgrammedTracker` (pure) remembers, for each accepted object generation, the first table
generation that carried it, and the table generation each ready gateway pod reports. An alias is
Programmed when every ready pod serves at least that table generation; Unknown when no gateway is known.
:class:`GatewayPoller` reads each pod's admin ``/status`` (pods found through ``ports.GatewayDiscovery``)
and hands the served generations to the reconciler, quickly after a publish and slowly otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import structlog

from aliasgate.runtime.gcpause import collector_paused
from controller import ports
from gateway.routing.table import RoutingTable

__all__ = ["GatewayPoller", "ProgrammedTracker", "served_generation"]

log = structlog.get_logger("controller.programmed")

ObjectRef = tuple[str, str]


@dataclass
class ProgrammedTracker:
    """Table generation that introduced each (object, generation), and the generations the gateways serve."""

    introduced: dict[ObjectRef, tuple[int | None, int]] = field(default_factory=dict)
    served: dict[str, int] | None = None
    """Ready gateway pod → table generation it serves; None = unknown (no discovery or no pods)."""
    _recorded: RoutingTable | None = None

    def record_table(self, table: RoutingTable) -> None:
        """A table is now published: routes whose object generation is new were introduced by it.

        Incremental: a route object carried over unchanged from the previous table (the controller
        reuses them) changes nothing, so at 10,000 aliases one change costs a pass of identity checks."""
        previous = self._recorded
        with collector_paused():
            if previous is None or table.generation < previous.generation:
                self._record_all(table)
            else:
                self._record_changes(previous, table)
        self._recorded = table

    def _record_all(self, table: RoutingTable) -> None:
        seen: set[ObjectRef] = set()
        for route in table.routes.values():
            ref = (route.source.namespace, route.source.name)
            seen.add(ref)
            self._introduce(ref, route.source.generation, table.generation)
        for ref in set(self.introduced) - seen:
            del self.introduced[ref]

    def _record_changes(self, previous: RoutingTable, table: RoutingTable) -> None:
        before, after = previous.routes, table.routes
        for alias, route in after.items():
            if before.get(alias) is not route:
                self._introduce((route.source.namespace, route.source.name), route.source.generation, table.generation)
        gone = {
            (route.source.namespace, route.source.name)
            for alias, route in before.items()
            if after.get(alias) is not route
        }
        if gone:
            gone -= {(route.source.namespace, route.source.name) for route in after.values()}
            for ref in gone:
                self.introduced.pop(ref, None)

    def _introduce(self, ref: ObjectRef, generation: int | None, table_generation: int) -> None:
        known = self.introduced.get(ref)
        if known is None or known[0] != generation or known[1] > table_generation:
            self.introduced[ref] = (generation, table_generation)

    def observe(self, served: Mapping[str, int] | None) -> bool:
        """New served generations; True when they differ from the previous ones."""
        fresh = None if served is None else dict(served)
        changed = fresh != self.served
        self.served = fresh
        return changed

    def min_served(self) -> int | None:
        if not self.served:
            return None
        return min(self.served.values())

    def programmed(self, namespace: str, name: str, generation: int | None) -> bool | None:
        """True/False for an accepted object at ``generation``; None when no gateway pod is known."""
        low = self.min_served()
        if low is None:
            return None
        known = self.introduced.get((namespace, name))
        if known is None or known[0] != generation:
            return False
        return low >= known[1]


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
