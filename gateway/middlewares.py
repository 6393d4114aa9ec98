"""Public-port middlewares: request context + error envelope + canonical log line, then client auth.

``request_middleware`` accepts a client's ``x-request-id`` (if it looks like an id) or makes one,
turns every :class:`~gateway.errors.GatewayError` and routing HTTPException into the OpenAI
envelope, and when the request ends records the metrics and the single ``request_completed``
log line from the :class:`~gateway.context.RequestContext`. ``auth_middleware`` checks client API
keys on ``/v1/*`` when a keys file is configured.
"""

from __future__ import annotations

import asyncio
import math
import re

import orjson
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.context import RequestContext
from gateway.crashes import crash_fields
from gateway.errors import (
    AuthenticationError,
    BodyTooLargeError,
    GatewayError,
    MethodNotAllowedError,
    NotFoundError,
    ShuttingDownError,
    UpstreamError,
    error_body,
)
from gateway.keys import api_keys_key, clock_key, context_key, draining_key, ids_key, metrics_key, upstream_key
from gateway.metrics import UNKNOWN_ALIAS, GatewayMetrics

__all__ = ["auth_middleware", "client_gone", "error_response", "request_middleware", "set_request_id_header"]

_log = structlog.get_logger("gateway.requests")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
CLIENT_CLOSED = 499
"""Status recorded (never sent) when the client went away mid-answer, as nginx does."""


def error_response(error: GatewayError) -> web.Response:
    """The envelope, with the retry advice: ``Retry-After`` (whole seconds, rounded up, as HTTP wants) and
    ``retry-after-ms`` (exact, which the OpenAI SDKs prefer) when a wait is known, ``x-should-retry`` when the
    gateway has already run its own retries for this request (docs/gateway.md, "Retries")."""
    headers = {}
    if error.retry_after is not None:
        wait = max(0.0, error.retry_after)
        headers["Retry-After"] = str(math.ceil(wait))
        headers["retry-after-ms"] = str(round(wait * 1000))
    if error.should_retry is not None:
        headers["x-should-retry"] = "true" if error.should_retry else "false"
    response = web.Response(
        status=error.http_status, body=orjson.dumps(error.body()), content_type="application/json", headers=headers
    )
    if error.http_status == 408:
        response.force_close()  # the client is still sending a body nobody will read
    return response


def _http_error(exc: web.HTTPException) -> web.Response:
    if exc.status == 404:
        return error_response(NotFoundError(f"Unknown path: {exc.reason}."))
    if exc.status == 405:
        return error_response(MethodNotAllowedError("Method not allowed for this path."))
    if exc.status == 413:
        return error_response(BodyTooLargeError("Request body too large."))
    body = error_body(message=exc.reason, error_type="invalid_request_error", param=None, code=None)
    return web.Response(status=exc.status, body=orjson.dumps(body), content_type="application/json")


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    app = request.app
    clock = app[clock_key]
    incoming = request.headers.get("x-request-id")
    request_id = incoming if incoming is not None and _REQUEST_ID.match(incoming) else app[ids_key]()
    ctx = RequestContext(request_id=request_id, started=clock())
    request[context_key] = ctx
    metrics = app[metrics_key]
    draining = app[draining_key]
    task = asyncio.current_task()
    if task is not None:
        draining.enter(task)
    metrics.inflight.inc()
    try:
        try:
            response = await handler(request)
        except GatewayError as exc:
            ctx.error_code = exc.code or exc.type  # an upstream error may carry no code
            if isinstance(exc, UpstreamError):  # upstream text: no credential value, whatever the path
                exc.message = app[upstream_key].scrubber.scrub_text(exc.message)
            response = error_response(exc)
        except web.HTTPException as exc:
            response = _http_error(exc)
        ctx.status = CLIENT_CLOSED if ctx.disconnected else response.status
        return response
    except asyncio.CancelledError:
        if not draining.take_cut():
            # aiohttp cancels the handler of a client that went away: a normal event, one info line below.
            ctx.disconnected = True
            ctx.status = CLIENT_CLOSED
            raise
        # The shutdown's grace ran out before this answer started: say so instead of dropping the connection.
        error = ShuttingDownError("The gateway is shutting down; retry the request.")
        ctx.shutdown_cut = True
        ctx.status = error.http_status
        ctx.error_code = error.code
        return error_response(error)
    except ConnectionResetError as exc:
        if not client_gone(request):
            return _crashed(ctx, request, exc)
        ctx.disconnected = True
        ctx.status = CLIENT_CLOSED
        return web.Response(status=CLIENT_CLOSED)  # never sent: the connection is gone (aiohttp drops it quietly)
    except Exception as exc:
        return _crashed(ctx, request, exc)
    finally:
        if task is not None:
            draining.leave(task)
        metrics.inflight.dec()
        _finish(ctx, metrics, clock(), request.path)


def client_gone(request: web.Request) -> bool:
    """The client's connection is closed (or closing): nothing can be sent to it any more."""
    transport = request.transport
    return transport is None or transport.is_closing()


def _crashed(ctx: RequestContext, request: web.Request, exc: Exception) -> web.Response:
    """A bug: logged once as an error with where it happened (never frame locals), answered with a 500."""
    _log.error("request_crashed", request_id=ctx.request_id, path=request.path, **crash_fields(exc))
    ctx.status = 500
    ctx.error_code = "internal_error"
    return error_response(GatewayError("The gateway failed to process the request."))


def _finish(ctx: RequestContext, metrics: GatewayMetrics, now: float, path: str) -> None:
    total = now - ctx.started
    overhead = max(0.0, total - ctx.upstream_seconds - ctx.backoff_seconds)
    alias = ctx.alias
    if ctx.endpoint:
        mode = ctx.mode or "none"
        stream = "true" if ctx.stream else "false"
        metrics.requests(alias, mode, stream, str(ctx.status)).inc()
        metrics.duration(alias, mode, stream).observe(total)
        metrics.overhead(alias).observe(overhead)
        if ctx.backoff_seconds:
            metrics.retry_backoff(alias).observe(ctx.backoff_seconds)
        if ctx.first_token_at is not None:
            metrics.ttft(alias).observe(ctx.first_token_at - ctx.started)
        if alias != UNKNOWN_ALIAS:
            for kind, count in ctx.tokens.items():
                if count:
                    metrics.tokens(alias, kind).inc(count)
            if ctx.recovery_source:
                metrics.recoveries(alias, ctx.recovery_source).inc()
            if ctx.input_normalized:
                metrics.input_normalized(alias).inc()
        for empty in ctx.empty_answers:  # by the alias whose upstream answered empty (a fallback's own)
            metrics.unrecoverable(empty).inc()
        if ctx.shutdown_cut:
            metrics.shutdown_cuts(alias).inc()
        elif ctx.disconnected:
            metrics.client_disconnects(alias).inc()
    _log.info(
        "request_completed",
        request_id=ctx.request_id,
        path=path,
        endpoint=ctx.endpoint or None,
        alias=None if alias == UNKNOWN_ALIAS else alias,
        served_alias=ctx.served_alias,
        backend=ctx.backend or None,
        mode=ctx.mode or None,
        stream=ctx.stream,
        status=ctx.status,
        error_code=ctx.error_code,
        duration_seconds=round(total, 6),
        upstream_seconds=round(ctx.upstream_seconds, 6),
        backoff_seconds=round(ctx.backoff_seconds, 6) if ctx.backoff_seconds else None,
        overhead_seconds=round(overhead, 6),
        ttft_seconds=None if ctx.first_token_at is None else round(ctx.first_token_at - ctx.started, 6),
        tokens=ctx.tokens or None,
        recovery_source=ctx.recovery_source,
        unrecoverable=len(ctx.empty_answers) or None,
        input_normalized=ctx.input_normalized or None,
        client_disconnected=ctx.disconnected,
        shutdown_cut=ctx.shutdown_cut,
    )


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    keys = request.app[api_keys_key].current
    if not keys.enabled or not request.path.startswith("/v1/"):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise AuthenticationError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", code="missing_api_key"
        )
    grant = keys.authenticate(presented.strip())
    if grant is None:
        raise AuthenticationError("Incorrect API key provided.")
    request[context_key].grant = grant
    return await handler(request)


async def set_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: echo the request id on every response, streams included."""
    ctx = request.get(context_key)
    if ctx is not None:
        response.headers["x-request-id"] = ctx.request_id
