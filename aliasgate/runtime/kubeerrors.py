"""Kubernetes API failures as exception classes, shared by both planes' API clients.

Callers write ``except ConflictError:`` rather than testing ``exc.status == 409``. The tree::

    KubeApiError                 any non-2xx answer, or a transport failure (status 0)
     ├── TransportError          no answer at all: connection refused, reset, TLS, unreadable body
     ├── UnauthorizedError       401
     ├── ForbiddenError          403 (RBAC)
     ├── NotFoundError           404
     ├── ConflictError           409 (resourceVersion precondition failed, or already exists)
     ├── GoneError               410 (a watch's resourceVersion left the server's history: list again)
     ├── InvalidError            422
     └── TooManyRequestsError    429

:func:`api_error` picks the class for a status; :func:`error_from_body` also reads the ``Status``
document the server answered with. Messages come from that document only (the API server never echoes
a Secret's values in one), cut to 500 characters. Imports neither plane.
"""

from __future__ import annotations

import orjson

__all__ = [
    "ConflictError",
    "ForbiddenError",
    "GoneError",
    "InvalidError",
    "KubeApiError",
    "NotFoundError",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedError",
    "api_error",
    "error_from_body",
]

_MAX_MESSAGE = 500


class KubeApiError(Exception):
    """A non-2xx answer (``status``) or a transport failure (``status`` 0)."""

    def __init__(self, status: int, reason: str = "", message: str = "") -> None:
        reason = reason or type(self).__name__
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.message = message


class TransportError(KubeApiError):
    """The request got no answer (connection refused or reset, TLS, timeout, a body cut off)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(0, reason, message)


class UnauthorizedError(KubeApiError):
    """401: the token is missing, expired or not accepted."""


class ForbiddenError(KubeApiError):
    """403: RBAC does not grant this verb on this object."""


class NotFoundError(KubeApiError):
    """404: the object (or its namespace, or the resource type) does not exist."""


class ConflictError(KubeApiError):
    """409: someone wrote the object since the resourceVersion we sent, or it already exists."""


class GoneError(KubeApiError):
    """410: the resourceVersion is older than the server's history; a fresh list is needed."""


class InvalidError(KubeApiError):
    """422: the object failed validation."""


class TooManyRequestsError(KubeApiError):
    """429: API priority and fairness throttled us."""


_BY_STATUS: dict[int, type[KubeApiError]] = {
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    422: InvalidError,
    429: TooManyRequestsError,
}


def api_error(status: int, reason: str = "", message: str = "") -> KubeApiError:
    """The exception for an answer with ``status`` (a plain :class:`KubeApiError` for unlisted ones)."""
    if status == 0:
        return TransportError(reason or "TransportError", message[:_MAX_MESSAGE])
    return _BY_STATUS.get(status, KubeApiError)(status, reason, message[:_MAX_MESSAGE])


def error_from_body(status: int, body: bytes) -> KubeApiError:
    """The exception for a non-2xx answer, with ``reason`` and ``message`` from its ``Status`` document."""
    reason, message = "", ""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        reason = str(document.get("reason") or "")
        message = str(document.get("message") or "")
    return api_error(status, reason or "Error", message)
