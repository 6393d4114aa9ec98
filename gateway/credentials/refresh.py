"""OAuth token refresh coordination: which replica refreshes, decided without I/O.

OAuth refresh tokens rotate: each one is good for a single refresh, and reusing one may revoke the
whole token family. Several gateway replicas sharing one credentials Secret must therefore agree on
one refresher and then all use its result. This module is the I/O-free part of that:

- the refresh lock, an annotation on the Secret itself (``aliasgate.io/token-refresh:
  <holder>/<until RFC3339>``), and :func:`decide` (adopt the Secret's newer tokens, wait for the
  lock holder, or take the lock);
- :class:`TokenRefresher`, what the provider calls, and :class:`LocalTokenRefresher` (one process:
  read-only credentials from files or local mode). The Kubernetes implementation is
  :class:`gateway.kube.token_refresh.KubeTokenRefresher`; ``gateway/__main__.py`` picks one and
  injects it into the providers.

Reading tokens from a Secret and writing them back is :mod:`gateway.credentials.secret_format`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Literal, Protocol

from gateway.credentials.secret_format import Tokens, parse_expiry, rfc3339

__all__ = [
    "LOCK_ANNOTATION",
    "Decision",
    "LocalTokenRefresher",
    "Mint",
    "RefreshLock",
    "RefreshOutcome",
    "RefreshResult",
    "TokenRefresher",
    "decide",
    "expiring",
    "format_lock",
    "parse_lock",
]

LOCK_ANNOTATION = "aliasgate.io/token-refresh"

RefreshResult = Literal["refreshed", "adopted", "failed", "writeback_failed"]
"""Label values of ``aliasgate_token_refreshes_total{result}``."""


def expiring(tokens: Tokens, *, now: float, margin_seconds: float) -> bool:
    """True when these tokens are due for a refresh (expiry known and within the margin)."""
    return tokens.expires_at is not None and tokens.expires_at - margin_seconds <= now


@dataclass(frozen=True, slots=True)
class RefreshLock:
    """Who refreshes a Secret's tokens, and until when the claim holds (after that anyone may take over)."""

    holder: str
    until: float


def format_lock(lock: RefreshLock) -> str:
    return f"{lock.holder}/{rfc3339(lock.until)}"


def parse_lock(value: str | None) -> RefreshLock | None:
    """The lock annotation's value; a malformed one counts as no lock (it protects nothing)."""
    if not value or "/" not in value:
        return None
    holder, _, until = value.rpartition("/")
    when = parse_expiry(until)
    if not holder or when is None:
        return None
    return RefreshLock(holder=holder, until=when)


class Decision(Enum):
    ADOPT = "adopt"
    """The Secret already holds newer, still-valid tokens: use them."""
    WAIT = "wait"
    """Another replica holds a live lock: wait for its tokens to arrive."""
    TAKE = "take"
    """Nobody is refreshing (or the holder's claim expired): take the lock and refresh."""


def decide(
    secret_tokens: Tokens | None,
    lock: RefreshLock | None,
    *,
    stale_access_token: str,
    holder: str,
    now: float,
    margin_seconds: float,
) -> Decision:
    """What a replica whose ``stale_access_token`` is due (or was refused with 401) should do."""
    if (
        secret_tokens is not None
        and secret_tokens.access_token != stale_access_token
        and not expiring(secret_tokens, now=now, margin_seconds=margin_seconds)
    ):
        return Decision.ADOPT
    if lock is not None and lock.holder != holder and lock.until > now:
        return Decision.WAIT
    return Decision.TAKE


Mint = Callable[[str], Awaitable[Tokens | None]]
"""Call the token endpoint with a refresh token: the new tokens, or None when it refused (logged there)."""


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    tokens: Tokens | None
    """Tokens to use from now on; None when there are none better than the current ones."""
    result: RefreshResult


class TokenRefresher(Protocol):
    """Refreshes one Secret's tokens; the caller guarantees one call at a time per Secret in this process."""

    async def refresh(self, secret: str, current: Tokens, mint: Mint, *, margin_seconds: float) -> RefreshOutcome:
        """New tokens for ``secret``, given the ``current`` ones are due or were refused."""
        ...


class LocalTokenRefresher:
    """One process, nothing to coordinate with and nowhere to write: refresh, keep in memory."""

    async def refresh(self, secret: str, current: Tokens, mint: Mint, *, margin_seconds: float) -> RefreshOutcome:
        if not current.refresh_token:
            return RefreshOutcome(None, "failed")
        fresh = await mint(current.refresh_token)
        return RefreshOutcome(fresh, "refreshed" if fresh is not None else "failed")
