"""GET /v1/models and /v1/models/{id}: the aliases of the served table (only those the client key may use)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.errors import NotReadyError, UnknownAliasError
from gateway.keys import context_key, table_holder_key
from gateway.limits import echo
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
    table = _table(request)
    alias = request.match_info["model"]
    grant = request[context_key].grant
    if table.get(alias) is None or (grant is not None and not grant.allows(alias)):
        raise UnknownAliasError(
            f"The model '{echo(alias)}' does not exist or you do not have access to it.", param="model"
        )
    return web.json_response(_model(alias, table))
