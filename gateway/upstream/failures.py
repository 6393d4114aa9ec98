"""UpstreamFailure: one failed upstream attempt, carrying the client's error and whether a retry may help.

Raised by `client`, `reading` and the handlers' attempts; `failover` decides from `retryable` whether to try
again or fall back. Callers only retry before a byte reached their client.
"""

from __future__ import annotations

from gateway.bridge import errors as bridge_errors
from gateway.errors import GatewayError, UpstreamError
from gateway.upstream.relayed_errors import relayable

__all__ = ["UpstreamFailure", "error_from_chat_error", "failure_from_chat_error", "is_retryable_status"]


def is_retryable_status(status: int) -> bool:
    """429 and 5xx may succeed on another try; other 4xx will not."""
    return status == 429 or status >= 500


class UpstreamFailure(Exception):
    """One failed attempt, with the error the client would get if nothing else works."""

    def __init__(self, error: GatewayError, *, retryable: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.retryable = retryable


def error_from_chat_error(error: bridge_errors.ChatError) -> UpstreamError:
    error = relayable(error)
    return UpstreamError(
        error.message,
        status=error.status,
        error_type=error.type,
        param=error.param,
        code=error.code,
        retry_after=error.retry_after,
    )


def failure_from_chat_error(error: bridge_errors.ChatError) -> UpstreamFailure:
    return UpstreamFailure(error_from_chat_error(error), retryable=is_retryable_status(error.status))
