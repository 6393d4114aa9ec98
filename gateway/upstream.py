"""UpstreamClient: the one pooled ClientSession, per-route timeouts, auth via providers, retries and fallbacks.

Handlers hand this module a :class:`~gateway.routing.loading.RouteTarget` and a body; it asks the
target's provider for URL and credential headers (so keys never pass through handler code), sends,
refreshes once on a 401 when the provider can, and counts ``aliasgate_upstream_requests_total``.
:func:`with_failover` runs an attempt function over the route and its fallbacks with exponential
backoff and full jitter; attempts raise :class:`UpstreamFailure` saying whether a retry may help.
Callers only retry before a byte reached their client.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import aiohttp

from gateway.bridge import errors as bridge_errors
from gateway.errors import GatewayError, UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError
from gateway.metrics import GatewayMetrics
from gateway.providers import CredentialsUnavailableError, Providers
from gateway.providers.base import Endpoint
from gateway.relayed_errors import relayable
from gateway.routing.loading import CompiledTable, RouteTarget
from gateway.scrubbing import CredentialScrubber

__all__ = [
    "UpstreamClient",
    "UpstreamFailure",
    "error_from_chat_error",
    "failure_from_chat_error",
    "is_retryable_status",
    "with_failover",
]

T = TypeVar("T")


def is_retryable_status(status: int) -> bool:
    """429 and 5xx may succeed on another try; other 4xx will not."""
    return status == 429 or status >= 500


class UpstreamFailure(Exception):
    """One failed attempt, with the error the client would get if nothing else works."""

    def __init__(self, error: GatewayError, *, retryable: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.retryable = retryable


def error_from_chat_error(error: bridge_errors.ChatError) -> UpstreamError:
    error = relayable(error)
    return UpstreamError(
        error.message,
        status=error.status,
        error_type=error.type,
        param=error.param,
        code=error.code,
        retry_after=error.retry_after,
    )


def failure_from_chat_error(error: bridge_errors.ChatError) -> UpstreamFailure:
    return UpstreamFailure(error_from_chat_error(error), retryable=is_retryable_status(error.status))


@dataclass(slots=True)
class UpstreamClient:
    """Sends upstream requests; the only place credentials are attached.

    The pooled session is attached by the app's cleanup context (:meth:`attach`) and closed there.
    """

    providers: Providers
    metrics: GatewayMetrics
    scrubber: CredentialScrubber = field(default_factory=CredentialScrubber)
    """Learns every credential attached here; whatever upstream text is relayed or stored passes it."""
    _session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the upstream session is not open (app not started)")
        return self._session

    def attach(self, session: aiohttp.ClientSession | None) -> None:
        self._session = session

    async def post(
        self, target: RouteTarget, endpoint: Endpoint, body: bytes, *, request_id: str
    ) -> aiohttp.ClientResponse:
        """POST ``body``; returns the response whatever its status, raises UpstreamFailure on transport errors."""
        backend = target.backend
        provider = self.providers.get(backend.provider)
        timeout = target.client_timeout
        counter = self.metrics.upstream_requests
        for auth_attempt in range(2):
            try:
                call = await provider.prepare(backend, endpoint, request_id=request_id)
            except CredentialsUnavailableError as exc:
                raise UpstreamFailure(
                    UpstreamUnavailableError(str(exc), code="credentials_unavailable"), retryable=False
                ) from None
            self.scrubber.learn(call.headers)
            try:
                resp = await self.session.post(call.url, data=body, headers=call.headers, timeout=timeout)
            except TimeoutError:
                counter(backend.key, "timeout").inc()
                raise UpstreamFailure(
                    UpstreamTimeoutError("The upstream did not answer in time."), retryable=True
                ) from None
            except aiohttp.ClientError as exc:
                counter(backend.key, "error").inc()
                raise UpstreamFailure(
                    UpstreamUnavailableError(f"The upstream could not be reached ({type(exc).__name__})."),
                    retryable=True,
                ) from None
            counter(backend.key, str(resp.status)).inc()
            if resp.status == 401 and auth_attempt == 0 and await provider.unauthorized(backend, call):
                resp.release()
                continue
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    async def error_of(self, resp: aiohttp.ClientResponse) -> UpstreamFailure:
        """Read an upstream error answer (bounded) and map it; the connection is released."""
        try:
            body = await resp.content.read(64 * 1024)
        except (aiohttp.ClientError, TimeoutError):
            body = b""
        finally:
            resp.release()
        error = bridge_errors.error_from_upstream_http(
            resp.status, self.scrubber.scrub_bytes(body), retry_after_header=resp.headers.get("Retry-After")
        )
        return failure_from_chat_error(replace(error, message=self.scrubber.scrub_text(error.message)))


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0.0, min(cap, base * (2**attempt)))


async def with_failover(
    table: CompiledTable,
    target: RouteTarget,
    attempt: Callable[[RouteTarget], Awaitable[T]],
    *,
    metrics: GatewayMetrics,
    rng: random.Random,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Try ``target`` (with its retries), then each fallback alias in order; re-raise the last failure."""
    chain = [target]
    for name in target.fallbacks:
        fallback = table.get(name)
        if fallback is not None and fallback not in chain:
            chain.append(fallback)
    last: UpstreamFailure | None = None
    for position, current in enumerate(chain):
        if position > 0:
            metrics.fallbacks(target.alias, current.alias).inc()
        retries = current.route.settings.retries
        for n in range(max(1, retries.attempts)):
            if n > 0:
                metrics.retries(current.alias).inc()
                await sleep(
                    backoff_seconds(n - 1, base=retries.backoff_seconds, cap=retries.backoff_max_seconds, rng=rng)
                )
            try:
                return await attempt(current)
            except UpstreamFailure as failure:
                last = failure
                if not failure.retryable:
                    raise
    assert last is not None
    raise last
