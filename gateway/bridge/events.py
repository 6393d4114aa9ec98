"""Upstream SSE events → the event dicts the bridge consumes.

The Responses stream switches on the JSON `type`, never on the SSE `event:` line (vector 02 has none). A
trailing `data: [DONE]` (some proxies add one), a non-object payload or invalid JSON is skipped: like an
unknown event type, it cannot carry anything the chat caller needs, and a truncated stream is caught by the
missing terminal event instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from gateway.sse import SSEDecoder, SSEEvent

__all__ = ["decode_events", "parse_event_data", "parse_events"]


def parse_event_data(data: str) -> dict[str, Any] | None:
    """One SSE `data` payload → event dict, or None for `[DONE]` and garbage."""
    if not data or data == "[DONE]":
        return None
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def parse_events(events: Iterable[SSEEvent]) -> list[dict[str, Any]]:
    """Decoded SSE events → event dicts (skipping what `parse_event_data` skips)."""
    parsed = []
    for event in events:
        found = parse_event_data(event.data)
        if found is not None:
            parsed.append(found)
    return parsed


def decode_events(body: bytes) -> list[dict[str, Any]]:
    """A whole upstream SSE body (e.g. codex answering a forced stream for a non-stream caller) → event dicts."""
    decoder = SSEDecoder()
    return parse_events(decoder.feed(body) + decoder.close())
