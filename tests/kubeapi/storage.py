"""In-memory object storage: one global resourceVersion counter, per-resource buckets, watch fan-out.

Stored objects are never mutated after they are committed: every write stores a new dict. That lets a
list return references, and a watch event share its object (and its serialized line) between all
watchers, so fan-out costs one queue append per watcher and nothing is copied. Each bucket keeps a
bounded history of events; a watch may resume from any resourceVersion at or above the bucket's
``floor`` (older ones are answered with ``410 Gone``, like a compacted watch cache).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import orjson

Json = dict[str, Any]
Matcher = Callable[[Json], bool]

FIRST_RESOURCE_VERSION = 1000
"""Counter start: far from ``"0"``, which means "any version" in list and watch requests."""


@dataclasses.dataclass(slots=True, eq=False)
class WatchEvent:
    """One committed change; ``old`` is the previous object (for selector transitions)."""

    type: str
    obj: Json
    old: Json | None
    rv: int
    _lines: dict[tuple[str, str], bytes] = dataclasses.field(default_factory=dict)
    _departure: WatchEvent | None = None

    def departure(self) -> WatchEvent:
        """What a watcher whose selector the object stopped matching receives: DELETED carrying the
        previous object (the last state it saw) at this event's resourceVersion, as a real server sends."""
        if self._departure is None:
            assert self.old is not None
            old = {**self.old, "metadata": {**self.old["metadata"], "resourceVersion": str(self.rv)}}
            self._departure = WatchEvent("DELETED", old, None, self.rv)
        return self._departure

    def line(self, type_: str, api_version: str, render: Callable[[Json], Json] | None = None) -> bytes:
        """The JSON line sent to watchers, built once per (type, apiVersion) and shared by all of them."""
        key = (type_, api_version)
        cached = self._lines.get(key)
        if cached is None:
            obj = self.obj if render is None else render(self.obj)
            cached = orjson.dumps({"type": type_, "object": obj}) + b"\n"
            self._lines[key] = cached
        return cached


WATCH_BUFFER = 100_000
"""Events queued for one watcher before the server gives up on it (a real server also ends the watches of
clients that do not keep up; they resume from the last resourceVersion they saw)."""


class Watcher:
    """One open watch: a filter and a queue; ``None`` in the queue ends the stream."""

    __slots__ = ("buffer", "closed", "matches", "queue")

    def __init__(self, matches: Matcher, buffer: int = WATCH_BUFFER) -> None:
        self.matches = matches
        self.queue: asyncio.Queue[tuple[str, WatchEvent] | None] = asyncio.Queue()
        self.closed = False
        self.buffer = buffer

    def offer(self, event: WatchEvent) -> None:
        """Queue the event as this watcher sees it: a selector transition turns MODIFIED into ADDED/DELETED."""
        if self.closed:
            return
        if self.queue.qsize() >= self.buffer:
            self.close()
            return
        if event.type == "MODIFIED" and event.old is not None:
            was, now = self.matches(event.old), self.matches(event.obj)
            if was and now:
                self.queue.put_nowait(("MODIFIED", event))
            elif now:
                self.queue.put_nowait(("ADDED", event))
            elif was:
                self.queue.put_nowait(("DELETED", event.departure()))
        elif self.matches(event.obj):
            self.queue.put_nowait((event.type, event))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class Bucket:
    """All objects of one resource (all versions), their recent events and their watchers."""

    __slots__ = ("floor", "history", "objects", "watchers")

    def __init__(self, history_size: int) -> None:
        self.objects: dict[str, dict[str, Json]] = {}
        """namespace ("" for cluster-scoped) -> name -> object."""
        self.history: collections.deque[WatchEvent] = collections.deque(maxlen=history_size)
        self.floor = 0
        """Every event with a resourceVersion above this is still in ``history``."""
        self.watchers: set[Watcher] = set()

    def get(self, namespace: str, name: str) -> Json | None:
        by_name = self.objects.get(namespace)
        return None if by_name is None else by_name.get(name)

    def iter(self, namespace: str | None) -> Iterator[Json]:
        if namespace is None:
            for by_name in self.objects.values():
                yield from by_name.values()
        else:
            yield from self.objects.get(namespace, {}).values()

    def count(self) -> int:
        return sum(len(by_name) for by_name in self.objects.values())


class Store:
    """The buckets plus the global resourceVersion counter."""

    def __init__(self, *, history_size: int = 1000, watch_buffer: int = WATCH_BUFFER) -> None:
        self.history_size = history_size
        self.watch_buffer = watch_buffer
        self.rv = FIRST_RESOURCE_VERSION
        self._buckets: dict[str, Bucket] = {}

    def bucket(self, key: str) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.history_size)
        return bucket

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def commit(self, key: str, type_: str, obj: Json, old: Json | None) -> None:
        """Store (or remove, for DELETED) ``obj`` whose resourceVersion was taken from ``next_rv``."""
        bucket = self.bucket(key)
        meta = obj["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        if type_ == "DELETED":
            by_name = bucket.objects.get(namespace)
            if by_name is not None:
                by_name.pop(name, None)
                if not by_name:
                    del bucket.objects[namespace]
        else:
            bucket.objects.setdefault(namespace, {})[name] = obj
        event = WatchEvent(type_, obj, old, int(meta["resourceVersion"]))
        if len(bucket.history) == bucket.history.maxlen:
            bucket.floor = bucket.history[0].rv
        bucket.history.append(event)
        for watcher in bucket.watchers:
            watcher.offer(event)

    def watch(self, key: str, matches: Matcher, since: int | None) -> Watcher:
        """Register a watcher; replay history after ``since`` (caller checked it against ``floor``)."""
        bucket = self.bucket(key)
        watcher = Watcher(matches, self.watch_buffer)
        if since is not None:
            for event in bucket.history:
                if event.rv > since:
                    watcher.offer(event)
        bucket.watchers.add(watcher)
        return watcher

    def unwatch(self, key: str, watcher: Watcher) -> None:
        self.bucket(key).watchers.discard(watcher)
        watcher.closed = True

    def drop_watchers(self, key: str | None = None) -> int:
        """End open watches (all, or one resource's); returns how many were ended."""
        buckets = self._buckets.values() if key is None else [self.bucket(key)]
        dropped = 0
        for bucket in buckets:
            for watcher in list(bucket.watchers):
                watcher.close()
                dropped += 1
            bucket.watchers.clear()
        return dropped

    def watcher_count(self) -> int:
        return sum(len(b.watchers) for b in self._buckets.values())

    def drop_bucket(self, key: str) -> Bucket | None:
        return self._buckets.pop(key, None)
