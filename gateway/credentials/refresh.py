"""OAuth token refresh coordination: which replica refreshes, and what the Secret looks like afterwards.

OAuth refresh tokens rotate: each one is good for a single refresh, and reusing one may revoke the
whole token family. Several gateway replicas sharing one credentials Secret must therefore agree on
one refresher and then all use its result. This module is the I/O-free part of that:

- :class:`Tokens`, read from a Secret's keys as the ChatGPT provider reads them;
- the refresh lock, an annotation on the Secret itself (``aliasgate.io/token-refresh:
  <holder>/<until RFC3339>``), and :func:`decide` (adopt the Secret's newer tokens, wait for the
  lock holder, or take the lock);
- :func:`secret_data_with`, the Secret's ``data`` with new tokens in the format it already had
  (flat ``accessToken``/``refreshToken``/``expiresAt`` keys, or a Codex CLI ``auth.json``);
- :class:`TokenRefresher`, what the provider calls, and :class:`LocalTokenRefresher` (one process:
  read-only credentials from files or local mode). The Kubernetes implementation is
  :mod:`gateway.kube_token_refresh`.

Token values never appear in anything this module returns as text except Secret data.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Literal, Protocol

import orjson

__all__ = [
    "LOCK_ANNOTATION",
    "Decision",
    "LocalTokenRefresher",
    "Mint",
    "RefreshLock",
    "RefreshOutcome",
    "RefreshResult",
    "TokenRefresher",
    "Tokens",
    "decide",
    "expiring",
    "format_lock",
    "jwt_account_id",
    "jwt_claims",
    "jwt_expiry",
    "parse_expiry",
    "parse_lock",
    "refresher_for",
    "rfc3339",
    "secret_data_with",
    "tokens_from_keys",
]

LOCK_ANNOTATION = "aliasgate.io/token-refresh"

RefreshResult = Literal["refreshed", "adopted", "failed", "writeback_failed"]
"""Label values of ``aliasgate_token_refreshes_total{result}``."""


def jwt_claims(token: str) -> dict[str, object]:
    """The claims of a JWT, unverified: we only read facts about our own token (expiry, account)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT."""
    exp = jwt_claims(token).get("exp")
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def jwt_account_id(token: str) -> str | None:
    """``chatgpt_account_id`` from the ``https://api.openai.com/auth`` claim (spec §5.1), when the Secret has none."""
    auth = jwt_claims(token).get("https://api.openai.com/auth")
    account = auth.get("chatgpt_account_id") if isinstance(auth, dict) else None
    return account if isinstance(account, str) and account else None


def parse_expiry(value: str | None) -> float | None:
    """``expiresAt`` as epoch seconds or RFC 3339."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def rfc3339(epoch: float) -> str:
    """Seconds since the epoch as ``2026-01-02T03:04:05Z``."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Tokens:
    """One generation of OAuth tokens for one account. ``repr`` hides the values."""

    access_token: str
    account_id: str
    refresh_token: str | None = None
    expires_at: float | None = None
    id_token: str | None = None

    def __repr__(self) -> str:
        return f"Tokens(account_id={self.account_id!r}, expires_at={self.expires_at!r}, values=<hidden>)"


def tokens_from_keys(keys: Mapping[str, str] | None) -> Tokens | None:
    """The tokens of a credentials Secret (flat keys; stores expand ``auth.json`` into them), None if unusable."""
    if keys is None:
        return None
    access = keys.get("accessToken")
    if not access:
        return None
    account = keys.get("accountId") or jwt_account_id(access)
    if not account:
        return None
    return Tokens(
        access_token=access,
        account_id=account,
        refresh_token=keys.get("refreshToken") or None,
        expires_at=parse_expiry(keys.get("expiresAt")) or jwt_expiry(access),
        id_token=keys.get("idToken") or None,
    )


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


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _unb64(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _expires_text(previous: str | None, expires_at: float) -> str:
    """``expiresAt`` in the style the Secret used (epoch seconds or RFC 3339; RFC 3339 when new)."""
    if previous is not None:
        try:
            float(previous)
        except ValueError:
            pass
        else:
            return str(int(expires_at))
    return rfc3339(expires_at)


def secret_data_with(data: Mapping[str, str], tokens: Tokens, *, now: float) -> dict[str, str] | None:
    """A Secret's base64 ``data`` with ``tokens`` written where the old ones were; None if no token key is there.

    Flat keys win when present (as they do when reading); otherwise the ``auth.json`` document is
    updated in place (``tokens.*``, ``last_refresh``, and ``expires_at`` when it had one), keeping
    every other field."""
    updated = dict(data)
    if "accessToken" in data:
        updated["accessToken"] = _b64(tokens.access_token)
        if tokens.refresh_token:
            updated["refreshToken"] = _b64(tokens.refresh_token)
        if tokens.expires_at is not None:
            previous = _unb64(data["expiresAt"]) if "expiresAt" in data else None
            updated["expiresAt"] = _b64(_expires_text(previous, tokens.expires_at))
        if tokens.id_token and "idToken" in data:
            updated["idToken"] = _b64(tokens.id_token)
        return updated
    raw = _unb64(data["auth.json"]) if "auth.json" in data else None
    try:
        doc = orjson.loads(raw) if raw is not None else None
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), dict):
        return None
    doc["tokens"]["access_token"] = tokens.access_token
    if tokens.refresh_token:
        doc["tokens"]["refresh_token"] = tokens.refresh_token
    if tokens.id_token:
        doc["tokens"]["id_token"] = tokens.id_token
    doc["last_refresh"] = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
    if "expires_at" in doc and tokens.expires_at is not None:
        doc["expires_at"] = int(tokens.expires_at)
    updated["auth.json"] = base64.b64encode(orjson.dumps(doc, option=orjson.OPT_INDENT_2)).decode("ascii")
    return updated


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


def refresher_for(store: object) -> TokenRefresher:
    """The store's own refresher when it has one (Secrets read through the API), else a local one."""
    make: Callable[[], TokenRefresher] | None = getattr(store, "token_refresher", None)
    return make() if callable(make) else LocalTokenRefresher()
