"""The table holder (a :class:`~gateway.routing.source.TableSink`) and the file table source.

Sources hand raw documents to :class:`TableHolder`; it validates (``RoutingTable.from_json`` then
``check()``), compiles the table into an immutable :class:`CompiledTable` and swaps one reference.
A bad document never replaces a good table: the last good one keeps serving, and the metrics
(``aliasgate_routing_table_loads_total{result}``) and a log line say so. Handlers read
``holder.current`` once per request, so a swap never tears a request in half.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import aiohttp
import pydantic
import structlog

from gateway.metrics import GatewayMetrics
from gateway.routing.source import TableSink
from gateway.routing.table import Backend, Route, RoutingTable, TableInvariantError, document_content_hash

__all__ = ["CompiledTable", "FileTableSource", "LoadResult", "RouteTarget", "TableHolder", "compile_table"]

LoadResult = Literal["accepted", "unchanged", "rejected", "source_error"]

_log = structlog.get_logger("gateway.routing")


@dataclass(frozen=True, slots=True)
class RouteTarget:
    """Everything a request needs about one alias, resolved once per table."""

    alias: str
    route: Route
    backend: Backend
    fallbacks: tuple[str, ...]
    client_timeout: aiohttp.ClientTimeout
    """The route's connect/idle/total timeouts, built once per table instead of once per request."""


@dataclass(frozen=True, slots=True)
class CompiledTable:
    """An accepted table and its lookup structure; never mutated after construction."""

    table: RoutingTable
    targets: Mapping[str, RouteTarget]
    aliases: tuple[str, ...]
    """Sorted alias names, for ``/v1/models``."""

    @property
    def generation(self) -> int:
        return self.table.generation

    def get(self, alias: str) -> RouteTarget | None:
        return self.targets.get(alias)


def compile_table(table: RoutingTable) -> CompiledTable:
    """Precompute the per-alias lookup of a checked table."""
    timeouts: dict[tuple[float, float, float], aiohttp.ClientTimeout] = {}
    """One (immutable) ClientTimeout per distinct triple: a large table has few distinct timeouts."""

    def client_timeout(route: Route) -> aiohttp.ClientTimeout:
        settings = route.settings.timeouts
        triple = (settings.read_seconds, settings.connect_seconds, settings.idle_seconds)
        found = timeouts.get(triple)
        if found is None:
            found = timeouts[triple] = aiohttp.ClientTimeout(
                total=settings.read_seconds, sock_connect=settings.connect_seconds, sock_read=settings.idle_seconds
            )
        return found

    targets = {
        alias: RouteTarget(
            alias=alias,
            route=route,
            backend=table.backends[route.backend],
            fallbacks=tuple(route.settings.fallbacks),
            client_timeout=client_timeout(route),
        )
        for alias, route in table.routes.items()
    }
    return CompiledTable(table=table, targets=MappingProxyType(targets), aliases=tuple(sorted(targets)))


@dataclass(slots=True)
class TableHolder:
    """Holds the table being served; the only writer of that reference."""

    metrics: GatewayMetrics
    on_swap: list[Callable[[CompiledTable], None]] = field(default_factory=list)
    """Called after each swap (the metrics label cache and the prober listen here)."""
    _current: CompiledTable | None = None
    last_error: str | None = None
    last_result: LoadResult | None = None

    @property
    def current(self) -> CompiledTable | None:
        return self._current

    @property
    def loaded(self) -> bool:
        return self._current is not None

    def load_bytes(self, data: bytes, *, origin: str) -> bool:
        try:
            table = RoutingTable.from_json(data)
        except (pydantic.ValidationError, ValueError) as exc:
            return self._reject(f"invalid routing table document: {_summarise(exc)}", origin=origin)
        # The hash is checked against the very bytes just validated (cheap); only a document that is
        # not in canonical form falls back to recomputing it from the model in check().
        verified = bool(table.sha256) and document_content_hash(data) == table.sha256
        return self._load(table, origin=origin, hash_verified=verified)

    def load_table(self, table: RoutingTable, *, origin: str) -> bool:
        return self._load(table, origin=origin, hash_verified=False)

    def _load(self, table: RoutingTable, *, origin: str, hash_verified: bool) -> bool:
        try:
            table.check(hash_verified=hash_verified)
        except TableInvariantError as exc:
            return self._reject("routing table breaks invariants: " + "; ".join(exc.problems[:5]), origin=origin)
        current = self._current
        if current is not None and current.table.sha256 == table.sha256 and current.generation == table.generation:
            self._record("unchanged")
            return True
        if current is not None and table.generation < current.generation:
            return self._reject(
                f"generation {table.generation} is older than the served generation {current.generation}",
                origin=origin,
            )
        compiled = compile_table(table)
        self._current = compiled
        self.last_error = None
        self._record("accepted")
        self.metrics.table_generation.set(table.generation)
        _log.info(
            "table_loaded",
            origin=origin,
            generation=table.generation,
            sha256=table.sha256,
            routes=len(table.routes),
            rejected_aliases=len(table.rejected),
        )
        for callback in self.on_swap:
            callback(compiled)
        return True

    def source_failed(self, reason: str, *, origin: str) -> None:
        self.last_error = reason
        self._record("source_error")
        _log.warning("table_source_failed", origin=origin, reason=reason, kept_generation=self._served_generation())

    def _reject(self, reason: str, *, origin: str) -> bool:
        self.last_error = reason
        self._record("rejected")
        _log.warning("table_rejected", origin=origin, reason=reason, kept_generation=self._served_generation())
        return False

    def _record(self, result: LoadResult) -> None:
        self.last_result = result
        self.metrics.table_loads(result).inc()

    def _served_generation(self) -> int | None:
        return None if self._current is None else self._current.generation


def _summarise(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        errors = exc.errors(include_url=False, include_input=False)
        parts = [".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in errors[:5]]
        return f"{exc.error_count()} error(s): " + "; ".join(parts)
    return str(exc)[:300]


@dataclass(slots=True)
class FileTableSource:
    """Polls one JSON file by (mtime, size, inode); a mounted ConfigMap replaces its file atomically."""

    path: Path
    interval_seconds: float = 1.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # tests pass a fast sleep

    async def run(self, sink: TableSink) -> None:
        origin = f"file:{self.path}"
        seen: tuple[int, int, int] | None = None
        failing = False
        while True:
            try:
                stat = os.stat(self.path)
                stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
                if stamp != seen:
                    data = await asyncio.to_thread(self.path.read_bytes)
                    seen = stamp
                    failing = False
                    sink.load_bytes(data, origin=origin)
            except OSError as exc:
                if not failing:
                    sink.source_failed(f"cannot read table file: {exc.strerror or exc}", origin=origin)
                    failing = True
                seen = None
            await self.sleep(self.interval_seconds)
