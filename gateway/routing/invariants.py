"""The invariants of a table that differs little from one already checked.

``RoutingTable.check()`` walks every route and backend. When the previous table passed it and the new
one shares most of its (immutable) route and backend objects, only what changed can break an
invariant: :func:`hold_after` examines just that and answers exactly ``not table.problems(hash_verified=True)``.
It only says yes or no; the caller asks ``check()`` for the messages of a table that fails. Pure.
"""

from __future__ import annotations

from gateway.routing.decoding import Delta
from gateway.routing.table import Backend, Route, RoutingTable, backend_key

__all__ = ["hold_after"]


def hold_after(table: RoutingTable, before: RoutingTable, delta: Delta | None = None) -> bool:
    """True when ``table`` breaks no invariant except maybe its hash; ``before`` must have passed ``check()``.

    Objects of ``before`` met again (``is``) under the same key were checked then, and stay sound as
    long as what they depend on is also unchanged: a route on its backend, a fallback on the set of
    aliases, the routed/rejected overlap on both lists (this last one is cheap, so always redone).
    ``delta`` (from the decoder, about ``before``) names the changed routes, so the others are not
    even visited."""
    old_backends = before.backends
    backends = table.backends
    backends_same = len(backends) == len(old_backends)
    for key, backend in backends.items():
        if old_backends.get(key) is not backend:
            backends_same = False
            if not _backend_sound(key, backend):
                return False
    routes = table.routes
    if delta is not None and delta.base is before and backends_same:
        for alias in delta.changed:
            if not _route_sound(alias, routes[alias], table):
                return False
        alias_left = bool(delta.removed)
    else:
        old_routes = before.routes
        kept = 0
        for alias, route in routes.items():
            if old_routes.get(alias) is route:
                kept += 1
                if backends_same:
                    continue
                target = backends.get(route.backend)
                if target is None or (target.mode == "responses" and route.mode == "chat"):
                    return False
            elif not _route_sound(alias, route, table):
                return False
        alias_left = kept != len(old_routes)
    if alias_left:  # a kept route may have fallen back to an alias that left
        for route in routes.values():
            for fallback in route.settings.fallbacks:
                if fallback not in routes:
                    return False
    # Every route is stored under its own alias by now, so a routed alias is found by name.
    for entry in table.rejected:
        routed = routes.get(entry.alias)
        if (
            routed is not None
            and routed.source.namespace == entry.source.namespace
            and routed.source.name == entry.source.name
        ):
            return False
    return True


def _backend_sound(key: str, backend: Backend) -> bool:
    return (
        key == backend.key
        and key == backend_key(backend.provider, backend.base_url, backend.model)
        and not (backend.provider == "chatgpt" and backend.mode != "responses")
    )


def _route_sound(alias: str, route: Route, table: RoutingTable) -> bool:
    if alias != route.alias:
        return False
    target = table.backends.get(route.backend)
    if target is None or (target.mode == "responses" and route.mode == "chat"):
        return False
    return all(fallback in table.routes and fallback != alias for fallback in route.settings.fallbacks)
