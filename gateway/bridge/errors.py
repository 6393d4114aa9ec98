"""Errors of the bridge: what a chat caller sees when the upstream (or its request) goes wrong (spec §4).

* `ChatError` is the value every failure becomes: HTTP status + OpenAI error envelope (+ Retry-After).
* `BridgeRequestError` is raised by request mapping for a chat request that cannot be translated (400, with
  `param` naming the offending parameter).
* `error_from_upstream_http` maps an upstream HTTP error body (OpenAI `{"error":…}`, codex `{"detail":…}`,
  codex `usage_limit_reached`, garbage) before any SSE; `error_from_event` maps in-stream `response.failed` and
  `error` events through the code → status table; `stream_truncated_error` is the 502 for an upstream EOF
  without a terminal event.

Messages never echo upstream bodies that are not a recognised error shape: an unparseable body might carry
anything, including credentials a misconfigured upstream reflects back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "BridgeRequestError",
    "ChatError",
    "error_from_event",
    "error_from_upstream_http",
    "error_type_for_status",
    "status_for_error_code",
    "stream_truncated_error",
]


@dataclass(frozen=True, slots=True)
class ChatError:
    """A failure as a chat caller receives it."""

    status: int
    """HTTP status of the answer (or the status the in-stream error frame stands for)."""
    message: str
    type: str
    param: str | None
    code: str | None
    retry_after: float | None = None
    """Seconds for a `Retry-After` header, when the upstream told us (usage limits, rate limits)."""

    def body(self) -> dict[str, Any]:
        """The OpenAI error envelope; also the payload of an in-stream `data: {"error": …}` frame."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class BridgeRequestError(Exception):
    """A chat request the bridge cannot translate; `.error` is the 400 to answer with."""

    def __init__(self, error: ChatError) -> None:
        super().__init__(error.message)
        self.error = error

    @classmethod
    def for_param(cls, param: str, message: str) -> BridgeRequestError:
        """400 `invalid_request_error` naming `param`."""
        return cls(ChatError(400, message, "invalid_request_error", param, "unsupported_parameter"))


_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_type_for_status(status: int) -> str:
    """OpenAI `error.type` for a status when the upstream did not give one (spec §4.1)."""
    if status >= 500:
        return "server_error"
    return _TYPE_BY_STATUS.get(status, "invalid_request_error")


# In-stream error codes → HTTP status (spec §4.3; LiteLLM's table plus the codex quota codes).
_STATUS_BY_CODE = {
    "server_error": 500,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "resource_unavailable": 429,
    "flex_unavailable": 429,
    "usage_limit_reached": 429,
    "usage_not_included": 429,
    "vector_store_timeout": 504,
    "invalid_prompt": 400,
    "context_length_exceeded": 400,
    "content_policy_violation": 400,
    "cyber_policy": 400,
    "model_not_found": 400,
    "invalid_base64_image": 400,
    "empty_image_file": 400,
    "failed_to_download_image": 400,
    "unsupported_image_media_type": 400,
}


def status_for_error_code(code: object) -> int:
    """HTTP status for an upstream error `code`; unknown or missing codes are 500."""
    if isinstance(code, bool):
        return 500
    if isinstance(code, int):
        return code if 400 <= code <= 599 else 500
    if not isinstance(code, str):
        return 500
    status = _STATUS_BY_CODE.get(code)
    if status is not None:
        return status
    if code.isdigit() and 400 <= int(code) <= 599:
        return int(code)
    if code.startswith("rate_limit"):
        return 429
    if code.startswith(("image_", "invalid_image")):
        return 400
    return 500


_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?)\s*(ms|s)\b", re.IGNORECASE)


def _retry_after_from_message(message: str) -> float | None:
    """Codex CLI's trick: rate-limit messages say "Please try again in 1.5s"."""
    found = _TRY_AGAIN.search(message)
    if found is None:
        return None
    value = float(found.group(1))
    return value / 1000.0 if found.group(2).lower() == "ms" else value


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _from_error_object(
    error: dict[str, Any], *, default_status: int | None, header_retry: float | None = None
) -> ChatError:
    code = _str_or_none(error.get("code"))
    upstream_type = _str_or_none(error.get("type"))
    status = default_status if default_status is not None else status_for_error_code(error.get("code"))
    if default_status is None and code is None and upstream_type is not None:
        status = status_for_error_code(upstream_type)
    message = _str_or_none(error.get("message")) or "The upstream reported an error."
    retry_after: float | None = None
    resets = error.get("resets_in_seconds")
    if isinstance(resets, int | float) and not isinstance(resets, bool) and resets >= 0:
        retry_after = float(resets)
    elif header_retry is not None:
        retry_after = header_retry
    elif status == 429:
        retry_after = _retry_after_from_message(message)
    return ChatError(
        status=status,
        message=message,
        type=upstream_type or error_type_for_status(status),
        param=_str_or_none(error.get("param")),
        code=code,
        retry_after=retry_after,
    )


def _parse_retry_after(header: str | None, *, unit: float = 1.0) -> float | None:
    """Delta-seconds form only (``unit`` 0.001 for ``retry-after-ms``): the HTTP-date form would need a clock,
    which pure code does not have (the upstream client converts one before calling here)."""
    if header is None:
        return None
    try:
        value = float(header.strip())
    except ValueError:
        return None
    return value * unit if 0 <= value < float("inf") else None


def error_from_upstream_http(
    status: int, body: bytes, *, retry_after_header: str | None = None, retry_after_ms_header: str | None = None
) -> ChatError:
    """Upstream HTTP error (before any SSE) → ChatError, keeping the upstream status (spec §4.2).

    The wait a client is told (``retry_after``) is a codex ``resets_in_seconds`` when the body has one, else
    the upstream's ``retry-after-ms`` or ``Retry-After`` header, else a 429 message's "try again in Ns"."""
    if not 400 <= status <= 599:
        status = 502
    try:
        parsed: object = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    header_retry = _parse_retry_after(retry_after_ms_header, unit=0.001)
    if header_retry is None:
        header_retry = _parse_retry_after(retry_after_header)
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict):
            return _from_error_object(error, default_status=status, header_retry=header_retry)
        detail = parsed.get("detail")
        message = _detail_message(detail)
        if message is not None:
            return ChatError(
                status=status,
                message=message,
                type="invalid_request_error" if status in (400, 422) else error_type_for_status(status),
                param=None,
                code=None,
                retry_after=header_retry,
            )
        if isinstance(error, str) and error:
            return ChatError(status, error, error_type_for_status(status), None, None, header_retry)
    return ChatError(
        status=status,
        message=f"The upstream answered HTTP {status} without a recognisable error body.",
        type=error_type_for_status(status),
        param=None,
        code=None,
        retry_after=header_retry,
    )


def _detail_message(detail: object) -> str | None:
    """FastAPI bodies: `{"detail": "text"}` or a validation list `[{"msg": …, "loc": […]}, …]`."""
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list):
        messages = [str(entry["msg"]) for entry in detail if isinstance(entry, dict) and "msg" in entry]
        if messages:
            return "; ".join(messages)
    return None


def error_from_event(event: dict[str, Any]) -> ChatError:
    """`response.failed`, `error` (flat or nested) or a bare `{"error": {…}}` frame → ChatError (spec §4.3)."""
    if event.get("type") == "response.failed":
        response = event.get("response")
        error = response.get("error") if isinstance(response, dict) else None
        if isinstance(error, dict):
            return _from_error_object(error, default_status=None)
        return ChatError(500, "The upstream response failed without details.", "server_error", None, None)
    nested = event.get("error")
    if isinstance(nested, dict):
        return _from_error_object(nested, default_status=None)
    flat = {"code": event.get("code"), "message": event.get("message"), "param": event.get("param")}
    return _from_error_object(flat, default_status=None)


def stream_truncated_error() -> ChatError:
    """Upstream EOF before `response.completed`/`incomplete`/`failed` (spec §4.4): a bad gateway, never a `stop`."""
    return ChatError(
        status=502,
        message="The upstream closed the stream before the response was complete.",
        type="server_error",
        param=None,
        code=None,
    )
