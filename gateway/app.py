"""create_app: the public gateway app (routes, middlewares, lifetimes) and its admin app.

``create_app`` returns the public ``web.Application``; the admin app (``/livez``, ``/readyz``,
``/metrics``, ``/status``, ``/health/*``) is ``app[admin_app_key]`` and shares the same table
holder, metrics and health state. Every lifetime (upstream session, table source, credential
store, prober) is one ``cleanup_ctx`` entry of the public app. :func:`serve` runs both apps on
their ports until told to stop, then drains (docs/gateway.md, "Shutdown").
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress

import aiohttp
import structlog
from aiohttp import web

from aliasgate.runtime.listen import parse_listen
from aliasgate.runtime.loops import running_loop_name
from gateway.client_keys import ApiKeyFile, ApiKeys
from gateway.connections import ConnectionGuard, GuardedAppRunner
from gateway.crashes import crash_fields
from gateway.credentials.refresh import TokenRefresher
from gateway.credentials.store import CredentialStore, EmptyCredentialStore
from gateway.draining import Draining
from gateway.handlers import admin, chat_completions, models, responses
from gateway.keys import (
    admin_app_key,
    api_keys_key,
    body_budget_key,
    clock_key,
    credentials_key,
    draining_key,
    health_key,
    ids_key,
    metrics_key,
    prober_key,
    providers_key,
    rng_key,
    settings_key,
    table_holder_key,
    table_source_key,
    upstream_key,
)
from gateway.limits import BodyBudget
from gateway.metrics import GatewayMetrics
from gateway.middlewares import auth_middleware, request_middleware, set_request_id_header
from gateway.probing import HealthTracker, Prober
from gateway.providers import Providers
from gateway.routing.loading import CompiledTable, TableHolder
from gateway.routing.source import TableSource
from gateway.settings import GatewaySettings
from gateway.upstream.client import UpstreamClient
from gateway.upstream.connections import ConnectionPool
from gateway.upstream.scrubbing import CredentialScrubber

__all__ = ["CUT_SECONDS", "EXIT_BOUND_SECONDS", "create_app", "drain", "serve"]

_log = structlog.get_logger("gateway.app")
ADMIN_MAX_CONNECTIONS = 256
"""The admin port serves probes and scrapes: a few connections; the cap keeps a flood off the event loop."""


def random_ids() -> Callable[[], str]:
    """Request ids: 128 random bits as 32 hex digits; unique enough for correlation, no syscall per id."""
    source = random.Random()

    def new_id() -> str:
        return f"{source.getrandbits(128):032x}"

    return new_id


def create_app(
    settings: GatewaySettings,
    *,
    table_source: TableSource,
    credentials: CredentialStore | None = None,
    token_refresher: TokenRefresher | None = None,
    api_keys: ApiKeys | None = None,
    clock: Callable[[], float] = time.perf_counter,
    ids: Callable[[], str] | None = None,
    rng: random.Random | None = None,
    metrics: GatewayMetrics | None = None,
    connector: Callable[[], aiohttp.BaseConnector] | None = None,
    probing: bool = True,
) -> web.Application:
    """Build the gateway. ``token_refresher``: who refreshes OAuth tokens in ``credentials`` (default: this
    process alone, in memory; the Kubernetes one for Secrets read through the API, see ``gateway/__main__.py``).
    ``api_keys`` defaults to ``settings.api_keys_file`` (none = open port);
    ``probing=False`` disables the scheduled prober (``POST /health/probe`` still works)."""
    metrics = metrics if metrics is not None else GatewayMetrics()
    credentials = credentials if credentials is not None else EmptyCredentialStore()
    if api_keys is None:
        api_keys = ApiKeys.from_file(settings.api_keys_file) if settings.api_keys_file else ApiKeys((), enabled=False)
    key_file = ApiKeyFile(
        api_keys, path=settings.api_keys_file, interval_seconds=settings.api_keys_poll_interval_seconds
    )
    holder = TableHolder(metrics=metrics)
    scrubber = CredentialScrubber(client_digests=lambda: key_file.current.digests())
    health = HealthTracker(
        metrics=metrics, failure_threshold=settings.passive_failure_threshold, scrub=scrubber.scrub_text
    )
    upstream_ref: list[UpstreamClient] = []
    providers = Providers.build(
        credentials=credentials,
        session=lambda: upstream_ref[0].session,
        chatgpt_token_url=settings.chatgpt_token_url,
        chatgpt_client_id=settings.chatgpt_client_id,
        chatgpt_refresh_margin_seconds=settings.chatgpt_refresh_margin_seconds,
        metrics=metrics,
        token_refresher=token_refresher,
    )
    upstream = UpstreamClient(providers=providers, metrics=metrics, scrubber=scrubber)
    upstream_ref.append(upstream)
    prober = Prober(
        holder=holder,
        health=health,
        upstream=lambda: upstream,
        concurrency=settings.probe_concurrency,
        min_interval_seconds=settings.probe_min_interval_seconds,
    )
    draining = Draining()

    last_swap = 0
    """Serial of the table the listener below saw last: a table compiled against it is handled by its change."""

    def on_swap(table: CompiledTable) -> None:
        nonlocal last_swap
        change = table.change
        incremental = change is not None and change.since == last_swap
        last_swap = table.serial
        health.retain(set(table.aliases))  # every time: a request still running may record a removed alias
        fresh = (table.targets[a] for a in change.changed) if incremental and change else table.targets.values()
        for target in fresh:
            if target.route.mode == "responses":  # series that alerts watch exist from 0, not from the first event
                metrics.unrecoverable(target.alias)
                metrics.input_normalized(target.alias)
        credentials.want({b.credentials for b in table.table.backends.values() if b.credentials})

    holder.on_swap.append(on_swap)

    # Without a keys file the auth layer is left out entirely: one middleware less on every request.
    middlewares = [request_middleware, auth_middleware] if api_keys.enabled else [request_middleware]
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    admin_app = web.Application()
    for target in (app, admin_app):
        target[settings_key] = settings
        target[table_holder_key] = holder
        target[metrics_key] = metrics
        target[health_key] = health
        target[prober_key] = prober
        target[draining_key] = draining
        target[clock_key] = clock
    app[table_source_key] = table_source
    app[credentials_key] = credentials
    app[providers_key] = providers
    app[upstream_key] = upstream
    app[api_keys_key] = key_file
    app[ids_key] = ids if ids is not None else random_ids()
    app[rng_key] = rng if rng is not None else random.Random()
    app[admin_app_key] = admin_app
    app[body_budget_key] = BodyBudget(
        settings.max_inflight_body_bytes, on_change=lambda held: metrics.body_bytes_inflight.set(held)
    )

    app.router.add_routes(
        [
            web.post("/v1/chat/completions", chat_completions.post_chat_completions, name="chat_completions"),
            web.post("/v1/responses", responses.post_responses, name="responses"),
            web.get("/v1/models", models.list_models, name="models", allow_head=False),
            web.get("/v1/models/{model:.+}", models.get_model, name="model", allow_head=False),
        ]
    )
    admin_app.router.add_routes(
        [
            web.get("/livez", admin.get_livez, name="livez"),
            web.get("/readyz", admin.get_readyz, name="readyz"),
            web.get("/metrics", admin.get_metrics, name="metrics"),
            web.get("/status", admin.get_status, name="status"),
            web.get("/health/models", admin.get_health_models, name="health_models"),
            web.post("/health/probe", admin.post_health_probe, name="health_probe"),
        ]
    )
    app.on_response_prepare.append(set_request_id_header)
    app.cleanup_ctx.append(_upstream_session(upstream, connector))
    app.cleanup_ctx.append(_background("table_source", lambda: table_source.run(holder)))
    app.cleanup_ctx.append(_background("credentials", credentials.run))
    if settings.api_keys_file is not None:
        app.cleanup_ctx.append(_background("api_keys", key_file.run))
    if probing:
        app.cleanup_ctx.append(_background("prober", prober.run))
    app.on_shutdown.append(_start_draining)
    return app


def _upstream_session(
    upstream: UpstreamClient, connector: Callable[[], aiohttp.BaseConnector] | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Model calls go through the gateway's own connection pool; an aiohttp ``connector`` given to the app
    carries them instead (and always carries the providers' token calls)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        made = connector() if connector is not None else aiohttp.TCPConnector(limit=1024, ttl_dns_cache=60)
        session = aiohttp.ClientSession(connector=made, auto_decompress=True, trust_env=False)
        pool = ConnectionPool(limit=1024) if connector is None else None
        upstream.attach(session, pool)
        try:
            yield
        finally:
            upstream.attach(None)
            if pool is not None:
                await pool.close()
            await session.close()

    return context


def _background(name: str, run: Callable[[], Awaitable[None]]) -> Callable[[web.Application], AsyncIterator[None]]:
    """A task that lives as long as the app; its crash is logged, never silent."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        async def guarded() -> None:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.error("background_task_crashed", task=name, **crash_fields(exc))  # no frame locals
                raise

        task = asyncio.create_task(guarded(), name=f"aliasgate:{name}")
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task

    return context


async def _start_draining(app: web.Application) -> None:
    app[draining_key].value = True
    _log.info("draining_started", inflight=app[metrics_key].value("aliasgate_inflight_requests"))


async def serve(app: web.Application, settings: GatewaySettings, *, stop: asyncio.Event) -> None:
    """Serve the public and admin ports until ``stop`` is set, then drain (see :func:`drain`) and exit.

    The public port runs with aiohttp's handler cancellation: a client that goes away cancels its request
    at once, wherever it waits (an upstream's silence included), so the upstream is closed and the
    disconnect recorded promptly instead of at the next write.
    """
    admin_app = app[admin_app_key]
    metrics = app[metrics_key]
    guard = ConnectionGuard(
        max_connections=settings.max_connections,
        header_timeout=settings.header_read_timeout_seconds,
        on_open=metrics.connections.set,
        on_rejected=metrics.connections_rejected.inc,
        on_header_timeout=metrics.read_timeouts("headers").inc,
        on_bad_request=lambda code: metrics.bad_http_requests(code).inc(),
    )
    admin_guard = ConnectionGuard(max_connections=ADMIN_MAX_CONNECTIONS, header_timeout=guard.header_timeout)
    keepalive = settings.keepalive_timeout_seconds
    runner = GuardedAppRunner(
        app,
        guard=guard,
        access_log=None,
        keepalive_timeout=keepalive,
        handler_cancellation=True,
        shutdown_timeout=CLOSE_SECONDS,
    )
    admin_runner = GuardedAppRunner(
        admin_app, guard=admin_guard, access_log=None, keepalive_timeout=keepalive, shutdown_timeout=1.0
    )
    await runner.setup()
    await admin_runner.setup()
    try:
        host, port = parse_listen(settings.listen)
        await web.TCPSite(runner, host, port).start()
        admin_host, admin_port = parse_listen(settings.admin_listen)
        await web.TCPSite(admin_runner, admin_host, admin_port).start()
        _log.info(
            "gateway_started",
            listen=settings.listen,
            admin_listen=settings.admin_listen,
            event_loop=running_loop_name(),
        )
        await stop.wait()
        await drain(app, runner, grace_seconds=settings.shutdown_grace_seconds)
    finally:
        await runner.cleanup()
        await admin_runner.cleanup()
        _log.info("gateway_stopped")


CUT_SECONDS = 2.0
"""After the grace: how long cut requests get to write their error frame (a write, not a wait on anyone)."""
CLOSE_SECONDS = 1.0
"""Then: how long aiohttp waits for a handler before it closes the connection anyway."""
EXIT_BOUND_SECONDS = CUT_SECONDS + CLOSE_SECONDS + 2.0
"""Upper bound of the time from the grace's end to the process's exit (cleanup included); the chart's
``terminationMarginSeconds`` must exceed it, or Kubernetes may SIGKILL a pod that is still ending streams."""


async def drain(app: web.Application, runner: web.AppRunner, *, grace_seconds: float) -> None:
    """Stop taking connections, let requests in flight finish within ``grace_seconds``, then cut the rest.

    The cut requests end their answers themselves (an error frame and ``[DONE]`` on a stream, a 503 before
    one started) within :data:`CUT_SECONDS`; the caller's ``runner.cleanup()`` closes whatever is left.
    """
    draining = app[draining_key]
    draining.value = True
    _log.info("shutdown_requested", grace_seconds=grace_seconds, inflight=draining.running)
    for site in list(runner.sites):
        await site.stop()
    server = runner.server
    if server is not None:
        server.pre_shutdown()  # idle keep-alive connections close now, busy ones after their answer
    if await draining.wait_idle(grace_seconds):
        _log.info("drained", cut=0)
        return
    cut = draining.cut()
    _log.warning("shutdown_grace_expired", cut=cut, grace_seconds=grace_seconds)
    if not await draining.wait_idle(CUT_SECONDS):
        _log.warning("shutdown_cut_incomplete", still_running=draining.running)
