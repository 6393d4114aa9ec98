"""UpstreamClient: the one connection pool, per-route timeouts, and auth via providers.

Handlers and the prober hand this module a :class:`~gateway.routing.loading.RouteTarget` and a body; it asks
the target's provider for URL and credential headers (so keys never pass through handler code), sends,
refreshes once on a 401 when the provider can, and counts ``aliasgate_upstream_requests_total``. Transport
errors become :class:`~gateway.upstream.failures.UpstreamFailure`; retries and fallbacks are `failover`'s job.
"""

from __future__ import annotations

import email.utils
import math
import time
from dataclasses import dataclass, field, replace

import aiohttp

from gateway.bridge import errors as bridge_errors
from gateway.errors import UpstreamTimeoutError, UpstreamUnavailableError
from gateway.metrics import GatewayMetrics
from gateway.providers import CredentialsUnavailableError, Providers
from gateway.providers.base import Endpoint
from gateway.routing.loading import RouteTarget
from gateway.upstream.answers import UpstreamAnswer
from gateway.upstream.connections import ConnectionPool
from gateway.upstream.failures import UpstreamFailure, failure_from_chat_error
from gateway.upstream.scrubbing import CredentialScrubber

__all__ = ["UpstreamClient", "delta_seconds"]


@dataclass(slots=True)
class UpstreamClient:
    """Sends upstream requests; the only place credentials are attached.

    The pool and the aiohttp session are attached by the app's cleanup context (:meth:`attach`) and closed
    there. Model calls go through the pool (:mod:`gateway.upstream.connections`); the session serves the
    providers' own calls (token refresh) and, when no pool is attached (the app was given an aiohttp
    connector), model calls too.
    """

    providers: Providers
    metrics: GatewayMetrics
    scrubber: CredentialScrubber = field(default_factory=CredentialScrubber)
    """Learns every credential attached here; whatever upstream text is relayed or stored passes it."""
    _session: aiohttp.ClientSession | None = None
    _pool: ConnectionPool | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the upstream session is not open (app not started)")
        return self._session

    @property
    def pool(self) -> ConnectionPool | None:
        """The connection pool model calls go through (None: they go through the aiohttp session)."""
        return self._pool

    def attach(self, session: aiohttp.ClientSession | None, pool: ConnectionPool | None = None) -> None:
        self._session = session
        self._pool = pool

    async def post(self, target: RouteTarget, endpoint: Endpoint, body: bytes, *, request_id: str) -> UpstreamAnswer:
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
                pool = self._pool
                if pool is not None:
                    resp: UpstreamAnswer = await pool.post(call.url, call.headers, body, timeouts=timeout)
                else:
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

    async def error_of(self, resp: UpstreamAnswer) -> UpstreamFailure:
        """Read an upstream error answer (bounded) and map it; the connection is released."""
        try:
            body = await resp.content.read(64 * 1024)
        except (aiohttp.ClientError, TimeoutError):
            body = b""
        finally:
            resp.release()
        error = bridge_errors.error_from_upstream_http(
            resp.status,
            self.scrubber.scrub_bytes(body),
            retry_after_header=delta_seconds(resp.headers.get("Retry-After"), now=time.time()),
            retry_after_ms_header=resp.headers.get("retry-after-ms"),
        )
        return failure_from_chat_error(replace(error, message=self.scrubber.scrub_text(error.message)))


def delta_seconds(retry_after: str | None, *, now: float) -> str | None:
    """A ``Retry-After`` in the delta-seconds form the bridge reads: an HTTP-date becomes the seconds from
    ``now`` until it (0 once past); anything else is left as it came."""
    if retry_after is None or retry_after.strip().replace(".", "", 1).isdigit():
        return retry_after
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError, IndexError):
        return retry_after
    if when.tzinfo is None:
        return retry_after  # a date without a zone is not an HTTP-date
    return str(max(0, math.ceil(when.timestamp() - now)))
