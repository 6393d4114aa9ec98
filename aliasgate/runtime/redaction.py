"""Log-event safety: the structlog processors that keep secrets, bodies and unbounded text out of log lines.

Used by both processes' logging pipelines (JSON and console alike), for structlog events and for
stdlib records (aiohttp, asyncio) the same way:

- :func:`render_exception` turns ``exc_info`` into a plain ``exception`` string: the traceback's
  file/line/function lines and the exception's own message, **never frame locals** (structlog's
  ``dict_tracebacks`` and Rich's console tracebacks print every local variable: request bodies,
  presented keys, token state), capped at :data:`MAX_EXCEPTION_CHARS`.
- :func:`redact_event` walks every value at any depth: a key named like a credential
  (``authorization``, ``api_key``, ``*_token``, ``password``, ``secret`` …) has its value replaced,
  credential-looking text (``Bearer …``, ``sk-…``, JWTs, ``api_key=…``) is masked, and the whole
  event is held to a character budget (:data:`MAX_EVENT_CHARS`), so one log line stays small however
  big or deep the logged value was.

Pure functions over plain data: no I/O, no configuration; the caller assembles the pipeline.
"""

from __future__ import annotations

import functools
import re
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from types import TracebackType
from typing import Any

__all__ = [
    "MAX_EVENT_CHARS",
    "MAX_EXCEPTION_CHARS",
    "REDACTED",
    "is_secret_key",
    "mask_credentials",
    "redact_event",
    "redact_value",
    "render_exception",
]

REDACTED = "[redacted]"
MAX_EVENT_CHARS = 16 * 1024
"""Characters of field values one log event may carry; what is over is cut with a note saying how much."""
MAX_FIELD_CHARS = 4 * 1024
"""Characters of one string value."""
MAX_EXCEPTION_CHARS = 8 * 1024
"""Characters of a rendered exception (head and tail kept: the tail names the error)."""
MAX_ITEMS = 64
"""Items of one list or mapping."""
MAX_DEPTH = 12
"""Nesting levels walked; deeper values become a note."""

_SECRET_NAMES = frozenset(
    {
        "authorization",
        "proxyauthorization",
        "apikey",
        "token",
        "password",
        "passwd",
        "secret",
        "clientsecret",
        "cookie",
        "setcookie",
        "bearer",
        "privatekey",
        "credential",
    }
)
_SECRET_SUFFIXES = ("token", "apikey", "password", "secret")
_MASKS = (
    # `Bearer <token>` / `Basic <creds>` wherever it appears (headers echoed into messages).
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s\"',;]+"), r"\1\2" + REDACTED),
    # key=value / "key": "value" / key: value for credential-named keys.
    (
        re.compile(
            r"(?i)\b((?:api[-_]?key|access[-_]?token|refresh[-_]?token|id[-_]?token|client[-_]?secret|"
            r"password|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}&]+"
        ),
        r"\1" + REDACTED,
    ),
    # OpenAI-style keys (sk-…, sk-proj-…) and JWTs (three base64url parts, the first a JSON header).
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]*"), REDACTED),
)
_MIN_MASKABLE = 12
"""Shorter strings cannot hold a credential these patterns recognise; skipping them keeps the hot path cheap."""


def _maybe_masked(text: str) -> bool:
    """False only where none of :data:`_MASKS` can match: each pattern contains one of these words, compared
    without case. Exact for ASCII text (non-ASCII text, where Unicode case rules apply, is always masked).
    The gateway logs a line per request, and four substitutions per value were a tenth of its CPU."""
    if not text.isascii():
        return True
    lower = text.lower()
    return (
        "bearer" in lower
        or "basic" in lower
        or "key" in lower
        or "token" in lower
        or "secret" in lower
        or "password" in lower
        or "authorization" in lower
        or "sk-" in lower
        or "eyj" in lower
    )


@functools.lru_cache(maxsize=1024)
def is_secret_key(name: str) -> bool:
    """Whether a field named ``name`` holds a credential (``apiKey``, ``api-key``, ``refresh_token`` …).

    Cached: log events use the same few field names over and over."""
    normal = name.lower().replace("_", "").replace("-", "")
    return normal in _SECRET_NAMES or normal.endswith(_SECRET_SUFFIXES)


def mask_credentials(text: str) -> str:
    """``text`` with credential-looking substrings replaced by ``[redacted]``."""
    if len(text) < _MIN_MASKABLE or not _maybe_masked(text):
        return text
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more chars]"


class _Budget:
    """Characters still allowed in one event."""

    __slots__ = ("left",)

    def __init__(self, chars: int) -> None:
        self.left = chars

    def text(self, value: str) -> str:
        size = len(value)
        if size < _MIN_MASKABLE and size <= self.left:  # the common short value: nothing to mask or cut
            self.left -= size
            return value
        if self.left <= 0:
            return f"[{size} chars dropped: log event too large]"
        limit = min(MAX_FIELD_CHARS, self.left)
        self.left -= min(size, limit)
        return _cut(mask_credentials(value), limit)


_SCALARS = frozenset({bool, int, float})


def _walk(value: object, budget: _Budget, depth: int) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return budget.text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"  # raw bytes are bodies or buffers: never logged
    if depth >= MAX_DEPTH:
        return "[nested too deep]"
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more items"
                break
            name = budget.text(str(key))
            out[name] = REDACTED if is_secret_key(name) else _walk(item, budget, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items: list[object] = []
        for index, item in enumerate(value):
            if index >= MAX_ITEMS:
                items.append(f"… {len(value) - MAX_ITEMS} more items")
                break
            items.append(_walk(item, budget, depth + 1))
        return items
    return budget.text(str(value))


def redact_value(value: object, *, budget_chars: int = MAX_EVENT_CHARS) -> object:
    """``value`` as plain JSON-able data with credentials masked and size bounded (see the module doc)."""
    return _walk(value, _Budget(budget_chars), 0)


def redact_event(_: object, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: every field of the event through :func:`redact_value`, sharing one budget."""
    budget = _Budget(MAX_EVENT_CHARS)
    for key in list(event_dict):
        if key.startswith("_"):
            continue  # ProcessorFormatter's private fields (_record, _from_structlog) are removed later
        value = event_dict[key]
        if is_secret_key(key):
            event_dict[key] = REDACTED
        elif value is None or type(value) in _SCALARS:
            continue  # numbers, booleans and None pass as they are
        elif key == "exception" and isinstance(value, str):
            event_dict[key] = _cap_exception(mask_credentials(value))  # its own, larger cap (see below)
        elif type(value) is str:
            event_dict[key] = budget.text(value)  # what _walk does with a string, one call sooner
        else:
            event_dict[key] = _walk(value, budget, 1)
    return event_dict


_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _exc_info(value: object) -> _ExcInfo | None:
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return (type(value[1]), value[1], value[2])
    if value is True:
        current = sys.exc_info()
        if current[1] is not None:
            return (type(current[1]), current[1], current[2])
    return None


def _format(info: _ExcInfo) -> str:
    # traceback.format_exception shows file, line, function and source line per frame, and the
    # exception's message (with __cause__/__context__ chains); it never shows local variables.
    return "".join(traceback.format_exception(info[0], info[1], info[2])).rstrip("\n")


def _cap_exception(text: str) -> str:
    if len(text) <= MAX_EXCEPTION_CHARS:
        return text
    head = MAX_EXCEPTION_CHARS // 4
    tail = MAX_EXCEPTION_CHARS - head
    return f"{text[:head]}\n…[{len(text) - head - tail} chars of traceback cut]…\n{text[-tail:]}"


def render_exception(_: object, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: ``exc_info`` (True, a tuple, an exception) → a capped ``exception`` string without
    locals. Replaces ``dict_tracebacks``/``format_exc_info`` and the console renderer's own formatting."""
    raw = event_dict.pop("exc_info", None)
    if raw is None or raw is False:
        return event_dict
    info = _exc_info(raw)
    if info is None:
        return event_dict
    try:
        text = _format(info)
    except Exception as exc:  # a broken __str__ must not take the log line (or the request) down
        text = f"{info[0].__name__} (traceback unavailable: {type(exc).__name__})"
    event_dict["exception"] = _cap_exception(mask_credentials(text))
    return event_dict
