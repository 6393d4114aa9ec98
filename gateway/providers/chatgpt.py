"""ChatGPT's codex backend: OAuth access token + account id, the Codex CLI's headers, token refresh.

docs/gateway.md, "Providers and credentials": ``Authorization: Bearer <access token>``, ``ChatGPT-Account-Id``, ``originator``,
``user-agent``, ``session_id``, ``accept: text/event-stream``. Tokens come from the credentials
Secret (``accessToken``, ``accountId``, optional ``refreshToken`` and ``expiresAt``, or a Codex CLI
``auth.json``). An access token is refreshed shortly before it expires and once after a 401; one
asyncio lock per credential makes this process's concurrent requests share one refresh.

Refresh tokens rotate (single use), so replicas must not each refresh. Who refreshes is the
injected :class:`~gateway.credentials.refresh.TokenRefresher`: with Secrets read through the
Kubernetes API, one replica takes a lock on the Secret, refreshes, and writes the new tokens back
into it (the others, and pods started later, adopt them); with credentials from files (local mode,
``--secrets-dir``) the refresh is local and the new tokens live in this process's memory only.
A Secret that changes (another replica's write-back, a new login) replaces the tokens in memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
import orjson
import structlog

from gateway.crashes import crash_fields
from gateway.credentials.refresh import LocalTokenRefresher, RefreshResult, TokenRefresher, expiring
from gateway.credentials.secret_format import Tokens, jwt_account_id, jwt_claims, jwt_expiry, tokens_from_keys
from gateway.credentials.store import CredentialStore
from gateway.metrics import GatewayMetrics
from gateway.providers.base import CredentialsUnavailableError, Endpoint, UpstreamCall, join_url
from gateway.routing.table import Backend

__all__ = ["DEFAULT_BASE_URL", "ChatGPTProvider", "TokenState", "jwt_account_id", "jwt_claims", "jwt_expiry"]

DEFAULT_BASE_URL = "https://chatgpt.com/backend-api/codex"
ORIGINATOR = "codex_cli_rs"
USER_AGENT = "codex_cli_rs/0.1.0 (aliasgate)"
TOKEN_CALL_TIMEOUT = aiohttp.ClientTimeout(total=20)
"""Shorter than a refresh lock's lifetime (30 s), so a live holder never outlasts its claim."""

_log = structlog.get_logger("gateway.providers.chatgpt")


@dataclass(slots=True)
class TokenState:
    """The live tokens of one credentials Secret (one per Secret for the provider's lifetime)."""

    tokens: Tokens
    origin: tuple[str, str, str]
    """The Secret values last seen; when the Secret changes to other tokens, they replace ours."""
    version: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    seen_keys: Mapping[str, str] | None = None
    """The store's mapping ``origin`` was read from: the same object again means nothing to re-read."""

    @property
    def access_token(self) -> str:
        return self.tokens.access_token

    @property
    def account_id(self) -> str:
        return self.tokens.account_id

    @property
    def refresh_token(self) -> str | None:
        return self.tokens.refresh_token

    @property
    def expires_at(self) -> float | None:
        return self.tokens.expires_at

    def use(self, tokens: Tokens) -> bool:
        """Switch to ``tokens``; True when they differ from the current ones (a new version)."""
        if tokens.access_token == self.tokens.access_token:
            return False
        self.tokens = tokens
        self.version += 1
        return True


@dataclass(slots=True)
class ChatGPTProvider:
    credentials: CredentialStore
    session: Callable[[], aiohttp.ClientSession]
    token_url: str
    client_id: str
    refresh_margin_seconds: float = 300.0
    wall_clock: Callable[[], float] = time.time
    metrics: GatewayMetrics | None = None
    refresher: TokenRefresher = field(default_factory=LocalTokenRefresher)
    """Who refreshes: the wiring injects the Kubernetes one for Secrets read through the API; else local."""
    name: str = "chatgpt"
    forces_stream: bool = True
    _tokens: dict[str, TokenState] = field(default_factory=dict)
    _abandoned: set[asyncio.Task[bool]] = field(default_factory=set)
    """Refreshes whose request was cancelled meanwhile: kept alive (the loop holds tasks weakly) to the end."""

    def _state(self, backend: Backend) -> TokenState:
        if backend.credentials is None:
            raise CredentialsUnavailableError(f"backend {backend.key!r} names no credentials Secret")
        keys = self.credentials.get(backend.credentials)
        state = self._tokens.get(backend.credentials)
        if state is not None and keys is not None and keys is state.seen_keys:
            return state  # the per-request path: the stores hand out a new mapping only when the Secret changes
        secret_tokens = tokens_from_keys(keys)
        if secret_tokens is None:
            raise CredentialsUnavailableError(
                f"credentials Secret {backend.credentials!r} lacks accessToken/accountId (or auth.json tokens)"
            )
        origin = (secret_tokens.access_token, secret_tokens.account_id, secret_tokens.refresh_token or "")
        if state is None:
            state = TokenState(secret_tokens, origin)
            self._tokens[backend.credentials] = state
        elif state.origin != origin:
            # The Secret changed: another replica's write-back (then usually our own tokens) or a new login.
            state.origin = origin
            state.use(secret_tokens)
        state.seen_keys = keys
        return state

    async def prepare(self, backend: Backend, endpoint: Endpoint, *, request_id: str) -> UpstreamCall:
        state = self._state(backend)
        if state.refresh_token and expiring(
            state.tokens, now=self.wall_clock(), margin_seconds=self.refresh_margin_seconds
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
        """Refresh in a task of its own that outlives the request: a request cancelled mid-refresh (its client
        went away, or the shutdown cut it) must not abandon the refresh half-done, since the token endpoint may
        already have spent the single-use refresh token and only this task carries the new one on."""
        task = asyncio.create_task(self._refresh_shared(backend, state, seen_version=seen_version))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            self._abandoned.add(task)
            task.add_done_callback(self._abandoned_done)
            raise

    def _abandoned_done(self, task: asyncio.Task[bool]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            _log.warning("token_refresh_crashed", **crash_fields(exc))

    async def _refresh_shared(self, backend: Backend, state: TokenState, *, seen_version: int) -> bool:
        """Refresh once per credential: whoever waited on the lock reuses the tokens just obtained."""
        secret = backend.credentials
        assert secret is not None
        async with state.lock:
            if state.version != seen_version:
                return True

            async def mint(refresh_token: str) -> Tokens | None:
                return await self._mint(secret, refresh_token, account_id=state.account_id)

            outcome = await self.refresher.refresh(
                secret, state.tokens, mint, margin_seconds=self.refresh_margin_seconds
            )
            self._count(secret, outcome.result)
            if outcome.tokens is None or not state.use(outcome.tokens):
                return False
            _log.info("token_in_use", secret_name=secret, result=outcome.result, version=state.version)
            return True

    def _count(self, secret: str, result: RefreshResult) -> None:
        if self.metrics is not None:
            self.metrics.token_refreshes(secret, result).inc()

    async def _mint(self, secret: str, refresh_token: str, *, account_id: str) -> Tokens | None:
        """One call to the token endpoint. Failures are logged by status or kind, never with a body."""
        try:
            async with self.session().post(
                self.token_url,
                json={
                    "client_id": self.client_id,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                    "scope": "openid profile email",
                },
                timeout=TOKEN_CALL_TIMEOUT,
            ) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    _log.warning("token_refresh_failed", secret_name=secret, status=resp.status)
                    return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            _log.warning("token_refresh_failed", secret_name=secret, reason=type(exc).__name__)
            return None
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            doc = None
        access = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or not isinstance(access, str) or not access:
            _log.warning("token_refresh_failed", secret_name=secret, reason="malformed_token_response")
            return None
        new_refresh = doc.get("refresh_token")
        expires_in = doc.get("expires_in")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            expires_at: float | None = self.wall_clock() + float(expires_in)
        else:
            expires_at = jwt_expiry(access)
        id_token = doc.get("id_token")
        return Tokens(
            access_token=access,
            account_id=account_id,
            refresh_token=new_refresh if isinstance(new_refresh, str) and new_refresh else refresh_token,
            expires_at=expires_at,
            id_token=id_token if isinstance(id_token, str) and id_token else None,
        )
