"""Gateway side of one routing-table change at 10,000 aliases, in-process.

What a gateway pod does when the controller republishes the table: ``TableHolder.load_bytes`` on the
published bytes (parse, hash, validate, check, compile, swap) with the real ``GatewayMetrics`` and the
``on_swap`` callbacks ``create_app`` installs, the cycle collector on as in production. Reported:

* a cold load (first table of a pod);
* the load after one change: a new alias (target < 60 ms), a renamed alias, and the same content
  under a new generation;
* the admin ``/status`` handler, summary view and full view (first and repeated call per table).

The table has the shape ``bench_controller.alias_object`` gives once the controller resolved it:
aliases ``team-NN/model-NNNNN`` over 50 namespaces, 200 upstream models, health checks off.
Median of several runs, each from a fresh app. Run: `.venv/bin/python benchmarks/bench_table_load.py`
(``--quick`` for a smoke run, ``--aliases N`` for another size).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import structlog
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.app import create_app
from gateway.handlers import admin
from gateway.keys import admin_app_key, table_holder_key
from gateway.routing.loading import CompiledTable, TableHolder
from gateway.routing.table import (
    Backend,
    HealthCheckSettings,
    Route,
    RouteSettings,
    RoutingTable,
    SourceRef,
    backend_key,
)
from gateway.settings import GatewaySettings

BASE_URL = "https://api.openai.com/v1"
SETTINGS = RouteSettings(health_check=HealthCheckSettings(enabled=False))


class _Idle:
    """A table source that delivers nothing (the benchmark feeds the holder itself)."""

    async def run(self, sink: Any) -> None:
        await asyncio.Event().wait()


def _backend(index: int) -> Backend:
    model = f"upstream-{index % 200:03d}"
    key = backend_key("openai", BASE_URL, model)
    return Backend(
        key=key, provider="openai", base_url=BASE_URL, model=model, mode="responses", credentials="openai-key"
    )


def _route(index: int, alias: str | None = None) -> Route:
    namespace = f"team-{index % 50:02d}"
    return Route(
        alias=alias or f"{namespace}/model-{index:05d}",
        backend=_backend(index).key,
        mode="responses",
        source=SourceRef(namespace=namespace, name=f"alias-{index:05d}", uid=f"u{index}", generation=1),
        settings=SETTINGS,
    )


def documents(count: int) -> dict[str, bytes]:
    """The published bytes: a base table, then each one-change successor (in load order)."""
    routes = {route.alias: route for route in (_route(i) for i in range(count))}
    backends = {backend.key: backend for backend in (_backend(i) for i in range(min(count, 200)))}
    base = RoutingTable.build(backends=backends, routes=routes, generation=1)
    added = dict(routes)
    extra = _route(count)
    added[extra.alias] = extra
    with_new = RoutingTable.build(backends=backends, routes=added, generation=2)
    renamed = dict(added)
    old = _route(5)
    del renamed[old.alias]
    moved = _route(5, alias=old.alias + "-renamed")
    renamed[moved.alias] = moved
    with_rename = RoutingTable.build(backends=backends, routes=renamed, generation=3)
    return {
        "cold load": base.to_json(),
        "one change: a new alias": with_new.to_json(),
        "one change: a renamed alias": with_rename.to_json(),
        "same content, new generation": with_rename.with_generation(4).to_json(),
    }


def fresh_app(callback_ms: list[float] | None = None) -> tuple[web.Application, TableHolder]:
    """A gateway app (not started); with ``callback_ms``, the time its on_swap callbacks take is added there."""
    app = create_app(GatewaySettings(namespace="bench"), table_source=_Idle(), probing=False)
    holder = app[table_holder_key]
    if callback_ms is not None:
        holder.on_swap[:] = [_timed_callback(callback, callback_ms) for callback in holder.on_swap]
    return app, holder


def _timed_callback(callback: Callable[[CompiledTable], None], spent: list[float]) -> Callable[[CompiledTable], None]:
    def timed(table: CompiledTable) -> None:
        start = time.perf_counter()
        callback(table)
        spent.append((time.perf_counter() - start) * 1000)

    return timed


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


async def status_ms(app: web.Application, query: str) -> float:
    admin_app = app[admin_app_key]
    request = make_mocked_request("GET", "/status" + query, app=admin_app)
    start = time.perf_counter()
    response = await admin.get_status(request)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status == 200
    return elapsed


def report(label: str, samples: list[float], target: float | None = None) -> None:
    median = statistics.median(samples)
    verdict = "" if target is None else ("  OK" if median < target else f"  OVER (target < {target:g} ms)")
    spread = f"min {min(samples):7.1f}  max {max(samples):7.1f}"
    print(f"{label:40s} median {median:7.1f} ms   {spread}{verdict}")


async def main() -> None:
    quick = "--quick" in sys.argv
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))  # no table_loaded lines
    count = int(sys.argv[sys.argv.index("--aliases") + 1]) if "--aliases" in sys.argv else 10_000
    runs = 3 if quick else 9
    docs = documents(count)
    print(f"{count} aliases, document {len(docs['cold load']) / 1e6:.1f} MB, {runs} runs, GC on")
    loads: dict[str, list[float]] = {label: [] for label in docs}
    callbacks: dict[str, list[float]] = {label: [] for label in docs}
    status: dict[str, list[float]] = {"summary": [], "full, first": [], "full, again": []}
    for _ in range(runs):
        spent: list[float] = []
        app, holder = fresh_app(spent)
        for label, data in docs.items():
            # A pod serves a table for a while before the next change: its collector has settled by then
            # (the first collection after a cold load is paid once, not by every change).
            gc.collect()
            spent.clear()
            loads[label].append(timed(partial(holder.load_bytes, data, origin="bench")))
            assert holder.last_result == "accepted", (label, holder.last_error)
            callbacks[label].append(sum(spent))
        gc.collect()
        status["summary"].append(await status_ms(app, "?view=summary"))
        status["full, first"].append(await status_ms(app, ""))
        status["full, again"].append(await status_ms(app, ""))
    for label, samples in loads.items():
        report(f"load_bytes, {label}", samples, target=60 if label.startswith("one change") else None)
        report("  of which on_swap callbacks", callbacks[label])
    for label, samples in status.items():
        report(f"GET /status ({label})", samples)


if __name__ == "__main__":
    asyncio.run(main())
