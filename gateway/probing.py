"""Model health: active probes per alias (docs/gateway.md, "Health") and passive health from live traffic.

Probes send a well-formed request in the route's own mode: for Responses a list-shaped ``input``
of ``input_text`` (never a string), ``store: false``, shaped by the bridge exactly like live
traffic (so codex gets ``stream: true``, instructions, and no ``max_output_tokens``); for chat a
tiny chat request. Probes cost money: they are opt-out per alias, run at the alias's interval,
never more often than ``probe_min_interval_seconds`` per alias (``POST /health/probe`` included),
and at most ``probe_concurrency`` at once. Passive health marks an alias unhealthy after
``passive_failure_threshold`` consecutive upstream failures of real requests, and healthy again on
the next success. Both feed ``aliasgate_model_healthy{alias}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import aiohttp
import orjson
import structlog

from gateway import bridge
from gateway.metrics import GatewayMetrics
from gateway.routing.loading import CompiledTable, RouteTarget, TableHolder
from gateway.schemas.responses import FAILED_EVENTS, OK_TERMINAL_EVENTS
from gateway.upstream.client import UpstreamClient
from gateway.upstream.failures import UpstreamFailure
from gateway.upstream.reading import UpstreamEvents, is_sse, parse_object

__all__ = ["HealthTracker", "ProbeResult", "Prober", "probe_body"]

_log = structlog.get_logger("gateway.probing")
PROBE_TEXT = "Reply with the single word: ok"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    alias: str
    ok: bool
    status: int
    """Upstream HTTP status (0 when no answer arrived)."""
    latency_seconds: float
    checked_at: float
    """Wall-clock time (UNIX seconds)."""
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": self.status,
            "latencySeconds": round(self.latency_seconds, 4),
            "checkedAt": self.checked_at,
            "error": self.error,
        }


@dataclass(slots=True)
class _AliasHealth:
    healthy: bool | None = None
    consecutive_failures: int = 0
    last_probe: ProbeResult | None = None
    last_traffic_error: str | None = None


@dataclass(slots=True)
class HealthTracker:
    """Health per alias from probes and traffic; the single writer of ``aliasgate_model_healthy``."""

    metrics: GatewayMetrics
    failure_threshold: int = 3
    scrub: Callable[[str], str] = str
    """Applied to every error text stored (``/health/models`` shows it): the credential scrubber's."""
    _aliases: dict[str, _AliasHealth] = field(default_factory=dict)

    def _entry(self, alias: str) -> _AliasHealth:
        entry = self._aliases.get(alias)
        if entry is None:
            entry = self._aliases[alias] = _AliasHealth()
        return entry

    def _set(self, alias: str, entry: _AliasHealth, healthy: bool) -> None:
        if entry.healthy is healthy:
            return  # the hot path: a success after a success changes nothing
        _log.info("model_health_changed", alias=alias, healthy=healthy)
        entry.healthy = healthy
        self.metrics.model_healthy(alias).set(1 if healthy else 0)

    def record_traffic(self, alias: str, *, ok: bool, error: str | None = None) -> None:
        entry = self._entry(alias)
        if ok:
            if entry.consecutive_failures:
                entry.consecutive_failures = 0
            self._set(alias, entry, True)
            return
        entry.consecutive_failures += 1
        entry.last_traffic_error = None if error is None else self.scrub(error)
        if entry.consecutive_failures >= self.failure_threshold:
            self._set(alias, entry, False)

    def record_probe(self, result: ProbeResult) -> ProbeResult:
        """Store ``result`` (its error text scrubbed) and return what was stored."""
        if result.error is not None:
            result = replace(result, error=self.scrub(result.error))
        entry = self._entry(result.alias)
        entry.last_probe = result
        self.metrics.health_checks(result.alias, "success" if result.ok else "failure").inc()
        if result.ok:
            entry.consecutive_failures = 0
        self._set(result.alias, entry, result.ok)
        return result

    def last_probe(self, alias: str) -> ProbeResult | None:
        entry = self._aliases.get(alias)
        return None if entry is None else entry.last_probe

    def retain(self, aliases: set[str]) -> None:
        """Forget aliases that left the table."""
        for alias in list(self._aliases):
            if alias not in aliases:
                del self._aliases[alias]
        self.metrics.forget_aliases(aliases)

    def snapshot(self, aliases: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for alias in aliases:
            entry = self._aliases.get(alias, _AliasHealth())
            out[alias] = {
                "healthy": entry.healthy,
                "consecutiveFailures": entry.consecutive_failures,
                "lastProbe": None if entry.last_probe is None else entry.last_probe.to_json(),
                "lastTrafficError": entry.last_traffic_error,
            }
        return out


def probe_body(target: RouteTarget) -> tuple[Literal["chat", "responses"], dict[str, Any]]:
    """The probe request for a route, in the route's own mode and shaped for its provider."""
    backend = target.backend
    if target.route.mode == "chat":
        return "chat", {
            "model": backend.model,
            "messages": [{"role": "user", "content": PROBE_TEXT}],
            "max_tokens": 16,
            "stream": False,
        }
    body: dict[str, Any] = {
        "model": backend.model,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": PROBE_TEXT}]}],
        "store": False,
    }
    if backend.provider != "chatgpt":
        # Enough for a reasoning model to think a little and still answer; codex refuses the parameter.
        body["max_output_tokens"] = 256
    shaped, _ = bridge.prepare_responses_request(body, upstream_model=backend.model, provider=backend.provider)
    return "responses", shaped


@dataclass(slots=True)
class Prober:
    """Runs probes on schedule and on demand."""

    holder: TableHolder
    health: HealthTracker
    upstream: Callable[[], UpstreamClient]
    concurrency: int = 4
    min_interval_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    tick_seconds: float = 1.0
    _semaphore: asyncio.Semaphore | None = None
    _last_started: dict[str, float] = field(default_factory=dict)
    _running: dict[str, asyncio.Task[ProbeResult]] = field(default_factory=dict)

    def _sem(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._semaphore

    async def run(self) -> None:
        """Schedule due probes forever (returns only when cancelled)."""
        try:
            while True:
                table = self.holder.current
                if table is not None:
                    for target in self._due(table):
                        self._start(target)
                await asyncio.sleep(self.tick_seconds)
        finally:
            await self.close()

    async def close(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        for task in list(self._running.values()):
            with suppress(asyncio.CancelledError):
                await task

    def _due(self, table: CompiledTable) -> list[RouteTarget]:
        now = self.clock()
        due: list[RouteTarget] = []
        for alias in table.aliases:
            target = table.targets[alias]
            check = target.route.settings.health_check
            if not check.enabled or alias in self._running:
                continue
            last = self._last_started.get(alias)
            if last is None or now - last >= max(check.interval_seconds, self.min_interval_seconds):
                due.append(target)
        return due

    def _start(self, target: RouteTarget) -> asyncio.Task[ProbeResult]:
        self._last_started[target.alias] = self.clock()
        task = asyncio.create_task(self._probe_limited(target), name=f"probe:{target.alias}")
        self._running[target.alias] = task
        alias = target.alias
        task.add_done_callback(lambda _task: self._forget(alias))
        return task

    def _forget(self, alias: str) -> None:
        self._running.pop(alias, None)

    async def probe_now(self) -> dict[str, Any]:
        """``POST /health/probe``: probe every enabled alias not probed within the minimum interval."""
        table = self.holder.current
        if table is None:
            return {}
        now = self.clock()
        tasks: dict[str, asyncio.Task[ProbeResult]] = {}
        skipped: list[str] = []
        for alias in table.aliases:
            target = table.targets[alias]
            if not target.route.settings.health_check.enabled:
                continue
            running = self._running.get(alias)
            last = self._last_started.get(alias)
            if running is not None:
                tasks[alias] = running
            elif last is not None and now - last < self.min_interval_seconds:
                skipped.append(alias)
            else:
                tasks[alias] = self._start(target)
        if tasks:
            await asyncio.wait(tasks.values())
        results: dict[str, Any] = {}
        for alias in table.aliases:
            if alias in tasks and not tasks[alias].cancelled() and tasks[alias].exception() is None:
                results[alias] = {**tasks[alias].result().to_json(), "rateLimited": False}
            elif alias in skipped:
                last_probe = self.health.last_probe(alias)
                results[alias] = {**(last_probe.to_json() if last_probe else {}), "rateLimited": True}
        return results

    async def _probe_limited(self, target: RouteTarget) -> ProbeResult:
        async with self._sem():
            result = await self.probe(target)
        result = self.health.record_probe(result)
        if not result.ok:
            _log.warning("probe_failed", alias=target.alias, status=result.status, error=result.error)
        return result

    async def probe(self, target: RouteTarget) -> ProbeResult:
        started = self.clock()
        checked_at = self.wall_clock()
        check = target.route.settings.health_check

        def done(ok: bool, status: int, error: str | None = None) -> ProbeResult:
            return ProbeResult(target.alias, ok, status, self.clock() - started, checked_at, error)

        try:
            endpoint, body = probe_body(target)
        except bridge.BridgeRequestError as exc:
            return done(False, 0, exc.error.message)
        try:
            async with asyncio.timeout(check.timeout_seconds):
                resp = await self.upstream().post(target, endpoint, orjson.dumps(body), request_id="health-probe")
                try:
                    if resp.status >= 300:
                        failure = await self.upstream().error_of(resp)
                        return done(False, resp.status, failure.error.message)
                    if not is_sse(resp):
                        await resp.read()
                        return done(True, resp.status)
                    return await _read_probe_stream(
                        UpstreamEvents(resp, _Unmetered(), self.clock, scrubber=self.upstream().scrubber),
                        resp.status,
                        done,
                    )
                finally:
                    resp.release()
        except UpstreamFailure as failure:
            return done(False, 0, failure.error.message)
        except TimeoutError:
            return done(False, 0, "probe timed out")
        except aiohttp.ClientError as exc:
            return done(False, 0, f"probe stream broke ({type(exc).__name__})")


@dataclass(slots=True)
class _Unmetered:
    """Where a probe's upstream wait goes: nowhere (probes have no request context)."""

    upstream_seconds: float = 0.0


async def _read_probe_stream(events: UpstreamEvents, status: int, done: Callable[..., ProbeResult]) -> ProbeResult:
    """Read up to the first terminal event, as live traffic reads; garbage events are skipped, not fatal."""
    while not events.eof:
        for event in await events.next_batch():
            payload = parse_object(event.data)
            if payload is None:
                continue
            kind = payload.get("type")
            if kind in OK_TERMINAL_EVENTS:
                return done(True, status)
            if kind in FAILED_EVENTS:
                error = bridge.error_from_event(payload)
                return done(False, error.status, error.message)
    return done(False, status, "stream ended without a terminal event")
