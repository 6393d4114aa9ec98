"""The table holder after a one-alias change: what is re-validated, what is reused, what is still refused."""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from typing import Any

import orjson

from gateway.metrics import GatewayMetrics
from gateway.routing.loading import TableHolder
from gateway.routing.table import RoutingTable
from tests.gateway.conftest import GatewayFactory, RouteSpec, build_table

BASE = "http://127.0.0.1:1"
SPECS = [RouteSpec("a"), RouteSpec("b", model="m2"), RouteSpec("c", model="m2")]

Logs = list[MutableMapping[str, Any]]


def _holder() -> tuple[TableHolder, GatewayMetrics]:
    metrics = GatewayMetrics()
    holder = TableHolder(metrics=metrics)
    assert holder.load_bytes(build_table(BASE, SPECS, generation=1).to_json(), origin="test") is True
    return holder, metrics


def _doc(holder: TableHolder) -> dict[str, Any]:
    assert holder.current is not None
    return orjson.loads(holder.current.table.to_json())  # type: ignore[no-any-return]


def _publish(doc: dict[str, Any], *, generation: int, rehash: bool = True) -> bytes:
    doc["generation"] = generation
    if rehash:
        content = {k: v for k, v in doc.items() if k not in ("generation", "sha256")}
        doc["sha256"] = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def _rejections(metrics: GatewayMetrics) -> float:
    return metrics.value("aliasgate_routing_table_loads_total", {"result": "rejected"})


def _served(holder: TableHolder) -> RoutingTable:
    assert holder.current is not None
    return holder.current.table


def test_an_unchanged_route_keeps_its_objects_and_a_changed_one_is_revalidated() -> None:
    holder, _ = _holder()
    before = holder.current
    assert before is not None
    doc = _doc(holder)
    doc["routes"]["b"]["settings"]["requestOverrides"] = {"temperature": 0.5}
    assert holder.load_bytes(_publish(doc, generation=2), origin="test") is True
    after = holder.current
    assert after is not None
    assert after.generation == 2
    assert after.table.routes["a"] is before.table.routes["a"]
    assert after.targets["a"] is before.targets["a"]
    assert after.table.routes["b"] is not before.table.routes["b"]
    assert after.table.routes["b"].settings.request_overrides == {"temperature": 0.5}
    assert after.targets["b"].route is after.table.routes["b"]
    assert after.change is not None
    assert after.change.changed == ("b",)
    assert after.table == RoutingTable.from_json(_publish(doc, generation=2))


def test_an_invalid_change_is_refused_although_everything_else_is_reused(captured_logs: Logs) -> None:
    holder, metrics = _holder()
    served = _served(holder)
    doc = _doc(holder)
    doc["routes"]["b"]["mode"] = "sideways"
    assert holder.load_bytes(_publish(doc, generation=2), origin="test") is False
    assert holder.last_error is not None
    assert holder.last_error.startswith("invalid routing table document: 1 error(s): routes.b.mode")
    assert _served(holder) is served
    assert _rejections(metrics) == 1
    rejected = [entry for entry in captured_logs if entry["event"] == "table_rejected"]
    assert len(rejected) == 1
    assert rejected[0]["kept_generation"] == 1


def test_a_change_that_breaks_an_invariant_is_refused_with_the_full_message() -> None:
    holder, metrics = _holder()
    doc = _doc(holder)
    doc["routes"]["a"]["settings"]["fallbacks"] = ["nowhere"]
    assert holder.load_bytes(_publish(doc, generation=2), origin="test") is False
    assert holder.last_error == "routing table breaks invariants: route 'a' falls back to unknown alias 'nowhere'"
    assert _served(holder).generation == 1
    assert _rejections(metrics) == 1


def test_removing_an_alias_another_falls_back_to_is_refused() -> None:
    metrics = GatewayMetrics()
    holder = TableHolder(metrics=metrics)
    specs = [RouteSpec("a", settings={"fallbacks": ["b"]}), RouteSpec("b", model="m2")]
    assert holder.load_bytes(build_table(BASE, specs, generation=1).to_json(), origin="test") is True
    doc = _doc(holder)
    del doc["routes"]["b"]
    assert holder.load_bytes(_publish(doc, generation=2), origin="test") is False
    assert holder.last_error is not None
    assert "falls back to unknown alias 'b'" in holder.last_error
    assert holder.current is not None
    assert holder.current.aliases == ("a", "b")


def test_a_removed_route_disappears() -> None:
    holder, _ = _holder()
    doc = _doc(holder)
    del doc["routes"]["b"]
    assert holder.load_bytes(_publish(doc, generation=2), origin="test") is True
    assert holder.current is not None
    assert holder.current.aliases == ("a", "c")
    assert holder.current.get("b") is None
    assert "b" not in holder.current.targets
    assert holder.current.change is not None
    assert holder.current.change.removed == ("b",)


def test_a_backend_change_retargets_the_routes_on_it() -> None:
    holder, _ = _holder()
    before = holder.current
    assert before is not None
    doc = _doc(holder)
    key = before.table.routes["b"].backend
    doc["backends"][key]["credentials"] = "another-secret"
    assert holder.load_bytes(_publish(doc, generation=2), origin="test") is True
    after = holder.current
    assert after is not None
    assert after.table.routes["b"] is before.table.routes["b"]  # the route itself did not change
    for alias in ("b", "c"):  # both are on that backend
        assert after.targets[alias] is not before.targets[alias]
        assert after.targets[alias].backend.credentials == "another-secret"
    assert after.targets["a"] is before.targets["a"]
    assert set(after.change.changed if after.change else ()) == {"b", "c"}


def test_a_hash_that_does_not_match_the_content_is_still_refused() -> None:
    holder, metrics = _holder()
    doc = _doc(holder)
    doc["routes"]["a"]["source"]["generation"] = 9
    assert holder.load_bytes(_publish(doc, generation=2, rehash=False), origin="test") is False
    assert holder.last_error == "routing table breaks invariants: sha256 does not match the table content"
    assert _served(holder).routes["a"].source.generation == 1
    assert _rejections(metrics) == 1


def test_a_stale_generation_is_still_refused() -> None:
    holder, _ = _holder()
    doc = _doc(holder)
    assert holder.load_bytes(_publish(doc, generation=5), origin="test") is True
    doc["routes"]["a"]["source"]["generation"] = 2
    assert holder.load_bytes(_publish(doc, generation=4), origin="test") is False
    assert holder.last_error == "generation 4 is older than the served generation 5"
    assert _served(holder).routes["a"].source.generation == 1


def test_a_non_canonical_document_is_accepted_when_its_hash_is_right() -> None:
    holder, _ = _holder()
    before = _served(holder)
    doc = _doc(holder)
    doc["routes"]["c"]["source"]["generation"] = 3
    canonical = _publish(doc, generation=2)
    reordered = orjson.loads(canonical)
    reordered["routes"] = dict(reversed(list(reordered["routes"].items())))
    indented = orjson.dumps(reordered, option=orjson.OPT_INDENT_2)  # another spelling, same content
    assert indented != canonical
    assert holder.load_bytes(indented, origin="test") is True
    after = _served(holder)
    assert after.generation == 2
    assert after.routes["c"].source.generation == 3
    assert after.routes["a"] is before.routes["a"]
    assert after == RoutingTable.from_json(canonical)


def test_the_same_document_under_a_new_generation_reuses_everything() -> None:
    holder, metrics = _holder()
    before = holder.current
    assert before is not None
    doc = _doc(holder)
    assert holder.load_bytes(_publish(doc, generation=1), origin="test") is True
    assert (holder.last_result, holder.current) == ("unchanged", before)
    assert holder.load_bytes(_publish(doc, generation=7), origin="test") is True
    after = holder.current
    assert after is not None
    assert holder.last_result == "accepted"
    assert after.generation == 7
    assert after.table.sha256 == before.table.sha256
    assert all(after.targets[alias] is target for alias, target in before.targets.items())
    assert after.aliases is before.aliases
    assert after.change is not None
    assert after.change.changed == ()
    assert metrics.value("aliasgate_routing_table_generation") == 7


def test_a_table_loaded_directly_in_between_is_compared_with_nothing_stale() -> None:
    holder, _ = _holder()
    doc = _doc(holder)
    direct = build_table(BASE, [RouteSpec("a"), RouteSpec("z", model="m3")], generation=2)
    assert holder.load_table(direct, origin="local") is True
    doc["routes"]["b"]["source"]["generation"] = 4
    assert holder.load_bytes(_publish(doc, generation=3), origin="test") is True
    served = _served(holder)
    assert served.routes["b"].source.generation == 4
    assert served == RoutingTable.from_json(_publish(doc, generation=3))
    assert holder.current is not None
    assert holder.current.aliases == ("a", "b", "c")


async def test_metric_series_follow_an_incremental_change(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    doc = orjson.loads(gateway.holder.current.table.to_json())  # type: ignore[union-attr]
    route = dict(doc["routes"]["team/responses"], alias="team/added")
    route["source"] = {"namespace": "team-a", "name": "added"}
    doc["routes"]["team/added"] = route
    assert gateway.holder.load_bytes(_publish(doc, generation=2), origin="test") is True
    text = await (await gateway.admin.get("/metrics")).text()
    assert 'aliasgate_bridge_unrecoverable_total{alias="team/added"} 0.0' in text
    assert 'aliasgate_input_normalized_total{alias="team/added"} 0.0' in text
