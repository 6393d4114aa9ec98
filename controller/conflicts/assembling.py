"""Phases 4 and 5 of the engine: resolved modes, routes with their settings, references, the table."""

from __future__ import annotations

from typing import Any

from controller.conflicts.checks import Entry, credential_problem
from controller.conflicts.memo import ResolveMemo
from controller.conflicts.reasons import Rejection
from controller.conflicts.recording import Output, source_ref
from controller.conflicts.verdicts import Refs, Resolution, Verdict
from controller.resources import PROVIDER_MODES, ModelAlias, ModelAliasSpec
from gateway.routing.table import (
    ApiMode,
    Backend,
    HealthCheckSettings,
    RetrySettings,
    Route,
    RouteSettings,
    RoutingTable,
    TimeoutSettings,
)

__all__ = ["assemble", "route_settings"]

_DEFAULT_SETTINGS = RouteSettings()
_DEFAULT_TIMEOUTS = TimeoutSettings()
_DEFAULT_RETRIES = RetrySettings()
_DEFAULT_HEALTH = HealthCheckSettings()


def route_settings(spec: ModelAliasSpec, fallbacks: tuple[str, ...]) -> RouteSettings:
    """Per-route settings: the spec's values over the table's defaults (shared instance when all default)."""
    if (
        spec.timeouts is None
        and spec.retries is None
        and spec.health_check is None
        and not fallbacks
        and not spec.request_defaults
        and not spec.request_overrides
    ):
        return _DEFAULT_SETTINGS
    timeouts = _DEFAULT_TIMEOUTS
    if spec.timeouts is not None:
        read = spec.timeouts.read_seconds or _DEFAULT_TIMEOUTS.read_seconds
        connect = spec.timeouts.connect_seconds or min(_DEFAULT_TIMEOUTS.connect_seconds, read)
        idle = spec.timeouts.idle_seconds or _DEFAULT_TIMEOUTS.idle_seconds
        timeouts = TimeoutSettings(connect_seconds=connect, read_seconds=read, idle_seconds=idle)
    retries = _DEFAULT_RETRIES
    if spec.retries is not None:
        attempts = spec.retries.attempts or _DEFAULT_RETRIES.attempts
        backoff = (
            _DEFAULT_RETRIES.backoff_seconds if spec.retries.backoff_seconds is None else spec.retries.backoff_seconds
        )
        retries = RetrySettings(
            attempts=attempts,
            backoff_seconds=backoff,
            backoff_max_seconds=max(_DEFAULT_RETRIES.backoff_max_seconds, backoff),
        )
    health = _DEFAULT_HEALTH
    if spec.health_check is not None:
        spec_health = spec.health_check
        interval = spec_health.interval_seconds or _DEFAULT_HEALTH.interval_seconds
        timeout = spec_health.timeout_seconds or min(_DEFAULT_HEALTH.timeout_seconds, interval)
        enabled = _DEFAULT_HEALTH.enabled if spec_health.enabled is None else spec_health.enabled
        health = HealthCheckSettings.model_construct(
            enabled=enabled, interval_seconds=interval, timeout_seconds=timeout
        )
    # model_construct: every value comes from a validated spec, so validating again is pure cost.
    return RouteSettings.model_construct(
        timeouts=timeouts,
        retries=retries,
        fallbacks=fallbacks,
        request_defaults=dict(spec.request_defaults or {}),
        request_overrides=dict(spec.request_overrides or {}),
        health_check=health,
    )


def shared_settings(
    spec: ModelAliasSpec, fallbacks: tuple[str, ...], shared: dict[Any, RouteSettings]
) -> RouteSettings:
    """Equal settings as one instance: thousands of aliases configured alike hold one object, not thousands."""
    if spec.request_defaults or spec.request_overrides:  # dicts: not hashable, and rarely shared
        return route_settings(spec, fallbacks)
    key = (spec.timeouts, spec.retries, spec.health_check, fallbacks)
    found = shared.get(key)
    if found is None:
        found = shared[key] = route_settings(spec, fallbacks)
    return found


def accepted_route(entry: Entry, mode: ApiMode, refs: Refs, shared: dict[Any, RouteSettings]) -> tuple[Route, Verdict]:
    """The route and the verdict of an accepted alias."""
    obj = entry.obj
    route = Route.model_construct(  # built from validated parts
        alias=entry.alias,
        backend=entry.key,
        mode=mode,
        source=source_ref(obj),
        settings=shared_settings(obj.spec, refs.fallbacks, shared),
    )
    inherited = " (inherited from the backend)" if entry.declared is None else ""
    verdict = Verdict(
        namespace=obj.metadata.namespace,
        name=obj.metadata.name,
        uid=obj.metadata.uid,
        generation=obj.metadata.generation,
        alias=entry.alias,
        accepted=True,
        reason="Accepted",
        message=f"serves alias {entry.alias!r} on backend {entry.key} in {mode} mode{inherited}",
        backend_key=entry.key,
        resolved_mode=mode,
        refs_resolved=refs.resolved,
        refs_reason=refs.reason,
        refs_message=refs.message,
    )
    return route, verdict


def assemble(
    entries: list[Entry],
    live: list[Entry],
    winners: dict[str, Entry],
    responses_backends: set[str],
    out: Output,
    generation: int,
    memo: ResolveMemo | None,
) -> Resolution:
    """Phases 4 and 5: resolved modes, routes with their settings, references, every verdict, the table."""
    out.accepted_aliases = frozenset(winners)
    backends: dict[str, Backend] = {}
    routes: dict[str, Route] = {}
    remembered = memo.entries if memo is not None else {}
    shared = memo.settings if memo is not None else {}
    kept: dict[int, tuple[ModelAlias, ApiMode, Refs, Route, Verdict]] = {}
    reused = 0
    for entry in live:
        obj = entry.obj
        refs = out.references(obj, None)
        if entry.rejection is not None:
            out.reject(obj, entry.alias, entry.key, entry.rejection, refs)
            continue
        spec_backend = obj.spec.backend
        responses = entry.key in responses_backends or "chat" not in PROVIDER_MODES[spec_backend.provider]
        mode: ApiMode = "responses" if responses else "chat"
        if entry.key not in backends:
            backends[entry.key] = Backend(
                key=entry.key,
                provider=spec_backend.provider,
                base_url=entry.base_url,
                model=spec_backend.model,
                mode=mode,
                credentials=spec_backend.credentials,
                api_version=spec_backend.api_version,
            )
        known = remembered.get(id(obj))
        if known is not None and known[0] is obj and known[1] == mode and known[2] == refs:
            route, verdict = known[3], known[4]
            reused += 1
        else:
            route, verdict = accepted_route(entry, mode, refs, shared)
        kept[id(obj)] = (obj, mode, refs, route, verdict)
        routes[entry.alias] = route
        out.verdicts[entry.ref] = verdict
    if memo is not None:
        memo.reused = reused
        memo.entries = kept
        if len(memo.settings) > 2 * len(kept) + 64:
            memo.settings = {}  # configurations come and go: never outgrow the set (routes keep theirs)
    for entry in entries:
        if entry.rejection is not None and entry.ref not in out.verdicts:  # phase 2's rejections
            out.reject(entry.obj, entry.alias, entry.key, entry.rejection, out.references(entry.obj, None))
    for obj, alias, key, rejection in out.statics:
        if rejection[0] in ("CredentialsNotFound", "CredentialsNotPermitted"):
            credential_rejection: Rejection | None = rejection
        elif out.credentials is not None:
            credential_rejection = credential_problem(obj, out.credentials)
        else:
            credential_rejection = None
        out.reject(obj, alias, key, rejection, out.references(obj, credential_rejection))
    table = RoutingTable.build(
        backends=backends,
        routes=routes,
        rejected=tuple(out.rejected),
        generation=generation,
        memo=memo.render if memo is not None else None,
    )
    return Resolution(
        table=table, verdicts=dict(sorted(out.verdicts.items())), credentials_checked=out.credentials is not None
    )
