"""Errors the gateway answers with, each mapped by class to an HTTP status and an OpenAI error envelope.

The error middleware turns any :class:`GatewayError` into ``{"error": {"message", "type", "param", "code"}}``;
it never matches on message text. The tree (status, ``error.type``, ``error.code``)::

    GatewayError                      500 server_error           internal_error
    ├── InvalidRequestError           400 invalid_request_error  invalid_request (param names the field)
    │   ├── UnsupportedParameterError 400 invalid_request_error  unsupported_parameter
    │   ├── BodyTooLargeError         413 invalid_request_error  request_too_large
    │   └── RequestTimeoutError       408 invalid_request_error  request_timeout (the body did not arrive in time)
    ├── AuthenticationError           401 authentication_error   invalid_api_key
    ├── PermissionDeniedError         403 permission_error       model_not_permitted
    ├── NotFoundError                 404 invalid_request_error  not_found
    │   ├── UnknownAliasError         404 invalid_request_error  model_not_found
    │   └── UnavailableAliasError     404 invalid_request_error  model_not_available (rejected by the controller)
    ├── MethodNotAllowedError         405 invalid_request_error  method_not_allowed
    ├── NotReadyError                 503 server_error           table_not_loaded
    ├── OverloadedError               503 server_error           server_overloaded (Retry-After: 1)
    ├── ShuttingDownError             503 server_error           server_shutting_down
    └── UpstreamError                 (status of the upstream/bridge error; type and code as mapped by the bridge,
        │                              the upstream's code passed on as it came, null included; except an
        │                              upstream 401/403: 502 upstream_authentication_failed /
        │                              upstream_permission_denied, see gateway/upstream/relayed_errors.py)
        ├── UpstreamUnavailableError  502 server_error           upstream_unavailable
        └── UpstreamTimeoutError      504 server_error           upstream_timeout

Messages never carry a secret or a list of other aliases (a rejected alias's answer names its reason, a
fixed word such as ``ModeDowngradeRejected``, never the controller's message, which can name other aliases),
and are cut to ``MAX_MESSAGE_CHARS`` (``param`` to ``MAX_PARAM_CHARS``) so no client-supplied value comes
back unbounded.
"""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.limits import echo

__all__ = [
    "MAX_MESSAGE_CHARS",
    "MAX_PARAM_CHARS",
    "AuthenticationError",
    "BodyTooLargeError",
    "GatewayError",
    "InvalidRequestError",
    "MethodNotAllowedError",
    "NotFoundError",
    "NotReadyError",
    "OverloadedError",
    "PermissionDeniedError",
    "RequestTimeoutError",
    "ShuttingDownError",
    "UnavailableAliasError",
    "UnknownAliasError",
    "UnsupportedParameterError",
    "UpstreamError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
    "alias_not_served",
    "error_body",
]


MAX_MESSAGE_CHARS = 2048
MAX_PARAM_CHARS = 256


def error_body(*, message: str, error_type: str, param: str | None, code: str | None) -> dict[str, Any]:
    """The OpenAI error envelope."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


class GatewayError(Exception):
    """Base of every error the gateway answers with; class attributes give the defaults."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    error_code: ClassVar[str | None] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        error_type: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        message = echo(message, MAX_MESSAGE_CHARS)
        super().__init__(message)
        self.message = message
        self.param = None if param is None else echo(param, MAX_PARAM_CHARS)
        self.code = code if code is not None else self.error_code
        self.http_status = status if status is not None else self.status
        self.type = error_type if error_type is not None else self.error_type
        self.retry_after = retry_after
        self.should_retry: bool | None = None
        """What ``x-should-retry`` tells SDK clients; None says nothing (set once the gateway's own retries ran)."""

    def body(self) -> dict[str, Any]:
        return error_body(message=self.message, error_type=self.type, param=self.param, code=self.code)


class InvalidRequestError(GatewayError):
    status = 400
    error_type = "invalid_request_error"
    error_code = "invalid_request"


class UnsupportedParameterError(InvalidRequestError):
    error_code = "unsupported_parameter"


class BodyTooLargeError(InvalidRequestError):
    status = 413
    error_code = "request_too_large"


class RequestTimeoutError(InvalidRequestError):
    status = 408
    error_code = "request_timeout"


class AuthenticationError(GatewayError):
    status = 401
    error_type = "authentication_error"
    error_code = "invalid_api_key"


class PermissionDeniedError(GatewayError):
    status = 403
    error_type = "permission_error"
    error_code = "model_not_permitted"


class NotFoundError(GatewayError):
    status = 404
    error_type = "invalid_request_error"
    error_code = "not_found"


class UnknownAliasError(NotFoundError):
    error_code = "model_not_found"


class UnavailableAliasError(NotFoundError):
    """The alias exists (a ModelAlias asks for it) but the controller rejected it, so nothing serves it."""

    error_code = "model_not_available"


def alias_not_served(alias: str, rejected_reason: str | None) -> NotFoundError:
    """The answer for an alias the table does not route: unknown, or known and rejected (with its reason)."""
    if rejected_reason is None:
        return UnknownAliasError(
            f"The model '{echo(alias)}' does not exist or you do not have access to it.", param="model"
        )
    return UnavailableAliasError(
        f"The model '{echo(alias)}' exists but is not available: its configuration was rejected ({rejected_reason}). "
        "The gateway's operator can see why with kubectl get modelaliases.",
        param="model",
    )


class MethodNotAllowedError(GatewayError):
    status = 405
    error_type = "invalid_request_error"
    error_code = "method_not_allowed"


class NotReadyError(GatewayError):
    status = 503
    error_code = "table_not_loaded"


class OverloadedError(GatewayError):
    """The gateway holds as much as it may (connections, request bodies): retry shortly, maybe elsewhere."""

    status = 503
    error_code = "server_overloaded"


class ShuttingDownError(GatewayError):
    """The gateway is shutting down and its grace ran out before this answer did (the client may retry)."""

    status = 503
    error_code = "server_shutting_down"


class UpstreamError(GatewayError):
    """An upstream (or bridge) error passed on with the status and type the bridge mapped.

    Its ``code`` is the upstream's: an upstream that said ``"code": null`` is passed on as null, never as a
    code of ours (docs/bridge.md, "Errors")."""

    status = 502
    error_code: ClassVar[str | None] = None


class UpstreamUnavailableError(UpstreamError):
    error_code = "upstream_unavailable"


class UpstreamTimeoutError(UpstreamError):
    status = 504
    error_code = "upstream_timeout"
