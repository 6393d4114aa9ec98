"""The routing-table load results exist at 0 from the start (issue 14, item 4).

Born on its first event, ``aliasgate_routing_table_loads_total{result="rejected"}`` would start at 1 and
``increase()`` would see 0: the first rejected table on a pod would never alert, and a namespace-wide
``source_error`` would never show on the dashboard.
"""

from __future__ import annotations

from typing import get_args

from gateway.metrics import TABLE_LOAD_RESULTS, GatewayMetrics
from gateway.routing.loading import LoadResult


def test_every_table_load_result_is_exported_at_zero_before_any_load() -> None:
    metrics = GatewayMetrics()
    for result in ("accepted", "unchanged", "rejected", "source_error"):
        got = metrics.registry.get_sample_value("aliasgate_routing_table_loads_total", {"result": result})
        assert got == 0.0, result
    exposition = metrics.render().decode()
    assert exposition.count("aliasgate_routing_table_loads_total{") == 4, exposition


def test_the_precreated_results_are_exactly_the_loader_results() -> None:
    assert set(TABLE_LOAD_RESULTS) == set(get_args(LoadResult))


def test_the_first_rejection_moves_the_series_from_zero_to_one() -> None:
    metrics = GatewayMetrics()
    before = metrics.value("aliasgate_routing_table_loads_total", {"result": "rejected"})
    metrics.table_loads("rejected").inc()
    after = metrics.registry.get_sample_value("aliasgate_routing_table_loads_total", {"result": "rejected"})
    assert (before, after) == (0.0, 1.0)
