"""What goes on the wire: SSE and ``data:`` frames, JSON bodies, the OpenAI and codex error shapes, and
the markers a script uses to ask for a fault (cut, stall, think, garbage) instead of an event."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

import orjson
from aiohttp import web

__all__ = [
    "CUT",
    "GARBAGE",
    "GARBAGE_FRAME",
    "JSON_CONTENT_TYPE",
    "SSE_HEADERS",
    "STALL",
    "THINK",
    "Encoder",
    "Step",
    "codex_error",
    "data_frame",
    "json_response",
    "openai_error",
    "openai_error_body",
    "simulated_status",
    "sse_frame",
]

SSE_HEADERS: Final = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
JSON_CONTENT_TYPE: Final = "application/json"

CUT: Final = "cut"
STALL: Final = "stall"
THINK: Final = "think"
GARBAGE: Final = "garbage"
GARBAGE_FRAME: Final = b"data: {this is not json\n\n"

Step = dict[str, Any] | str
"""An event dict to encode, or one of the markers ``CUT``, ``STALL``, ``THINK``, ``GARBAGE``."""
Encoder = Callable[[dict[str, Any]], bytes]


def json_response(payload: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type=JSON_CONTENT_TYPE, headers=headers)


_ERROR_TYPES: Final = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    409: ("conflict", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def openai_error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> Any:
    """The OpenAI error envelope for ``status``."""
    error_type, default_code = _ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": error_type, "param": param, "code": code or default_code}}


def openai_error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> web.Response:
    headers = {"Retry-After": "1"} if status == 429 else None
    return json_response(openai_error_body(status, message, param=param, code=code), status=status, headers=headers)


def codex_error(status: int, detail: str) -> web.Response:
    """The codex backend's error shape: ``{"detail": ...}``, not the OpenAI envelope."""
    return json_response({"detail": detail}, status=status)


def simulated_status(status: int) -> web.Response:
    """The answer to ``#status:NNN``: an OpenAI error with the wording the real API uses for common codes."""
    messages = {
        429: "Rate limit reached for requests (simulated). Please try again in 1s.",
        500: "The server had an error while processing your request. Sorry about that! (simulated)",
        503: "The engine is currently overloaded, please try again later. (simulated)",
    }
    return openai_error(status, messages.get(status, f"Simulated upstream error {status}."))


@functools.cache
def _event_prefix(event_type: str) -> bytes:
    return b"event: " + event_type.encode() + b"\ndata: "


def sse_frame(event: dict[str, Any]) -> bytes:
    """A Responses event as a named SSE frame (``event:`` line, then ``data:``)."""
    return _event_prefix(event["type"]) + orjson.dumps(event) + b"\n\n"


def data_frame(chunk: dict[str, Any]) -> bytes:
    """A Chat Completions chunk as an unnamed ``data:`` frame."""
    return b"data: " + orjson.dumps(chunk) + b"\n\n"
