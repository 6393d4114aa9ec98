"""Per-attempt request state: a retried or fallen-back request reports what its served answer did."""

from __future__ import annotations

import aiohttp

from gateway import bridge
from gateway.context import RequestContext
from gateway.routing.loading import RouteTarget
from gateway.routing.table import Backend, Route, SourceRef, backend_key

KEY = backend_key("chatgpt", "https://chatgpt.com/backend-api/codex", "gpt-5.4")


def _target(alias: str) -> RouteTarget:
    backend = Backend(
        key=KEY,
        provider="chatgpt",
        base_url="https://chatgpt.com/backend-api/codex",
        model="gpt-5.4",
        mode="responses",
        credentials="c",
    )
    route = Route(alias=alias, backend=KEY, mode="responses", source=SourceRef(namespace="ns", name=alias))
    return RouteTarget(alias=alias, route=route, backend=backend, fallbacks=(), client_timeout=aiohttp.ClientTimeout())


def _state(ctx: RequestContext) -> tuple[str | None, str | None, bool]:
    return ctx.served_alias, ctx.recovery_source, ctx.unrecoverable


def test_a_new_attempt_forgets_what_a_failed_one_recovered() -> None:
    ctx = RequestContext(request_id="r", started=0.0)
    ctx.serving(_target("first"))
    ctx.record_recovery(bridge.RecoveryOutcome(source="deltas", unrecoverable=False))
    assert _state(ctx) == ("first", "deltas", False)
    ctx.serving(_target("fallback"))  # the first attempt failed after recovering
    assert _state(ctx) == ("fallback", None, False)
    ctx.record_recovery(bridge.RecoveryOutcome(source=None, unrecoverable=True))
    assert _state(ctx) == ("fallback", None, True)
    ctx.record_recovery(bridge.RecoveryOutcome())
    assert _state(ctx) == ("fallback", None, False)
