"""Server-sent events codec: an incremental decoder for upstream bodies and the frame encoder for chat streams.

Pure (no I/O). `SSEDecoder` owns the byte buffer between reads, so callers feed whatever chunks the transport
hands them; `gateway.bridge` turns the decoded events into chat chunks, which come back here to be encoded.
Parsing follows the WHATWG event-stream rules: lines end in `\\n`, `\\r\\n` or `\\r`; `:` starts a comment;
`data:` lines of one event are joined with `\\n`; `id:` persists as the last event id; `retry:` is accepted and
ignored (we never reconnect); an event without any `data:` line is not dispatched; a leading BOM is skipped.
"""

from __future__ import annotations

from typing import NamedTuple

import orjson

__all__ = [
    "DONE_FRAME",
    "KEEPALIVE_FRAME",
    "SSEDecoder",
    "SSEEvent",
    "encode_event",
    "encode_json_frame",
]

DONE_FRAME = b"data: [DONE]\n\n"
"""The terminator OpenAI-compatible chat streams end with."""

KEEPALIVE_FRAME = b": keepalive\n\n"
"""A comment frame: clients ignore it; it keeps idle proxies from closing long reasoning gaps."""

_BOM = "\ufeff"


class SSEEvent(NamedTuple):
    """One dispatched event. `event` is None when the frame had no `event:` line (data-only framing).

    A named tuple, not a frozen dataclass: one is made per upstream event, and a frozen dataclass's
    ``__init__`` (one ``object.__setattr__`` per field) cost more than decoding the event."""

    event: str | None
    data: str
    id: str | None = None


class SSEDecoder:
    """Incremental bytes → `SSEEvent` decoder; chunks may be split anywhere, even inside a `\\r\\n` pair."""

    __slots__ = ("_buf", "_data", "_event", "_last_id", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._last_id: str | None = None
        self._started = False
        self._skip_lf = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume `chunk` and return the events it completed (possibly none)."""
        if self._skip_lf and chunk:
            # The previous chunk ended in \r, already counted as a line end: a \n now completes that \r\n.
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            self._skip_lf = buf[-1:] == b"\r"
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = buf.rfind(b"\n")
        if cut < 0:
            self._buf = buf
            return []
        self._buf = buf[cut + 1 :]
        return self._lines(buf[:cut])

    def close(self) -> list[SSEEvent]:
        """Flush at EOF: a final line without terminator and an event without its blank line still count."""
        rest = self._buf
        self._buf = b""
        events: list[SSEEvent] = []
        if rest:
            events = self._lines(rest)
        if self._data:
            events.append(self._dispatch())
        self._event = None
        return events

    def _lines(self, block: bytes) -> list[SSEEvent]:
        text = block.decode("utf-8", "replace")
        if not self._started:
            self._started = True
            if text.startswith(_BOM):
                text = text[1:]
        if not self._data and self._event is None and text.endswith("\n"):
            simple = self._simple_events(text[:-1])
            if simple is not None:
                return simple
        events: list[SSEEvent] = []
        data = self._data
        for line in text.split("\n"):
            if not line:
                if data:
                    events.append(self._dispatch())
                    data = self._data
                else:
                    self._event = None
                continue
            first = line[0]
            if first == "d" and line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value[:1] == " " else value)
                continue
            if first == "e" and line.startswith("event:"):
                value = line[6:]
                self._event = value[1:] if value[:1] == " " else value
                continue
            if first == ":":
                continue
            colon = line.find(":")
            if colon < 0:
                field, value = line, ""
            else:
                field, value = line[:colon], line[colon + 1 :]
                if value[:1] == " ":
                    value = value[1:]
            if field == "event":
                self._event = value
            elif field == "data":
                data.append(value)
            elif field == "id" and "\0" not in value:
                self._last_id = value or None
            # "retry" and unknown fields are ignored: we never reconnect upstream streams.
        return events

    def _simple_events(self, text: str) -> list[SSEEvent] | None:
        """The events of a block made only of whole ``[event: NAME\n]data: VALUE`` events (what upstreams send,
        one or a few per read), decoded without walking its lines; None for anything else, which the line walk
        below then decodes. Only called with no event open, for a block that ends with its blank line, so both
        ways give the same events."""
        events: list[SSEEvent] = []
        last_id = self._last_id
        for part in text.split("\n\n"):
            if part.startswith("data: "):
                if "\n" in part:
                    return None
                events.append(SSEEvent(None, part[6:], last_id))
            elif part.startswith("event: "):
                newline = part.find("\n")
                if newline < 0 or not part.startswith("data: ", newline + 1) or "\n" in part[newline + 1 :]:
                    return None
                events.append(SSEEvent(part[7:newline], part[newline + 7 :], last_id))
            else:
                return None
        return events

    def _dispatch(self) -> SSEEvent:
        data = self._data
        event = SSEEvent(self._event, data[0] if len(data) == 1 else "\n".join(data), self._last_id)
        self._data = []
        self._event = None
        return event


def encode_json_frame(obj: object) -> bytes:
    """One `data:` frame carrying compact JSON (orjson never emits raw newlines, so one line is always enough)."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def encode_event(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    """Generic frame; a multi-line `data` becomes several `data:` lines so it cannot inject another event."""
    parts: list[str] = []
    if event is not None:
        parts.append(f"event: {_one_line(event)}\n")
    if id is not None:
        parts.append(f"id: {_one_line(id)}\n")
    for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode()


def _one_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")
