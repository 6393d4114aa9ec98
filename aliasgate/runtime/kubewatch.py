"""The one list-then-watch loop, shared by the controller's watchers and the gateway's named-object mirrors.

:func:`list_then_watch` lists a collection (paginated when a page size is given), then watches it from
the list's resourceVersion with bookmarks, and yields what a consumer needs: :class:`Listed` (the whole
collection, replacing whatever the consumer held), :class:`Changed` (one ``ADDED``/``MODIFIED``/``DELETED``
object) and :class:`Restarting` (why the stream is being reopened, and after what delay). It never ends;
cancel the consuming task (use :func:`contextlib.aclosing` so the open stream is released at once).

The policy (:class:`WatchPolicy`), written once for both planes:

- a watch asks the server to end it after ``watch_timeout_seconds`` (300); a clean end resumes at once
  from the last version seen (bookmarks included);
- silence longer than ``inactivity_seconds`` (70; the API sends a bookmark about every minute) means a
  dead stream: resume from the last version at once, no backoff, no failure reported as an API error;
- ``410 Gone`` (an HTTP status or an ``ERROR`` event) means the version left the server's history:
  list again at once. A list that itself answers 410 counts as an error (no hot loop);
- any other failure (:class:`~aliasgate.runtime.kubeerrors.KubeApiError`, ``OSError``, a malformed
  line) backs off with jitter, ``uniform(c/2, c)`` for ``c = min(5, 0.2 * 2**failures)`` seconds, then
  resumes from the last good version, so an event on a garbled line is delivered again rather than
  skipped. ``failures`` is reset by progress (a list, or an event received), not by merely connecting:
  an API that accepts and then drops every watch still sees the backoff grow.

The two planes reach the API differently (kubernetes-asyncio in the controller, plain aiohttp in the
gateway), so the loop takes two callables: ``list_page(query)`` answers one list request's JSON document
and ``open_watch(query)`` opens a watch stream as raw chunks. Both raise
:class:`~aliasgate.runtime.kubeerrors.KubeApiError` (a :class:`~aliasgate.runtime.kubeerrors.TransportError`
for transport failures). Imports neither plane nor any HTTP library.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from aliasgate.runtime.kubeerrors import GoneError, KubeApiError, api_error

__all__ = [
    "Changed",
    "InactiveError",
    "ListPage",
    "Listed",
    "OpenWatch",
    "Restarting",
    "WatchEvent",
    "WatchPolicy",
    "list_then_watch",
    "watch_lines",
]

ListPage = Callable[[Mapping[str, str]], Awaitable[Mapping[str, Any]]]
"""One list request with these query parameters; its JSON document."""
OpenWatch = Callable[[Mapping[str, str]], AbstractAsyncContextManager[AsyncIterator[bytes]]]
"""Open a watch request with these query parameters; its body as raw chunks (non-2xx raises)."""


class InactiveError(Exception):
    """Nothing arrived within the inactivity timeout: the stream is presumed dead."""


@dataclass(frozen=True, slots=True)
class WatchPolicy:
    """Timeouts and backoff of :func:`list_then_watch` (the defaults are the deployed ones)."""

    inactivity_seconds: float = 70.0
    """Silence after which a watch is presumed dead (bookmarks arrive about every 60 s)."""
    watch_timeout_seconds: int = 300
    """``timeoutSeconds`` asked of the server: a watch is renewed at least this often."""
    backoff_base_seconds: float = 0.2
    backoff_max_seconds: float = 5.0
    page_size: int | None = None
    """``limit`` of each list page; None lists in one request (a single named object)."""

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after ``failures`` consecutive failures (full jitter over the upper half)."""
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2**failures)
        return rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True, slots=True)
class Listed:
    """A fresh list: the whole collection now (replaces what the consumer held), and its version."""

    items: list[dict[str, Any]]
    version: str


@dataclass(frozen=True, slots=True)
class Changed:
    """One change delivered by the watch."""

    type: Literal["ADDED", "MODIFIED", "DELETED"]
    object: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Restarting:
    """The stream ended abnormally and is reopened after ``delay_seconds`` (0 = at once).

    ``cause``: ``expired`` (410, a re-list follows), ``inactivity`` (silence; resumes from the last
    version) or ``error`` (anything else; resumes after the backoff)."""

    cause: Literal["expired", "inactivity", "error"]
    error: Exception
    delay_seconds: float


WatchEvent = Listed | Changed | Restarting

_CHANGES: frozenset[str] = frozenset({"ADDED", "MODIFIED", "DELETED"})


async def watch_lines(chunks: AsyncIterator[bytes], *, inactivity_seconds: float) -> AsyncIterator[bytes]:
    """Newline-delimited lines of a chunked body, of any length (a table ConfigMap can be several hundred
    KiB on one line); a last line without a newline is kept. Raises :class:`InactiveError` on silence."""
    buffer = b""
    iterator = chunks.__aiter__()
    while True:
        try:
            async with asyncio.timeout(inactivity_seconds):
                chunk = await iterator.__anext__()
        except StopAsyncIteration:
            if buffer.strip():
                yield buffer
            return
        except TimeoutError:
            raise InactiveError(f"no data for {inactivity_seconds:g} s") from None
        buffer += chunk
        while (index := buffer.find(b"\n")) >= 0:
            line, buffer = buffer[:index], buffer[index + 1 :]
            if line.strip():
                yield line


async def _list_all(list_page: ListPage, query: Mapping[str, str], policy: WatchPolicy) -> Listed:
    items: list[dict[str, Any]] = []
    version = ""
    token: str | None = None
    while True:
        params = dict(query)
        if policy.page_size is not None:
            params["limit"] = str(policy.page_size)
        if token:
            params["continue"] = token
        page = await list_page(params)
        items.extend(item for item in page.get("items") or [] if isinstance(item, dict))
        meta = page.get("metadata") or {}
        version = str(meta.get("resourceVersion") or version)
        token = str(meta.get("continue") or "") or None
        if policy.page_size is None or not token:
            return Listed(items=items, version=version)


def _error_event(obj: Mapping[str, Any]) -> KubeApiError:
    code = obj.get("code")
    status = code if isinstance(code, int) and not isinstance(code, bool) else 500
    return api_error(status, str(obj.get("reason") or "WatchError"), str(obj.get("message") or ""))


async def list_then_watch(
    *,
    list_page: ListPage,
    open_watch: OpenWatch,
    query: Mapping[str, str] | None = None,
    policy: WatchPolicy | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncGenerator[WatchEvent]:
    """Mirror one collection forever (see the module docstring); ``query`` holds its selectors."""
    policy = policy if policy is not None else WatchPolicy()
    rng = rng if rng is not None else random.Random()  # jitter, not security
    base = dict(query or {})
    version: str | None = None
    failures = 0
    while True:
        restart: Restarting | None = None
        try:
            if version is None:
                try:
                    listed = await _list_all(list_page, base, policy)
                except GoneError as exc:  # a list has no version to be too old: an error, backed off
                    raise KubeApiError(exc.status, exc.reason, exc.message) from exc
                version = listed.version
                failures = 0
                yield listed
            params = base | {
                "watch": "true",
                "resourceVersion": version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": str(policy.watch_timeout_seconds),
            }
            async with open_watch(params) as chunks:
                async for line in watch_lines(chunks, inactivity_seconds=policy.inactivity_seconds):
                    event = orjson.loads(line)
                    if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
                        raise ValueError("a watch line is not an event object")
                    kind, obj = event.get("type"), event["object"]
                    if kind == "ERROR":
                        raise _error_event(obj)
                    failures = 0
                    seen = (obj.get("metadata") or {}).get("resourceVersion")
                    if seen:
                        version = str(seen)
                    if kind in _CHANGES:
                        yield Changed(type=kind, object=obj)
        except GoneError as exc:
            version = None
            restart = Restarting("expired", exc, 0.0)
        except InactiveError as exc:
            restart = Restarting("inactivity", exc, 0.0)
        except (KubeApiError, OSError, ValueError) as exc:
            restart = Restarting("error", exc, policy.backoff(failures, rng))
            failures += 1
        if restart is not None:
            yield restart
            if restart.delay_seconds > 0:
                await sleep(restart.delay_seconds)
