"""RequestContext: what one request learned on its way (alias, backend, timings, tokens, recovery).

The middleware creates it, handlers fill it in (through the bookkeeping methods below where there is a rule
to keep), and the middleware turns it into metrics and the one ``request_completed`` log line when the
request ends. It never holds a body or a header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.client_keys import KeyGrant
from gateway.metrics import UNKNOWN_ALIAS

if TYPE_CHECKING:
    from gateway.bridge.recovery import RecoveryOutcome
    from gateway.routing.loading import RouteTarget

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
    """Time spent awaiting the upstream (connect, headers, body reads)."""
    backoff_seconds: float = 0.0
    """Time spent waiting between retries. The gateway's own time (overhead) is the total minus this and
    ``upstream_seconds``."""
    first_token_at: float | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    recovery_source: str | None = None
    unrecoverable: bool = False
    empty_answers: list[str] = field(default_factory=list)
    """The alias of every attempt whose upstream completed with an empty output that nothing could rebuild
    (each such attempt failed as ``empty_upstream_response``); counted in ``aliasgate_bridge_unrecoverable``."""
    input_normalized: bool = False
    disconnected: bool = False
    """The client went away before the answer ended (recorded as 499)."""
    shutdown_cut: bool = False
    """The shutdown's grace ran out first: the gateway ended the answer itself (error frame, or 503)."""
    status: int = 0
    error_code: str | None = None

    def serving(self, target: RouteTarget) -> None:
        """Note which alias and backend this attempt uses (an attempt's first step, before anything can fail).

        What an earlier, failed attempt recovered is forgotten: the log and the recovery metrics describe the
        answer the client got."""
        self.served_alias = target.alias
        self.backend = target.backend.key
        self.recovery_source = None
        self.unrecoverable = False

    def record_recovery(self, outcome: RecoveryOutcome) -> None:
        """What the bridge's recovery did for this attempt's answer (read by the log line and the metrics)."""
        self.recovery_source = outcome.source or None
        self.unrecoverable = bool(outcome.unrecoverable)

    def record_empty_answer(self) -> None:
        """This attempt's upstream completed with nothing in it and nothing to rebuild it from."""
        self.empty_answers.append(self.served_alias or self.alias)

    def record_chat_usage(self, usage: dict[str, Any] | None) -> None:
        """Chat-shaped usage → ``tokens`` (prompt, completion, reasoning, cached)."""
        if not isinstance(usage, dict):
            return
        tokens = self.tokens
        for name, key in _TOKEN_FIELDS:
            value = usage.get(key)
            if isinstance(value, int):
                tokens[name] = value
        details = usage.get("completion_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
            tokens["reasoning"] = details["reasoning_tokens"]
        details = usage.get("prompt_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
            tokens["cached"] = details["cached_tokens"]


_TOKEN_FIELDS = (("prompt", "prompt_tokens"), ("completion", "completion_tokens"))
