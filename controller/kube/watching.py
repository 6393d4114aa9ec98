"""List, then watch, one collection into an :class:`~controller.inventory.Inventory` (hands off to the reconciler).

The loop itself (bookmarks, the 70 s inactivity timeout, re-list on ``410 Gone``, jittered backoff) is the
one both planes share, :func:`aliasgate.runtime.kubewatch.list_then_watch`; this module feeds what it
yields into the inventory: a list replaces the inventory's scope wholesale, each change is upserted or
deleted, and every restart is counted in ``aliasgate_controller_watch_restarts_total{reason}`` and logged.
Each change is reported with ``on_change`` so the reconciler can debounce.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from aliasgate.runtime.kubewatch import Changed, Listed, Restarting, WatchPolicy, list_then_watch
from controller.inventory import Change, Inventory
from controller.kube.client import KubeClient
from controller.metrics import ControllerMetrics

__all__ = ["WatchTarget", "Watcher"]

log = structlog.get_logger("controller.watching")


@dataclass(frozen=True, slots=True)
class WatchTarget:
    """One collection to mirror: its path, the inventory scope it fills, and how to read it."""

    path: str
    """Collection path, e.g. ``/apis/aliasgate.io/v1alpha1/modelaliases``."""
    scope: str
    """Inventory scope the list replaces (a namespace, or "" for all namespaces)."""
    kind: str
    label_selector: str | None = None
    field_selector: str | None = None
    accept: str = "application/json"
    strip: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Applied to every object before it is stored (e.g. drop a Secret's data)."""


class Watcher:
    """Mirrors one :class:`WatchTarget` into an inventory, forever (``run`` returns only when cancelled)."""

    def __init__(
        self,
        *,
        client: KubeClient,
        target: WatchTarget,
        inventory: Inventory,
        on_change: Callable[[Change], None],
        metrics: ControllerMetrics,
        inactivity_seconds: float = 70.0,
        watch_timeout_seconds: int = 300,
        backoff_base_seconds: float = 0.2,
        backoff_max_seconds: float = 5.0,
        page_size: int = 500,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self.target = target
        self._inventory = inventory
        self._on_change = on_change
        self._metrics = metrics
        self._policy = WatchPolicy(
            inactivity_seconds=inactivity_seconds,
            watch_timeout_seconds=watch_timeout_seconds,
            backoff_base_seconds=backoff_base_seconds,
            backoff_max_seconds=backoff_max_seconds,
            page_size=page_size,
        )
        self._rng = rng or random.Random()  # jitter, not security
        self.lists = 0

    def _query(self) -> dict[str, str]:
        query: dict[str, str] = {}
        if self.target.label_selector:
            query["labelSelector"] = self.target.label_selector
        if self.target.field_selector:
            query["fieldSelector"] = self.target.field_selector
        return query

    def _prepare(self, raw: dict[str, Any]) -> dict[str, Any]:
        raw.setdefault("kind", self.target.kind)
        return self.target.strip(raw) if self.target.strip is not None else raw

    async def _list_page(self, query: Mapping[str, str]) -> dict[str, Any]:
        return await self._client.request("GET", self.target.path, query=query, accept=self.target.accept)

    def _open_watch(self, query: Mapping[str, str]) -> contextlib.AbstractAsyncContextManager[AsyncIterator[bytes]]:
        return self._client.stream(self.target.path, query=query, accept=self.target.accept)

    def _listed(self, listed: Listed) -> None:
        change = self._inventory.replace_scope(self.target.scope, [self._prepare(raw) for raw in listed.items])
        self.lists += 1
        log.info(
            "listed",
            kind=self.target.kind,
            scope=self.target.scope or "*",
            count=len(listed.items),
            version=listed.version,
        )
        self._on_change(Change.SPEC if change is Change.NONE and self.lists == 1 else change)

    def _changed(self, changed: Changed) -> None:
        obj = self._prepare(changed.object)
        change = self._inventory.delete(obj) if changed.type == "DELETED" else self._inventory.upsert(obj)
        self._on_change(change)

    def _restarting(self, restart: Restarting) -> None:
        self._metrics.watch_restarts.labels(restart.cause).inc()
        if restart.cause == "expired":
            log.info("watch_expired", kind=self.target.kind)
        elif restart.cause == "inactivity":
            log.warning("watch_inactive", kind=self.target.kind, seconds=self._policy.inactivity_seconds)
        else:
            log.warning(
                "watch_failed",
                kind=self.target.kind,
                error=str(restart.error),
                retry_in=round(restart.delay_seconds, 3),
            )

    async def run(self) -> None:
        """List, watch, resume; re-list on 410; back off on errors. Kept small on purpose (K3)."""
        events = list_then_watch(
            list_page=self._list_page,
            open_watch=self._open_watch,
            query=self._query(),
            policy=self._policy,
            rng=self._rng,
        )
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, Listed):
                    self._listed(event)
                elif isinstance(event, Changed):
                    self._changed(event)
                else:
                    self._restarting(event)
