"""GET /v1/models and /v1/models/{id}: the aliases of the served table (only those the client key may use).

Rejected aliases are not listed (nothing serves them); asked for by id, they answer 404
``model_not_available`` with their reason, the same answer a chat or responses request gets.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.errors import NotReadyError, alias_not_served
from gateway.keys import context_key, table_holder_key
from gateway.routing.loading import CompiledTable

__all__ = ["get_model", "list_models"]


def _model(alias: str, table: CompiledTable) -> dict[str, Any]:
    return {"id": alias, "object": "model", "created": 0, "owned_by": "aliasgate"}


def _table(request: web.Request) -> CompiledTable:
    table = request.app[table_holder_key].current
    if table is None:
        raise NotReadyError("The gateway has not loaded a routing table yet.")
    return table


async def list_models(request: web.Request) -> web.Response:
    table = _table(request)
    grant = request[context_key].grant
    data = [_model(alias, table) for alias in table.aliases if grant is None or grant.allows(alias)]
    return web.json_response({"object": "list", "data": data})


async def get_model(request: web.Request) -> web.Response:
    """One served alias; a rejected one answers ``model_not_available`` with its reason, as a request to it does."""
    table = _table(request)
    alias = request.match_info["model"]
    grant = request[context_key].grant
    if grant is not None and not grant.allows(alias):
        raise alias_not_served(alias, None)
    if table.get(alias) is None:
        rejected = table.rejection(alias)
        raise alias_not_served(alias, None if rejected is None else rejected.reason)
    return web.json_response(_model(alias, table))
