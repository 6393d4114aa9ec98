"""A model request made ready: body read and validated, alias resolved (with the caller's grant) into a route.

The first step of every model endpoint; what follows is `attempts` (calling the upstream, failover) and
`relay` (answering). Route settings (request defaults and overrides) are applied per attempt, since a
fallback alias has its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.context import RequestContext
from gateway.errors import NotReadyError, PermissionDeniedError, alias_not_served
from gateway.handlers.body import read_json_body
from gateway.keys import context_key, table_holder_key
from gateway.limits import echo
from gateway.routing.loading import CompiledTable, RouteTarget

__all__ = ["Request", "apply_route_settings", "prepare", "read_body", "resolve"]


@dataclass(slots=True)
class Request:
    """A validated model request: its body, the requested alias and where the table sends it."""

    ctx: RequestContext
    body: dict[str, Any]
    alias: str
    table: CompiledTable
    target: RouteTarget


async def prepare(request: web.Request, endpoint: str, validate: Callable[[dict[str, Any]], str]) -> Request:
    """Read and validate the body, then resolve its alias (with the caller's grant) into a route."""
    ctx = request[context_key]
    ctx.endpoint = endpoint
    body = await read_body(request)
    alias = validate(body)
    ctx.stream = body.get("stream") is True
    table, target = resolve(request, alias)
    ctx.mode = target.route.mode
    return Request(ctx, body, alias, table, target)


async def read_body(request: web.Request) -> dict[str, Any]:
    """The JSON object body, within the size, time and in-flight limits (:mod:`gateway.handlers.body`)."""
    return await read_json_body(request)


def resolve(request: web.Request, alias: str) -> tuple[CompiledTable, RouteTarget]:
    """The current table and the alias's target; 404 names only the requested alias (and, when a ModelAlias
    asking for it was rejected, that reason: ``model_not_available``)."""
    table = request.app[table_holder_key].current
    if table is None:
        raise NotReadyError("The gateway has not loaded a routing table yet.")
    ctx = request[context_key]
    target = table.get(alias)
    if target is None:
        rejected = table.rejection(alias)
        if rejected is not None and ctx.grant is not None and not ctx.grant.allows(alias):
            raise PermissionDeniedError(f"Your API key may not use the model '{echo(alias)}'.", param="model")
        raise alias_not_served(alias, None if rejected is None else rejected.reason)
    ctx.alias = alias
    if ctx.grant is not None and not ctx.grant.allows(alias):
        raise PermissionDeniedError(f"Your API key may not use the model '{echo(alias)}'.", param="model")
    return table, target


def apply_route_settings(body: dict[str, Any], target: RouteTarget) -> dict[str, Any]:
    """Request defaults (where the client set nothing) and overrides (always); never the model."""
    settings = target.route.settings
    if not settings.request_defaults and not settings.request_overrides:
        return body
    merged = {**settings.request_defaults, **body, **settings.request_overrides}
    merged["model"] = body.get("model")
    return merged
