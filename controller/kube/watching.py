"""List, then watch, one collection into an :class:`~controller.inventory.Inventory` (hands off to the reconciler).

The watch asks for bookmarks and is restarted when silent longer than the inactivity timeout (the API
sends a bookmark about every minute, so silence means a dead stream). A ``410 Gone`` (as an ``ERROR``
event or an HTTP status) means the resourceVersion fell out of the server's history: re-list, which
replaces the inventory's scope wholesale, then watch from the list's version. Errors back off with full
jitter. Each change is reported with ``on_change`` so the reconciler can debounce.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import structlog

from controller.inventory import Change, Inventory
from controller.kube.client import KubeApiError, KubeClient
from controller.metrics import ControllerMetrics

__all__ = ["GoneError", "InactiveError", "WatchTarget", "Watcher", "iter_lines"]

log = structlog.get_logger("controller.watching")


class GoneError(Exception):
    """The watch's resourceVersion is too old (410): a fresh list is needed."""


class InactiveError(Exception):
    """Nothing arrived within the inactivity timeout: the stream is presumed dead."""


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


async def iter_lines(response: aiohttp.ClientResponse, *, inactivity_seconds: float) -> AsyncIterator[bytes]:
    """Newline-delimited lines of a chunked body, of any length; raises InactiveError on silence."""
    buffer = b""
    chunks = response.content.iter_any().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), timeout=inactivity_seconds)
        except StopAsyncIteration:
            if buffer.strip():
                yield buffer
            return
        except TimeoutError:
            raise InactiveError from None
        buffer += chunk
        while True:
            index = buffer.find(b"\n")
            if index < 0:
                break
            line, buffer = buffer[:index], buffer[index + 1 :]
            if line.strip():
                yield line


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
        self._inactivity = inactivity_seconds
        self._watch_timeout = watch_timeout_seconds
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self._page_size = page_size
        self._rng = rng or random.Random()  # jitter, not security
        self.resource_version: str | None = None
        self.lists = 0

    def _query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.target.label_selector:
            query["labelSelector"] = self.target.label_selector
        if self.target.field_selector:
            query["fieldSelector"] = self.target.field_selector
        return query

    def _prepare(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self.target.strip(raw) if self.target.strip is not None else raw

    async def relist(self) -> str:
        """A full (paginated) list; replaces the scope in the inventory and returns the list's version."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        version = ""
        while True:
            query = self._query() | {"limit": self._page_size}
            if token:
                query["continue"] = token
            page = await self._client.request("GET", self.target.path, query=query, accept=self.target.accept)
            for raw in page.get("items") or []:
                if isinstance(raw, dict):
                    raw.setdefault("kind", self.target.kind)
                    items.append(self._prepare(raw))
            meta = page.get("metadata") or {}
            version = str(meta.get("resourceVersion") or version)
            token = meta.get("continue") or None
            if not token:
                break
        change = self._inventory.replace_scope(self.target.scope, items)
        self.lists += 1
        log.info("listed", kind=self.target.kind, scope=self.target.scope or "*", count=len(items), version=version)
        self._on_change(Change.SPEC if change is Change.NONE and self.lists == 1 else change)
        return version

    def _apply(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, dict):
            return
        if kind == "ERROR":
            code = int(obj.get("code") or 0)
            if code == 410:
                raise GoneError
            raise KubeApiError(code, str(obj.get("reason") or "WatchError"), str(obj.get("message") or ""))
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = str(version)
        if kind == "BOOKMARK":
            return
        obj.setdefault("kind", self.target.kind)
        obj = self._prepare(obj)
        if kind in {"ADDED", "MODIFIED"}:
            change = self._inventory.upsert(obj)
        elif kind == "DELETED":
            change = self._inventory.delete(obj)
        else:
            return
        self._on_change(change)

    async def watch_once(self, version: str) -> None:
        """One watch request from ``version`` until the server ends it (timeoutSeconds) or it fails."""
        self.resource_version = version
        query = self._query() | {
            "watch": "true",
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": self._watch_timeout,
        }
        try:
            async with self._client.stream(self.target.path, query=query, accept=self.target.accept) as response:
                async for line in iter_lines(response, inactivity_seconds=self._inactivity):
                    try:
                        event = orjson.loads(line)
                    except ValueError:
                        log.warning("watch_bad_line", kind=self.target.kind)
                        continue
                    if isinstance(event, dict):
                        self._apply(event)
        except KubeApiError as exc:
            if exc.status == 410:
                raise GoneError from exc
            raise
        except (aiohttp.ClientError, OSError) as exc:
            raise KubeApiError(0, type(exc).__name__, str(exc)) from exc

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._backoff_max, self._backoff_base * (2**attempt))
        return self._rng.uniform(ceiling / 2, ceiling)

    async def run(self) -> None:
        """List, watch, resume; re-list on 410; back off on errors. Kept small on purpose (K3)."""
        version: str | None = None
        failures = 0
        while True:
            try:
                if version is None:
                    version = await self.relist()
                await self.watch_once(version)
                version = self.resource_version or version
                failures = 0
            except GoneError:
                self._metrics.watch_restarts.labels("expired").inc()
                log.info("watch_expired", kind=self.target.kind, version=version)
                version = None
            except InactiveError:
                self._metrics.watch_restarts.labels("inactivity").inc()
                log.warning("watch_inactive", kind=self.target.kind, seconds=self._inactivity)
                version = self.resource_version or version
            except (KubeApiError, ValueError) as exc:
                self._metrics.watch_restarts.labels("error").inc()
                delay = self._backoff(failures)
                failures += 1
                log.warning("watch_failed", kind=self.target.kind, error=str(exc), retry_in=round(delay, 3))
                if version is not None:
                    version = self.resource_version or version
                await asyncio.sleep(delay)
