"""Limits on what one client may make the gateway hold: JSON nesting, echoed text, request-body bytes in flight.

Pure accounting, no I/O: the request path asks these objects and answers with the error they imply
(``docs/gateway.md``, "Limits", lists each limit, its flag and what a client sees).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_ECHO_CHARS", "MAX_JSON_DEPTH", "BodyBudget", "echo", "json_depth_exceeds"]

MAX_JSON_DEPTH = 128
"""Deepest nesting a request body may have (the body object itself is level 1). orjson parses up to 1024
levels but encodes only up to 254, and the upstream body is re-encoded (the bridge nests a few levels
more); real requests, JSON schemas of tools included, stay far below 128."""

MAX_ECHO_CHARS = 128
"""Characters of a client-supplied value (a model name, a type) quoted back in an error message."""

_CONTAINERS = (dict, list)


def json_depth_exceeds(value: object, limit: int = MAX_JSON_DEPTH, *, brackets: int | None = None) -> bool:
    """Whether parsed JSON ``value`` nests deeper than ``limit``. ``brackets`` (the count of ``[`` and ``{``
    in the raw text) short-cuts the walk: fewer containers than the limit cannot nest that deep."""
    if brackets is not None and brackets <= limit:
        return False
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = []
    if isinstance(value, dict | list):
        stack.append((value, 1))
    pop = stack.pop
    push = stack.append
    while stack:
        current, depth = pop()
        if depth > limit:
            return True
        for child in current.values() if isinstance(current, dict) else current:
            if type(child) in _CONTAINERS:
                push((child, depth + 1))
    return False


def echo(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """A client-supplied value for an error message, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more chars]"


@dataclass(slots=True)
class BodyBudget:
    """Request-body bytes all requests of this process may hold at once.

    A request reserves its declared (``Content-Length``) or received size before the bytes are read; one
    that does not fit is refused (503, ``Retry-After``) instead of pushing the process towards its memory
    limit. A single request may always use the whole budget when nothing else holds any."""

    limit: int
    on_change: Callable[[int], None] = lambda _held: None
    """Called with the bytes held after every change (the in-flight gauge)."""
    held: int = 0
    peak: int = field(default=0)

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes if they fit (or if nothing else is held); False = refuse the request."""
        if self.held and self.held + size > self.limit:
            return False
        self.held += size
        self.peak = max(self.peak, self.held)
        self.on_change(self.held)
        return True

    def release(self, size: int) -> None:
        self.held = max(0, self.held - size)
        self.on_change(self.held)
