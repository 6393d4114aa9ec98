"""RequestContext: what one request learned on its way (alias, backend, timings, tokens, recovery).

The middleware creates it, handlers fill it in, and the middleware turns it into metrics and the
one ``request_completed`` log line when the request ends. It never holds a body or a header.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.client_keys import KeyGrant
from gateway.metrics import UNKNOWN_ALIAS

__all__ = ["RequestContext"]


@dataclass(slots=True)
class RequestContext:
    request_id: str
    started: float
    endpoint: str = ""
    """``chat`` or ``responses`` for the model endpoints (only those are counted per alias)."""
    alias: str = UNKNOWN_ALIAS
    """Alias label: the requested alias when it is in the table, else ``_unknown``."""
    served_alias: str | None = None
    """The alias that answered (differs from ``alias`` after a fallback)."""
    mode: str = ""
    stream: bool = False
    backend: str = ""
    grant: KeyGrant | None = None
    upstream_seconds: float = 0.0
    """Time spent awaiting the upstream (connect, headers, body reads); overhead = total minus this."""
    first_token_at: float | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    recovery_source: str | None = None
    unrecoverable: bool = False
    input_normalized: bool = False
    disconnected: bool = False
    status: int = 0
    error_code: str | None = None
