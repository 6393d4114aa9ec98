"""The level-triggered reconcile loop: inventory → debounce → resolve → publish → changed statuses.

Fed by the watch streams (``controller.kube.watching`` calls :meth:`Reconciler.notify` after updating
the inventories) and by the leader elector and the gateway poller. It never reads events, only levels:
each pass runs the pure conflict engine on the *whole* inventory, so duplicated, reordered or missed
events cannot leave a wrong table. Writes go through the Protocols of ``controller.ports`` and only while
this replica leads; followers still resolve so their state is warm when they take over.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from controller import conditions, conflicts, ports
from controller.inventory import Change, Inventory
from controller.metrics import ControllerMetrics
from controller.parsing import ParsedAliases
from controller.programmed import ProgrammedTracker

__all__ = [
    "Debouncer",
    "Reconciler",
    "same_status",
]

log = structlog.get_logger("controller.reconciler")

STATUS_CHUNK = 256
"""Statuses computed and written per step; between steps a newer resolution interrupts the pass."""


class Debouncer:
    """Coalesces bursts of triggers: fires after ``quiet`` seconds without one, or ``max_wait`` after the first."""

    def __init__(self, *, quiet: float, max_wait: float) -> None:
        self.quiet = quiet
        self.max_wait = max_wait
        self._event = asyncio.Event()

    def trigger(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        """Return once a burst of triggers has settled."""
        await self._event.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while True:
            self._event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._event.wait(), timeout=min(self.quiet, remaining))
            except TimeoutError:
                return


def same_status(observed: Any, desired: Mapping[str, Any]) -> bool:
    """Whether the object already carries ``desired``: JSON nulls in a merge patch delete fields, so a
    null in ``desired`` matches an absent field."""
    return bool(_without_nulls(observed) == _without_nulls(desired))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


class Reconciler:
    """Decides, and asks the ports to write. One instance per process."""

    def __init__(
        self,
        *,
        aliases: Inventory,
        secrets: Inventory | None,
        publisher: ports.TablePublisher,
        statuses: ports.StatusWriter,
        events: ports.EventRecorder,
        leadership: ports.Leadership,
        metrics: ControllerMetrics,
        tracker: ProgrammedTracker | None = None,
        on_published: Callable[[int], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        debounce_seconds: float = 0.05,
        debounce_max_seconds: float = 0.3,
        status_concurrency: int = 16,
        retry_seconds: float = 1.0,
        programmed_grace_seconds: float = 3.0,
    ) -> None:
        self.aliases = aliases
        self.secrets = secrets
        self._publisher = publisher
        self._statuses = statuses
        self._events = events
        self._leadership = leadership
        self._metrics = metrics
        self.tracker = tracker if tracker is not None else ProgrammedTracker()
        self._on_published = on_published
        self._clock = clock
        self._debouncer = Debouncer(quiet=debounce_seconds, max_wait=debounce_max_seconds)
        self._status_debouncer = Debouncer(quiet=debounce_seconds, max_wait=debounce_max_seconds)
        self._published_at = 0.0
        self._status_seen: dict[tuple[str, str], tuple[conflicts.Verdict, Any, bool | None]] = {}
        """Per object, the inputs with which its status was last found right (skips unchanged objects)."""
        self._concurrency = status_concurrency
        self._retry_seconds = retry_seconds
        self._programmed_grace = programmed_grace_seconds
        self._pending = Change.NONE
        self._resolution: conflicts.Resolution | None = None
        self._published_resolution: conflicts.Resolution | None = None
        """The resolution this replica published in its current tenure: the only one statuses follow, so
        no status says Accepted for an alias the published table does not route yet."""
        self._resolved_versions: tuple[int, int] | None = None
        self._parsed = ParsedAliases(aliases)
        self._memo = conflicts.ResolveMemo()
        self._emitted: set[tuple[str | None, int | None, str]] = set()
        self._was_leader = False
        self.published: ports.PublishResult | None = None
        self.ready = False
        """True once a full list of every inventory has been reconciled (``/readyz``)."""
        self.passes = 0
        self.status_writes = 0
        self.last_resolve_seconds = 0.0

    # -- inputs --------------------------------------------------------------------------------------

    def notify(self, change: Change) -> None:
        """An inventory changed (or leadership/gateways did). ``SPEC`` schedules a resolve-and-publish
        pass; ``STATUS`` only a status pass (publishing never waits for status writes)."""
        if change is Change.SPEC:
            self._pending = Change.SPEC
            self._debouncer.trigger()
        elif change is Change.STATUS:
            self._status_debouncer.trigger()

    def republish(self) -> None:
        """The published object changed under us: check it again (no new resolve needed)."""
        self._debouncer.trigger()

    async def on_served(self, served: Mapping[str, int] | None) -> None:
        """The gateway poller's report: served generations changed, so Programmed may have flipped."""
        if self.tracker.observe(served):
            self.notify(Change.STATUS)

    def leadership_changed(self, leader: bool) -> None:
        self._metrics.leader.set(1 if leader else 0)
        self._published_resolution = None  # statuses wait for this tenure's first publish
        if leader:
            # A new leader re-publishes and re-checks every status, whatever the previous one left.
            self._resolved_versions = None
            self.notify(Change.SPEC)

    # -- loops ---------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Both loops until cancelled: resolve-and-publish, and status writing."""
        await asyncio.gather(self._spec_loop(), self._status_loop())

    async def _spec_loop(self) -> None:
        """Resolve and publish after each settled burst; a failed pass is retried."""
        while True:
            await self._debouncer.wait()
            level, self._pending = self._pending, Change.NONE
            try:
                if await self.spec_pass(level):
                    self._status_debouncer.trigger()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._metrics.reconciles.labels("error").inc()
                log.warning("reconcile_failed", error=str(exc), error_type=type(exc).__name__)
                self._pending = Change.SPEC
                await asyncio.sleep(self._retry_seconds)
                self._debouncer.trigger()

    async def _status_loop(self) -> None:
        """Bring statuses in line with the latest resolution; restarts when a newer one arrives."""
        while True:
            await self._status_debouncer.wait()
            try:
                await self.status_pass()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("status_pass_failed", error=str(exc), error_type=type(exc).__name__)
                await asyncio.sleep(self._retry_seconds)
                self._status_debouncer.trigger()

    async def reconcile(self, level: Change = Change.SPEC) -> None:
        """One complete pass, publish then statuses (what the two loops do, in one call)."""
        if await self.spec_pass(level):
            await self.status_pass()

    async def spec_pass(self, level: Change = Change.SPEC) -> bool:
        """Resolve (when anything changed), publish, emit events; False when the inventory is incomplete."""
        if not self.aliases.complete or (self.secrets is not None and not self.secrets.complete):
            return False  # never publish a table built from a partial list
        leader = self._leadership.is_leader()
        if leader != self._was_leader:
            self._published_resolution = None  # a new tenure publishes before it writes any status
            if leader:
                level = Change.SPEC
        self._was_leader = leader
        versions = (self.aliases.version, self.secrets.version if self.secrets is not None else 0)
        started = time.perf_counter()
        resolve_seconds = 0.0
        if self._resolution is None or versions != self._resolved_versions or level is Change.SPEC:
            self._resolution = self._resolve()
            self._resolved_versions = versions
            resolve_seconds = self.last_resolve_seconds = time.perf_counter() - started
            self._count_aliases(self._resolution)
        resolution = self._resolution
        if leader:
            result = await self._publish(resolution)
            self._published_resolution = resolution
            self.tracker.record_table(result.table)
            if result.written:
                self._published_at = asyncio.get_running_loop().time()
                if self._on_published is not None:
                    self._on_published(result.table.generation)
        elapsed = time.perf_counter() - started
        self._metrics.reconcile_duration.observe(elapsed)
        log.info(
            "reconciled",
            pass_level=level.name,
            leader=leader,
            objects=len(self.aliases),
            resolve_seconds=round(resolve_seconds, 4),
            duration_seconds=round(elapsed, 4),
            generation=None if self.published is None else self.published.table.generation,
        )
        self._metrics.reconciles.labels("ok").inc()
        self.passes += 1
        self.ready = True
        return True

    async def status_pass(self) -> None:
        """Write every status that differs from what the published resolution calls for (leader only).

        Works in chunks and stops early when a newer resolution arrives (its statuses supersede these).
        Right after a publish it first gives known gateways a moment to load the table, so a status is
        written once with Programmed=True rather than twice (Pending, then True)."""
        resolution = self._published_resolution
        if resolution is None or not self._leadership.is_leader():
            return
        await self._await_gateways()
        started = time.perf_counter()
        written = 0
        verdicts = list(resolution.verdicts.values())
        semaphore = asyncio.Semaphore(self._concurrency)
        for offset in range(0, len(verdicts), STATUS_CHUNK):
            if self._published_resolution is not resolution:
                self._status_debouncer.trigger()
                return
            jobs = []
            for verdict in verdicts[offset : offset + STATUS_CHUNK]:
                raw = self.aliases.get(verdict.namespace, verdict.name)
                if raw is None:
                    continue
                programmed = self._programmed(verdict)
                key = (verdict.namespace, verdict.name)
                seen = (verdict, (raw.get("metadata") or {}).get("resourceVersion"), programmed)
                if self._status_seen.get(key) == seen:
                    continue  # nothing this status depends on moved since it was last found right
                previous = raw.get("status")
                desired = conditions.build_status(verdict, previous, self._clock(), programmed)
                if same_status(previous, desired):
                    self._status_seen[key] = seen
                else:
                    jobs.append(self._write_one(semaphore, raw, desired))
            if jobs:
                await asyncio.gather(*jobs)
                written += len(jobs)
        await self._emit_events(resolution)
        if len(self._status_seen) > len(resolution.verdicts):
            live = {(v.namespace, v.name) for v in verdicts}
            self._status_seen = {key: value for key, value in self._status_seen.items() if key in live}
        if written:
            log.info(
                "statuses_written",
                count=written,
                total=self.status_writes,
                duration_seconds=round(time.perf_counter() - started, 3),
            )

    # -- steps ---------------------------------------------------------------------------------------

    def _resolve(self) -> conflicts.Resolution:
        objects = self._parsed.objects()
        credentials = None if self.secrets is None else conflicts.credentials_from(self.secrets.snapshot())
        return conflicts.resolve(objects, credentials=credentials, generation=0, memo=self._memo)

    def _count_aliases(self, resolution: conflicts.Resolution) -> None:
        counts: Counter[tuple[str, str]] = Counter()
        for verdict in resolution.verdicts.values():
            counts["accepted" if verdict.accepted else "rejected", verdict.reason] += 1
        self._metrics.set_alias_counts(counts)

    async def _publish(self, resolution: conflicts.Resolution) -> ports.PublishResult:
        try:
            result = await self._publisher.publish(resolution.table)
        except Exception:
            self._metrics.table_publishes.labels("error").inc()
            raise
        self._metrics.table_publishes.labels("updated" if result.written else "unchanged").inc()
        if result.written:
            log.info("table_published", generation=result.table.generation, routes=len(result.table.routes))
        self.published = result
        return result

    async def _await_gateways(self) -> None:
        published = self.published
        if published is None or self.tracker.served is None or self._programmed_grace <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = self._published_at + self._programmed_grace
        while loop.time() < deadline:
            low = self.tracker.min_served()
            if low is not None and low >= published.table.generation:
                return
            await asyncio.sleep(0.02)

    def _programmed(self, verdict: conflicts.Verdict) -> bool | None:
        if not verdict.accepted:
            return False
        return self.tracker.programmed(verdict.namespace, verdict.name, verdict.generation)

    def desired_status(self, verdict: conflicts.Verdict, previous: Mapping[str, Any] | None) -> dict[str, Any]:
        """The status this verdict calls for, given what the object carries now."""
        return conditions.build_status(verdict, previous, self._clock(), self._programmed(verdict))

    async def _write_one(self, semaphore: asyncio.Semaphore, raw: dict[str, Any], desired: dict[str, Any]) -> None:
        meta = raw.get("metadata") or {}
        async with semaphore:
            if not self._leadership.is_leader():
                return
            outcome = await self._statuses.write_status(
                namespace=str(meta.get("namespace")),
                name=str(meta.get("name")),
                generation=meta.get("generation"),
                resource_version=meta.get("resourceVersion"),
                status=desired,
            )
        self.status_writes += 1
        if outcome != "written":
            log.debug("status_write_skipped", object=f"{meta.get('namespace')}/{meta.get('name')}", outcome=outcome)

    async def _emit_events(self, resolution: conflicts.Resolution) -> None:
        """One Warning Event per rejected (object incarnation, generation, reason); never repeated.

        Runs in the status loop, after the statuses (which already tell the story), with bounded
        concurrency, so thousands of rejections never hold up a publish."""
        live: set[tuple[str | None, int | None, str]] = set()
        fresh: list[conflicts.Verdict] = []
        for verdict in resolution.verdicts.values():
            if verdict.accepted:
                continue
            key = (verdict.uid, verdict.generation, verdict.reason)
            live.add(key)
            if key not in self._emitted:
                self._emitted.add(key)
                fresh.append(verdict)
        self._emitted &= live
        semaphore = asyncio.Semaphore(self._concurrency)

        async def emit(verdict: conflicts.Verdict) -> None:
            async with semaphore:
                if not self._leadership.is_leader():
                    return
                try:
                    await self._events.record(
                        namespace=verdict.namespace,
                        name=verdict.name,
                        uid=verdict.uid,
                        reason=verdict.reason,
                        message=verdict.message,
                        warning=True,
                    )
                except Exception as exc:  # best effort: the status already says it
                    log.warning("event_failed", object=verdict.ref, error=str(exc))

        await asyncio.gather(*(emit(verdict) for verdict in fresh))
