"""Admin ``/status``: the full view (public shape, unchanged) and the summary the controller polls."""

from __future__ import annotations

from typing import Any

from gateway.routing.table import RejectedAlias, RoutingTable, SourceRef
from tests.gateway.conftest import Gateway, GatewayFactory, RouteSpec, build_table

TOP = ["ready", "draining", "servedGeneration", "lastLoadResult", "lastLoadError", "table"]


async def _get(gateway: Gateway, query: str = "") -> tuple[int, str, Any]:
    response = await gateway.admin.get("/status" + query)
    return response.status, response.headers["Content-Type"], await response.json()


def _expected_listing(table: RoutingTable) -> dict[str, Any]:
    """The per-alias part, spelled out independently of the handler."""
    return {
        "routes": {
            alias: {
                "backend": route.backend,
                "provider": table.backends[route.backend].provider,
                "mode": route.mode,
                "source": f"{route.source.namespace}/{route.source.name}",
                "sourceGeneration": route.source.generation,
                "fallbacks": list(route.settings.fallbacks),
            }
            for alias, route in table.routes.items()
        },
        "rejected": [
            {
                "alias": r.alias,
                "source": f"{r.source.namespace}/{r.source.name}",
                "reason": r.reason,
                "message": r.message,
            }
            for r in table.rejected
        ],
    }


def _with_rejected(base: str) -> RoutingTable:
    table = build_table(base, [RouteSpec("a", settings={"fallbacks": ["b"]}), RouteSpec("b", model="m2")])
    rejected = (
        RejectedAlias(
            alias="b", source=SourceRef(namespace="team-z", name="b"), reason="Conflict", message="déjà pris"
        ),
    )
    return RoutingTable.build(backends=dict(table.backends), routes=dict(table.routes), rejected=rejected, generation=3)


async def test_the_full_view_keeps_its_shape(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(load_table=False)
    table = _with_rejected("http://127.0.0.1:1")
    assert gateway.holder.load_table(table, origin="test")
    status, content_type, body = await _get(gateway)
    assert status == 200
    assert content_type == "application/json; charset=utf-8"
    assert list(body) == [*TOP, "routes", "rejected"]
    assert body["ready"] is True
    assert body["draining"] is False
    assert body["servedGeneration"] == 3
    assert body["lastLoadResult"] == "accepted"
    assert body["lastLoadError"] is None
    assert body["table"] == {"generation": 3, "sha256": table.sha256, "aliasCount": 2}
    assert {"routes": body["routes"], "rejected": body["rejected"]} == _expected_listing(table)
    assert body["rejected"][0]["message"] == "déjà pris"
    assert (await _get(gateway, "?view=full"))[2] == body


async def test_the_summary_view_has_the_same_fields_without_the_listing(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    _, _, full = await _get(gateway)
    status, content_type, summary = await _get(gateway, "?view=summary")
    assert status == 200
    assert content_type == "application/json; charset=utf-8"
    assert list(summary) == TOP
    assert summary == {key: full[key] for key in TOP}
    assert summary["table"]["aliasCount"] == 3


async def test_both_views_before_any_table(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(load_table=False)
    expected = {
        "ready": False,
        "draining": False,
        "servedGeneration": None,
        "lastLoadResult": None,
        "lastLoadError": None,
    }
    assert (await _get(gateway))[2] == expected
    assert (await _get(gateway, "?view=summary"))[2] == expected


async def test_the_cached_listing_follows_every_new_table(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    first = (await _get(gateway))[2]
    again = (await _get(gateway))[2]
    assert again == first
    assert gateway.holder.current is not None
    assert list(gateway.holder.current.views) == ["status.listing"]
    newer = build_table("http://127.0.0.1:1", [RouteSpec("only", model="m9")], generation=5)
    assert gateway.holder.load_table(newer, origin="test")
    after = (await _get(gateway))[2]
    assert list(after["routes"]) == ["only"]
    assert after["routes"]["only"]["backend"] == "openai|http://127.0.0.1:1/v1|m9"
    assert after["table"]["generation"] == 5
    assert after["lastLoadResult"] == "accepted"
    assert gateway.holder.load_bytes(b"{broken", origin="test") is False
    rejected = (await _get(gateway))[2]
    assert rejected["lastLoadResult"] == "rejected"  # the top-level fields are never cached
    assert rejected["routes"] == after["routes"]


async def test_an_unknown_view_is_a_clear_400(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    status, _, body = await _get(gateway, "?view=everything")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] == "view"
    assert body["error"]["code"] == "invalid_view"
    assert "summary" in body["error"]["message"]
