"""The table holder (a :class:`~gateway.routing.source.TableSink`) and the file table source.

Sources hand raw documents to :class:`TableHolder`; it validates them (what ``RoutingTable.from_json``
then ``check()`` accept, decided incrementally: see ``decoding`` and ``invariants``), compiles the
table into an immutable :class:`CompiledTable` and swaps one reference.
A bad document never replaces a good table: the last good one keeps serving, and the metrics
(``aliasgate_routing_table_loads_total{result}``) and a log line say so. Handlers read
``holder.current`` once per request, so a swap never tears a request in half.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, cast

import aiohttp
import orjson
import pydantic
import structlog

from aliasgate.runtime.gcpause import collector_paused
from gateway.metrics import GatewayMetrics
from gateway.routing.decoding import Delta, TableDecoder
from gateway.routing.invariants import hold_after
from gateway.routing.source import TableSink
from gateway.routing.table import Backend, RejectedAlias, Route, RoutingTable, TableInvariantError

__all__ = [
    "CompiledTable",
    "FileTableSource",
    "LoadResult",
    "RouteTarget",
    "TableChange",
    "TableHolder",
    "compile_table",
]

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


_serials = itertools.count(1)


@dataclass(frozen=True, slots=True)
class TableChange:
    """How a compiled table differs from the one it was compiled against, so listeners can do only that."""

    since: int
    """:attr:`CompiledTable.serial` of that earlier table."""
    changed: tuple[str, ...]
    """Aliases whose target is new: added, or their route or backend changed."""
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompiledTable:
    """An accepted table and its lookup structure; never mutated after construction."""

    table: RoutingTable
    targets: Mapping[str, RouteTarget]
    aliases: tuple[str, ...]
    """Sorted alias names, for ``/v1/models``."""
    timeouts: Mapping[tuple[float, float, float], aiohttp.ClientTimeout] = field(default_factory=dict, compare=False)
    """The distinct ClientTimeouts of the targets by (total, connect, read), shared with the next table."""
    change: TableChange | None = field(default=None, compare=False)
    """What changed since the table this one was compiled against (None: compiled from scratch)."""
    serial: int = field(default_factory=lambda: next(_serials), compare=False)
    """Unique per compiled table in this process (never reused, unlike ``id()``)."""
    views: dict[str, bytes] = field(default_factory=dict, compare=False)
    """Encoded views of this table computed on demand (the admin ``/status`` listing); they die with it."""
    _rejections: dict[str, RejectedAlias] = field(default_factory=dict, compare=False, repr=False)
    """``table.rejected`` by alias, built on the first lookup that misses the targets."""

    @property
    def generation(self) -> int:
        return self.table.generation

    def get(self, alias: str) -> RouteTarget | None:
        return self.targets.get(alias)

    def rejection(self, alias: str) -> RejectedAlias | None:
        """Why a ModelAlias asking for ``alias`` was rejected, when nothing serves it; None for an unknown name."""
        if alias in self.targets or not self.table.rejected:
            return None
        if not self._rejections:
            for rejected in self.table.rejected:  # sorted by source: the first object asking wins
                self._rejections.setdefault(rejected.alias, rejected)
        return self._rejections.get(alias)


_TIMEOUTS_KEPT = 256
"""Distinct timeouts carried from table to table; beyond that they start afresh (sharing is only a saving)."""


def compile_table(
    table: RoutingTable, previous: CompiledTable | None = None, delta: Delta | None = None
) -> CompiledTable:
    """Precompute the per-alias lookup of a checked table.

    With ``previous`` (the table served so far), a target whose route and backend objects are the very
    ones it was built from is taken over as is: after a one-alias change, almost all of them. ``delta``
    (the decoder's account of what changed since ``previous.table``) spares looking at the others."""
    old: Mapping[str, RouteTarget] = previous.targets if previous is not None else {}
    timeouts: dict[tuple[float, float, float], aiohttp.ClientTimeout] = (
        dict(previous.timeouts) if previous is not None and len(previous.timeouts) <= _TIMEOUTS_KEPT else {}
    )
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

    def target(alias: str, route: Route, backend: Backend) -> RouteTarget:
        return RouteTarget(
            alias=alias,
            route=route,
            backend=backend,
            fallbacks=tuple(route.settings.fallbacks),
            client_timeout=client_timeout(route),
        )

    backends = table.backends
    routes = table.routes
    if previous is None:
        targets = {alias: target(alias, route, backends[route.backend]) for alias, route in routes.items()}
        return CompiledTable(
            table=table, targets=MappingProxyType(targets), aliases=tuple(sorted(targets)), timeouts=timeouts
        )
    if delta is not None and delta.base is previous.table and backends is previous.table.backends:
        # Only the changed routes get new targets; the others are taken over in one pass.
        taken = dict(zip(routes, map(old.get, routes), strict=True))
        for alias in delta.changed:
            route = routes[alias]
            taken[alias] = target(alias, route, backends[route.backend])
        targets = cast(dict[str, RouteTarget], taken)
        changed, removed = delta.changed, delta.removed
    else:
        targets = {}
        fresh: list[str] = []
        kept = 0
        for alias, route in routes.items():
            backend = backends[route.backend]
            prior = old.get(alias)
            if prior is not None:
                kept += 1
                if prior.route is route and prior.backend is backend:
                    targets[alias] = prior
                    continue
            fresh.append(alias)
            targets[alias] = target(alias, route, backend)
        changed = tuple(fresh)
        removed = tuple(alias for alias in old if alias not in targets) if kept != len(old) else ()
    same_aliases = not removed and len(targets) == len(old)
    return CompiledTable(
        table=table,
        targets=MappingProxyType(targets),
        aliases=previous.aliases if same_aliases else tuple(sorted(targets)),
        timeouts=timeouts,
        change=TableChange(since=previous.serial, changed=changed, removed=removed),
    )


@dataclass(slots=True)
class TableHolder:
    """Holds the table being served; the only writer of that reference."""

    metrics: GatewayMetrics
    on_swap: list[Callable[[CompiledTable], None]] = field(default_factory=list)
    """Called after each swap (the metrics label cache and the prober listen here)."""
    _current: CompiledTable | None = None
    last_error: str | None = None
    last_result: LoadResult | None = None
    _decoder: TableDecoder = field(default_factory=TableDecoder)

    @property
    def current(self) -> CompiledTable | None:
        return self._current

    @property
    def loaded(self) -> bool:
        return self._current is not None

    def load_bytes(self, data: bytes, *, origin: str) -> bool:
        # The collector stays paused for the whole load (see aliasgate.runtime.gcpause).
        with collector_paused():
            try:
                decoded = self._decoder.decode(data)
            except (pydantic.ValidationError, ValueError) as exc:
                return self._reject(f"invalid routing table document: {_summarise(exc)}", origin=origin)
            # The hash was checked against the very bytes just decoded (cheap); only a document that is
            # not in canonical form falls back to recomputing it from the model in check().
            result = self._load(decoded.table, origin=origin, hash_verified=decoded.hash_verified, delta=decoded.delta)
            if result == "accepted":
                self._decoder.accepted(decoded)
            return result != "rejected"

    def load_table(self, table: RoutingTable, *, origin: str) -> bool:
        with collector_paused():
            result = self._load(table, origin=origin, hash_verified=False)
            if result == "accepted":
                self._decoder.forget()  # what it remembers no longer describes the served table
            return result != "rejected"

    def _load(self, table: RoutingTable, *, origin: str, hash_verified: bool, delta: Delta | None = None) -> LoadResult:
        current = self._current
        # A table that differs little from the served one (already checked) has only its changes
        # checked; any problem, or an unverified hash, goes through the full check for its messages.
        if not (hash_verified and current is not None and hold_after(table, current.table, delta)):
            try:
                table.check(hash_verified=hash_verified)
            except TableInvariantError as exc:
                self._reject("routing table breaks invariants: " + "; ".join(exc.problems[:5]), origin=origin)
                return "rejected"
            except orjson.JSONEncodeError as exc:  # recomputing the hash met a value JSON cannot carry
                self._reject(f"routing table content cannot be hashed: {str(exc)[:200]}", origin=origin)
                return "rejected"
        if current is not None and current.table.sha256 == table.sha256 and current.generation == table.generation:
            self.last_error = None  # the source delivers again (after an outage or a bad document): say so
            self._record("unchanged")
            return "unchanged"
        if current is not None and table.generation < current.generation:
            self._reject(
                f"generation {table.generation} is older than the served generation {current.generation}",
                origin=origin,
            )
            return "rejected"
        compiled = compile_table(table, current, delta)
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
        return "accepted"

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
