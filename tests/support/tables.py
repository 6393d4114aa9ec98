"""Small routing tables for tests of the code that passes tables around (publishing, watching, tracking)."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.routing.table import Backend, Route, RoutingTable, SourceRef

__all__ = ["BACKEND", "one_backend_table"]

BACKEND = Backend(
    key="openai|https://api.openai.com/v1|gpt-5",
    provider="openai",
    base_url="https://api.openai.com/v1",
    model="gpt-5",
    mode="responses",
)
"""The one backend every alias of :func:`one_backend_table` goes to."""


def one_backend_table(generation: int, aliases: Mapping[str, int | None], *, namespace: str = "ns") -> RoutingTable:
    """A table of Responses routes to :data:`BACKEND`: one per alias, from the ModelAlias ``namespace/<alias>``
    at the alias's object generation (None: not given)."""
    routes = {
        alias: Route(
            alias=alias,
            backend=BACKEND.key,
            mode="responses",
            source=SourceRef(namespace=namespace, name=alias, generation=object_generation),
        )
        for alias, object_generation in aliases.items()
    }
    return RoutingTable.build(backends={BACKEND.key: BACKEND}, routes=routes, generation=generation)
