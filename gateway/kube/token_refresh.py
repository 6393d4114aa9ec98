"""One OAuth refresher across gateway replicas, coordinated through the credentials Secret itself.

Protocol (decisions in :mod:`gateway.credentials.refresh`, the Secret's format in
:mod:`gateway.credentials.secret_format`, I/O here):

1. ``GET`` the Secret. Newer, valid tokens there → adopt them (another replica refreshed, or this
   one restarted). A live lock annotation held by someone else → wait (bounded) for the watch to
   deliver a new version, then look again.
2. Take the lock: ``PUT`` the Secret with ``aliasgate.io/token-refresh: <holder>/<until>`` and the
   observed ``metadata.resourceVersion``; ``409`` means another replica moved first (look again).
   An expired lock (its holder died) is taken over the same way.
3. Call the token endpoint with the Secret's refresh token (the freshest one anywhere).
4. ``PUT`` the new tokens back, in the Secret's own format, without the annotation, again with the
   resourceVersion precondition; on ``409`` re-read and retry while the Secret still holds the
   refresh token we consumed.

A Secret lock rather than a ``coordination.k8s.io`` Lease: the compare-and-swap lives on the object
whose content it protects, so the lock and the write-back need one grant (``update`` on exactly the
credentials Secrets), and a replica that reads the Secret sees both the tokens and who is refreshing.

When the API refuses a write (RBAC, outage), the refresh still happens and the new tokens are used
from memory; the result is ``writeback_failed``, warned once per Secret until a write succeeds.
Token values never reach a log line or an exception message.

Built where the gateway is wired (``gateway/__main__.py``) beside the
:class:`~gateway.kube.secrets.KubeCredentialStore` it reads through, and injected into the providers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import structlog

from aliasgate.runtime.kubeerrors import ConflictError, KubeApiError
from gateway.credentials.refresh import (
    LOCK_ANNOTATION,
    Decision,
    Mint,
    RefreshLock,
    RefreshOutcome,
    decide,
    format_lock,
    parse_lock,
)
from gateway.credentials.secret_format import Tokens, secret_data_with, tokens_from_keys
from gateway.kube.client import request_json
from gateway.kube.secrets import KubeCredentialStore, decode_secret

__all__ = ["KubeTokenRefresher", "default_holder"]

_log = structlog.get_logger("gateway.kube.token_refresh")
_API_TIMEOUT = aiohttp.ClientTimeout(total=10)


def default_holder() -> str:
    """The pod name (hostname) plus pid and a random suffix: unique even for several apps in one process."""
    return f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"


class KubeTokenRefresher:
    """:class:`~gateway.credentials.refresh.TokenRefresher` for Secrets read through the Kubernetes API."""

    def __init__(
        self,
        *,
        store: KubeCredentialStore,
        holder: str | None = None,
        lock_seconds: float = 30.0,
        wait_seconds: float = 10.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.holder = holder or default_holder()
        self.lock_seconds = lock_seconds
        """How long a claim holds: longer than a token call (20 s timeout) plus the write-back."""
        self.wait_seconds = wait_seconds
        self._now = wall_clock
        self._warned: set[str] = set()
        self._unwritten: dict[str, str] = {}
        """Per Secret, the access token this replica minted but could not write back (ours is newer)."""

    @property
    def store(self) -> KubeCredentialStore:
        """The store this refresher reads through (and whose watch tells it of other replicas' writes)."""
        return self._store

    def _url(self, secret: str) -> str:
        return f"{self._store.connection.server}/api/v1/namespaces/{self._store.namespace}/secrets/{secret}"

    async def _get(self, session: aiohttp.ClientSession, secret: str) -> dict[str, Any]:
        return await request_json(session, self._store.connection, "GET", self._url(secret))

    async def _put(self, session: aiohttp.ClientSession, secret: str, body: dict[str, Any]) -> dict[str, Any]:
        return await request_json(session, self._store.connection, "PUT", self._url(secret), body=body)

    async def refresh(self, secret: str, current: Tokens, mint: Mint, *, margin_seconds: float) -> RefreshOutcome:
        deadline = time.monotonic() + self.wait_seconds
        async with aiohttp.ClientSession(timeout=_API_TIMEOUT) as session:
            while True:
                try:
                    observed = await self._get(session, secret)
                except (KubeApiError, TimeoutError, ValueError) as exc:
                    return await self._uncoordinated(secret, current, mint, reason=_reason(exc))
                secret_tokens = tokens_from_keys(decode_secret(observed))
                annotations = (observed.get("metadata") or {}).get("annotations") or {}
                lock = parse_lock(annotations.get(LOCK_ANNOTATION))
                ours_newer = self._unwritten.get(secret) == current.access_token
                decision = decide(
                    None if ours_newer else secret_tokens,
                    lock,
                    stale_access_token=current.access_token,
                    holder=self.holder,
                    now=self._now(),
                    margin_seconds=margin_seconds,
                )
                if decision is Decision.ADOPT and secret_tokens is not None:
                    _log.info("token_adopted", secret_name=secret)
                    return RefreshOutcome(secret_tokens, "adopted")
                if decision is Decision.WAIT and lock is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        _log.warning("token_refresh_lock_busy", secret_name=secret, holder=lock.holder)
                        return RefreshOutcome(None, "failed")
                    # Wake on the holder's write-back, or when its claim runs out (it may have died).
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(max(0.0, min(remaining, lock.until - self._now() + 0.05))):
                            await self._store.next_update(secret)
                    continue
                refresh_from = current if ours_newer or secret_tokens is None else secret_tokens
                if not refresh_from.refresh_token:
                    return RefreshOutcome(None, "failed")
                claim = RefreshLock(holder=self.holder, until=self._now() + self.lock_seconds)
                locked_body = _with_annotation(observed, format_lock(claim))
                try:
                    locked = await self._put(session, secret, locked_body)
                except ConflictError:
                    if time.monotonic() < deadline:
                        continue  # another replica moved first: look again
                    return RefreshOutcome(None, "failed")
                except (KubeApiError, TimeoutError, ValueError) as exc:
                    return await self._uncoordinated(secret, refresh_from, mint, reason=_reason(exc))
                if lock is not None and lock.holder != self.holder:
                    _log.warning("token_refresh_lock_taken_over", secret_name=secret, previous_holder=lock.holder)
                return await self._refresh_locked(session, secret, locked, refresh_from, mint)

    async def _refresh_locked(
        self, session: aiohttp.ClientSession, secret: str, locked: dict[str, Any], base: Tokens, mint: Mint
    ) -> RefreshOutcome:
        assert base.refresh_token is not None
        locked_tokens = tokens_from_keys(decode_secret(locked))
        expected_refresh = None if locked_tokens is None else locked_tokens.refresh_token
        fresh = await mint(base.refresh_token)
        if fresh is None:
            try:
                await self._put(session, secret, _with_annotation(locked, None))
            except (KubeApiError, TimeoutError, ValueError) as exc:
                _log.warning("token_refresh_unlock_failed", secret_name=secret, reason=_reason(exc))
            return RefreshOutcome(None, "failed")
        target = locked
        for _ in range(3):
            data = secret_data_with(target.get("data") or {}, fresh, now=self._now())
            if data is None:
                return self._writeback_failed(secret, fresh, reason="secret_has_no_token_keys")
            body = _with_annotation(target, None) | {"data": data}
            body.pop("stringData", None)
            try:
                await self._put(session, secret, body)
            except ConflictError:
                pass  # handled below: re-read
            except (KubeApiError, TimeoutError, ValueError) as exc:
                return self._writeback_failed(secret, fresh, reason=_reason(exc))
            else:
                self._warned.discard(secret)
                self._unwritten.pop(secret, None)
                _log.info("token_refreshed", secret_name=secret, written_back=True)
                return RefreshOutcome(fresh, "refreshed")
            # 409: the Secret changed while we held the lock; write only over the tokens we refreshed from.
            try:
                target = await self._get(session, secret)
            except (KubeApiError, TimeoutError, ValueError) as exc:
                return self._writeback_failed(secret, fresh, reason=_reason(exc))
            now_there = tokens_from_keys(decode_secret(target))
            if now_there is None or now_there.refresh_token != expected_refresh:
                return self._writeback_failed(secret, fresh, reason="secret_changed_meanwhile")
        return self._writeback_failed(secret, fresh, reason="conflicts")

    async def _uncoordinated(self, secret: str, base: Tokens, mint: Mint, *, reason: str) -> RefreshOutcome:
        """The API refused (or is down): refresh anyway so this replica keeps serving, and say so."""
        if not base.refresh_token:
            return RefreshOutcome(None, "failed")
        fresh = await mint(base.refresh_token)
        if fresh is None:
            return RefreshOutcome(None, "failed")
        return self._writeback_failed(secret, fresh, reason=reason)

    def _writeback_failed(self, secret: str, fresh: Tokens, *, reason: str) -> RefreshOutcome:
        self._unwritten[secret] = fresh.access_token
        if secret not in self._warned:
            self._warned.add(secret)
            _log.warning(
                "token_writeback_failed",
                secret_name=secret,
                reason=reason,
                hint="refreshed tokens are used from memory only; other replicas and restarts will not see them",
            )
        return RefreshOutcome(fresh, "writeback_failed")


def _with_annotation(secret: dict[str, Any], value: str | None) -> dict[str, Any]:
    """A copy of ``secret`` with the lock annotation set (or removed), keeping its resourceVersion."""
    metadata = dict(secret.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    if value is None:
        annotations.pop(LOCK_ANNOTATION, None)
    else:
        annotations[LOCK_ANNOTATION] = value
    metadata["annotations"] = annotations
    metadata.pop("managedFields", None)
    return {**secret, "metadata": metadata}


def _reason(exc: BaseException) -> str:
    """A loggable reason: the status or the exception type, never an answer's text (it could echo a token)."""
    if isinstance(exc, KubeApiError):  # a TransportError's reason is the transport exception's type name
        return f"HTTP {exc.status}" if exc.status else exc.reason
    return type(exc).__name__
