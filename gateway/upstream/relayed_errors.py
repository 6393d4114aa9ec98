"""What of an upstream's error a client may see: a refusal of the gateway's own credential is the gateway's fault.

An upstream 401/403 (or an in-stream ``authentication_error``/``permission_error``) means the backend's
credentials Secret is wrong, expired or lacks access, not the client's key. Passed on unchanged it would
read ``401 invalid_api_key``, which tells the client its own key is wrong and sends it chasing the wrong
problem; so it becomes a ``502 server_error`` with its own code, and its text (which may quote the
credential) is not relayed at all. Pure: no I/O.
"""

from __future__ import annotations

from gateway.bridge.errors import ChatError

__all__ = ["UPSTREAM_AUTHENTICATION_FAILED", "UPSTREAM_PERMISSION_DENIED", "relayable"]

UPSTREAM_AUTHENTICATION_FAILED = "upstream_authentication_failed"
UPSTREAM_PERMISSION_DENIED = "upstream_permission_denied"

_AUTH_CODES = frozenset(
    {"invalid_api_key", "missing_api_key", "invalid_authentication", "token_expired", "token_invalidated"}
)


def relayable(error: ChatError) -> ChatError:
    """``error`` as the client gets it: credential refusals → 502 with a gateway code, anything else unchanged."""
    if error.status == 401 or error.type == "authentication_error" or error.code in _AUTH_CODES:
        code, what = UPSTREAM_AUTHENTICATION_FAILED, "did not accept the gateway's credentials for"
    elif error.status == 403 or error.type == "permission_error":
        code, what = UPSTREAM_PERMISSION_DENIED, "refused the gateway's credentials access to"
    else:
        return error
    status = f" (HTTP {error.status})" if error.status in (401, 403) else ""
    message = f"The upstream {what} this model{status}; the gateway operator must fix the backend's credentials."
    return ChatError(502, message, "server_error", None, code)
