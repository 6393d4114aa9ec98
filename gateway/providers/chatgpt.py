"""ChatGPT's codex backend: OAuth access token + account id, the Codex CLI's headers, token refresh.

Spec §5.1: ``Authorization: Bearer <access token>``, ``ChatGPT-Account-Id``, ``originator``,
``user-agent``, ``session_id``, ``accept: text/event-stream``. Tokens come from the credentials
Secret (``accessToken``, ``accountId``, optional ``refreshToken`` and ``expiresAt``, or a Codex CLI
``auth.json``). An access token is refreshed shortly before it expires and once after a 401; one
asyncio lock per credential makes concurrent requests share one refresh. Refreshed tokens live in
this process's memory only (the Secret is never written back).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
import orjson
import structlog

from gateway.credentials import CredentialStore
from gateway.providers.base import CredentialsUnavailableError, Endpoint, UpstreamCall, join_url
from gateway.routing.table import Backend

__all__ = ["DEFAULT_BASE_URL", "ChatGPTProvider", "TokenState", "jwt_account_id", "jwt_claims", "jwt_expiry"]

DEFAULT_BASE_URL = "https://chatgpt.com/backend-api/codex"
ORIGINATOR = "codex_cli_rs"
USER_AGENT = "codex_cli_rs/0.1.0 (aliasgate)"

_log = structlog.get_logger("gateway.providers.chatgpt")


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


def _parse_expiry(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(slots=True)
class TokenState:
    """The live tokens of one credentials Secret."""

    access_token: str
    account_id: str
    refresh_token: str | None
    expires_at: float | None
    origin: tuple[str, str, str]
    """The Secret values these tokens descend from; a changed Secret replaces refreshed tokens."""
    version: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(slots=True)
class ChatGPTProvider:
    credentials: CredentialStore
    session: Callable[[], aiohttp.ClientSession]
    token_url: str
    client_id: str
    refresh_margin_seconds: float = 300.0
    wall_clock: Callable[[], float] = time.time
    name: str = "chatgpt"
    forces_stream: bool = True
    _tokens: dict[str, TokenState] = field(default_factory=dict)

    def _state(self, backend: Backend) -> TokenState:
        if backend.credentials is None:
            raise CredentialsUnavailableError(f"backend {backend.key!r} names no credentials Secret")
        secret = self.credentials.get(backend.credentials)
        access = None if secret is None else secret.get("accessToken")
        account = None if secret is None else secret.get("accountId") or (access and jwt_account_id(access))
        if secret is None or not access or not account:
            raise CredentialsUnavailableError(
                f"credentials Secret {backend.credentials!r} lacks accessToken/accountId (or auth.json tokens)"
            )
        refresh = secret.get("refreshToken") or None
        origin = (access, account, refresh or "")
        state = self._tokens.get(backend.credentials)
        if state is None or state.origin != origin:
            expires = _parse_expiry(secret.get("expiresAt")) or jwt_expiry(access)
            state = TokenState(access, account, refresh, expires, origin)
            self._tokens[backend.credentials] = state
        return state

    async def prepare(self, backend: Backend, endpoint: Endpoint, *, request_id: str) -> UpstreamCall:
        state = self._state(backend)
        if (
            state.refresh_token
            and state.expires_at is not None
            and state.expires_at - self.refresh_margin_seconds <= self.wall_clock()
        ):
            await self._refresh(backend, state, seen_version=state.version)
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Authorization": f"Bearer {state.access_token}",
            "ChatGPT-Account-Id": state.account_id,
            "originator": ORIGINATOR,
            "User-Agent": USER_AGENT,
            "session_id": request_id,
        }
        base = backend.base_url or DEFAULT_BASE_URL
        return UpstreamCall(url=join_url(base, "responses"), headers=headers, credential_version=str(state.version))

    async def unauthorized(self, backend: Backend, call: UpstreamCall) -> bool:
        state = self._state(backend)
        if not state.refresh_token:
            return False
        return await self._refresh(backend, state, seen_version=int(call.credential_version or 0))

    async def _refresh(self, backend: Backend, state: TokenState, *, seen_version: int) -> bool:
        """Refresh once per credential: whoever waited on the lock reuses the token just minted."""
        async with state.lock:
            if state.version != seen_version:
                return True
            try:
                async with self.session().post(
                    self.token_url,
                    json={
                        "client_id": self.client_id,
                        "grant_type": "refresh_token",
                        "refresh_token": state.refresh_token,
                        "scope": "openid profile email",
                    },
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as resp:
                    raw = await resp.read()
                    if resp.status != 200:
                        _log.warning("token_refresh_failed", secret=backend.credentials, status=resp.status)
                        return False
            except (aiohttp.ClientError, TimeoutError) as exc:
                _log.warning("token_refresh_failed", secret=backend.credentials, reason=type(exc).__name__)
                return False
            try:
                doc = orjson.loads(raw)
            except orjson.JSONDecodeError:
                doc = None
            access = doc.get("access_token") if isinstance(doc, dict) else None
            if not isinstance(doc, dict) or not isinstance(access, str) or not access:
                _log.warning("token_refresh_failed", secret=backend.credentials, reason="malformed_token_response")
                return False
            state.access_token = access
            new_refresh = doc.get("refresh_token")
            if isinstance(new_refresh, str) and new_refresh:
                state.refresh_token = new_refresh
            expires_in = doc.get("expires_in")
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
                state.expires_at = self.wall_clock() + float(expires_in)
            else:
                state.expires_at = jwt_expiry(access)
            state.version += 1
            _log.info("token_refreshed", secret=backend.credentials, version=state.version)
            return True
