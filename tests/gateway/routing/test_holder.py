"""The table holder keeps the last good table, and the file source feeds it from a polled file."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from pathlib import Path

import orjson

from gateway.metrics import GatewayMetrics
from gateway.routing.loading import FileTableSource, TableHolder
from tests.gateway.conftest import GatewayFactory, RouteSpec, build_table

BASE = "http://127.0.0.1:1"


def _holder() -> tuple[TableHolder, GatewayMetrics]:
    metrics = GatewayMetrics()
    return TableHolder(metrics=metrics), metrics


def _loads(metrics: GatewayMetrics, result: str) -> float:
    return metrics.value("aliasgate_routing_table_loads_total", {"result": result})


def test_a_valid_table_is_swapped_in_and_counted() -> None:
    holder, metrics = _holder()
    table = build_table(BASE, [RouteSpec("a"), RouteSpec("b", model="m2")], generation=4)
    assert holder.load_bytes(table.to_json(), origin="test") is True
    assert holder.current is not None
    assert holder.current.aliases == ("a", "b")
    target = holder.current.get("a")
    assert target is not None
    assert target.backend.model == "gpt-5.4"
    assert metrics.value("aliasgate_routing_table_generation") == 4
    assert _loads(metrics, "accepted") == 1


def test_garbage_is_rejected_and_the_last_good_table_keeps_serving() -> None:
    holder, metrics = _holder()
    good = build_table(BASE, [RouteSpec("a")], generation=1)
    holder.load_table(good, origin="test")
    assert holder.load_bytes(b"{not json", origin="test") is False
    assert holder.load_bytes(b'{"kind": "RoutingTable", "routes": 3}', origin="test") is False
    assert holder.current is not None
    assert holder.current.table == good
    assert _loads(metrics, "rejected") == 2
    assert holder.last_error is not None
    assert holder.last_error.startswith("invalid routing table document")
    assert metrics.value("aliasgate_routing_table_generation") == 1


def test_a_table_that_breaks_invariants_is_rejected() -> None:
    holder, metrics = _holder()
    good = build_table(BASE, [RouteSpec("a")], generation=1)
    holder.load_table(good, origin="test")
    doc = orjson.loads(build_table(BASE, [RouteSpec("a"), RouteSpec("b", model="m2")], generation=2).to_json())
    doc["routes"]["b"]["backend"] = "openai|nowhere|x"
    assert holder.load_bytes(orjson.dumps(doc), origin="test") is False
    assert holder.last_error is not None
    assert "missing backend" in holder.last_error
    assert holder.current is not None
    assert holder.current.generation == 1
    assert _loads(metrics, "rejected") == 1


def test_an_older_generation_is_refused_and_an_equal_one_is_unchanged() -> None:
    holder, metrics = _holder()
    holder.load_table(build_table(BASE, [RouteSpec("a")], generation=5), origin="test")
    assert holder.load_table(build_table(BASE, [RouteSpec("a")], generation=5), origin="test") is True
    assert _loads(metrics, "unchanged") == 1
    assert holder.load_table(build_table(BASE, [RouteSpec("z")], generation=3), origin="test") is False
    assert holder.current is not None
    assert holder.current.aliases == ("a",)


async def test_invalid_table_at_runtime_keeps_the_gateway_serving(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    assert gateway.holder.load_bytes(b'{"apiVersion": "nope"}', origin="test") is False
    async with gateway.sdk() as sdk:
        completion = await sdk.chat.completions.create(
            model="team/chat", messages=[{"role": "user", "content": "still here"}]
        )
    assert completion.choices[0].message.content == "You said: still here"
    status = await (await gateway.admin.get("/status")).json()
    assert status["lastLoadResult"] == "rejected"
    assert status["servedGeneration"] == 1
    assert "invalid routing table document" in status["lastLoadError"]
    metrics = await (await gateway.admin.get("/metrics")).text()
    assert 'aliasgate_routing_table_loads_total{result="rejected"} 1.0' in metrics


async def test_file_source_follows_the_file_and_survives_bad_versions(tmp_path: Path) -> None:
    holder, metrics = _holder()
    path = tmp_path / "table.json"
    path.write_bytes(build_table(BASE, [RouteSpec("a")], generation=1).to_json())
    source = FileTableSource(path, interval_seconds=0.01)
    task = asyncio.create_task(source.run(holder))
    try:
        await _until(lambda: holder.current is not None)
        path.write_bytes(b"{broken")
        await _until(lambda: _loads(metrics, "rejected") == 1)
        assert holder.current is not None
        assert list(holder.current.aliases) == ["a"]
        path.write_bytes(build_table(BASE, [RouteSpec("a"), RouteSpec("b", model="m")], generation=2).to_json())
        await _until(lambda: holder.current is not None and holder.current.generation == 2)
        path.unlink()
        await _until(lambda: _loads(metrics, "source_error") == 1)
        assert holder.current is not None
        assert holder.current.aliases == ("a", "b")
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _until(condition: object, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.005)


def test_a_document_with_defaults_written_out_is_still_verified_and_accepted() -> None:
    holder, metrics = _holder()
    table = build_table(BASE, [RouteSpec("a"), RouteSpec("b", model="m2")], generation=3)
    spelled_out = orjson.dumps(table.model_dump(mode="json", by_alias=True))  # not the canonical bytes
    assert holder.load_bytes(spelled_out, origin="test") is True
    assert holder.current is not None
    assert holder.current.table == table
    tampered = orjson.loads(spelled_out)
    tampered["routes"]["a"]["settings"]["timeouts"]["readSeconds"] = 5.0
    tampered["generation"] = 4
    assert holder.load_bytes(orjson.dumps(tampered), origin="test") is False
    assert holder.last_error is not None
    assert "sha256" in holder.last_error
    assert holder.current.table == table
    assert _loads(metrics, "rejected") == 1


def test_routes_with_equal_timeouts_share_one_client_timeout() -> None:
    holder, _ = _holder()
    table = build_table(BASE, [RouteSpec("a"), RouteSpec("b", model="m2")], generation=1)
    assert holder.load_bytes(table.to_json(), origin="test") is True
    assert holder.current is not None
    a, b = holder.current.get("a"), holder.current.get("b")
    assert a is not None
    assert b is not None
    assert a.client_timeout is b.client_timeout
    assert a.client_timeout.total == a.route.settings.timeouts.read_seconds


def test_the_same_table_delivered_again_after_a_failure_clears_the_last_error() -> None:
    holder, metrics = _holder()
    table = build_table(BASE, [RouteSpec("a")], generation=3)
    assert holder.load_bytes(table.to_json(), origin="test") is True
    holder.source_failed("cannot read table file: gone", origin="test")
    assert (holder.last_result, holder.last_error) == ("source_error", "cannot read table file: gone")
    assert holder.load_bytes(table.to_json(), origin="test") is True  # the same content, back again
    assert (holder.last_result, holder.last_error) == ("unchanged", None)
    assert holder.load_bytes(b"{broken", origin="test") is False
    assert holder.last_result == "rejected"
    assert holder.load_table(table, origin="test") is True
    assert (holder.last_result, holder.last_error) == ("unchanged", None)
    assert _loads(metrics, "unchanged") == 2
