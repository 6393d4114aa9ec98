"""Programmed tracking: which table generation introduced an alias generation, and what gateways serve."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from controller.kube.endpoints import admin_urls
from controller.programmed import ProgrammedTracker
from gateway.routing.table import Route, RoutingTable, SourceRef
from tests.support.tables import BACKEND, one_backend_table


def table(generation: int, **aliases: int) -> RoutingTable:
    return one_backend_table(generation, aliases)


def test_unknown_without_gateway_reports() -> None:
    tracker = ProgrammedTracker()
    tracker.record_table(table(1, a=1))
    assert tracker.programmed("ns", "a", 1) is None
    tracker.observe({})
    assert tracker.programmed("ns", "a", 1) is None


def test_programmed_once_every_gateway_serves_the_introducing_generation() -> None:
    tracker = ProgrammedTracker()
    tracker.record_table(table(3, a=1))
    tracker.observe({"g1": 3, "g2": 2})
    assert tracker.programmed("ns", "a", 1) is False
    tracker.observe({"g1": 3, "g2": 4})
    assert tracker.programmed("ns", "a", 1) is True


def test_an_unrelated_change_does_not_unprogram_an_alias() -> None:
    tracker = ProgrammedTracker()
    tracker.record_table(table(1, a=1))
    tracker.record_table(table(2, a=1, b=1))
    tracker.observe({"g1": 1})
    assert tracker.programmed("ns", "a", 1) is True
    assert tracker.programmed("ns", "b", 1) is False


def test_a_new_object_generation_waits_for_its_own_table() -> None:
    tracker = ProgrammedTracker()
    tracker.record_table(table(1, a=1))
    tracker.record_table(table(2, a=2))
    tracker.observe({"g1": 1})
    assert tracker.programmed("ns", "a", 2) is False
    assert tracker.programmed("ns", "a", 1) is False  # generation 1 is no longer what the table carries


def test_observe_reports_whether_anything_changed() -> None:
    tracker = ProgrammedTracker()
    assert tracker.observe({"g1": 1}) is True
    assert tracker.observe({"g1": 1}) is False
    assert tracker.observe(None) is True


def test_admin_urls_take_ready_endpoints_with_the_named_port() -> None:
    slices = [
        {
            "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}],
            "endpoints": [
                {"addresses": ["10.0.0.1"], "conditions": {"ready": True}},
                {"addresses": ["10.0.0.2"], "conditions": {"ready": False}},
                {"addresses": ["fd00::3"], "conditions": {"ready": True, "terminating": False}},
            ],
        },
        {"ports": [{"name": "http", "port": 8080}], "endpoints": [{"addresses": ["10.0.0.9"]}]},
    ]
    assert admin_urls(slices, "admin") == ["http://10.0.0.1:9090", "http://[fd00::3]:9090"]


def _reference_record(introduced: dict[tuple[str, str], tuple[int | None, int]], table: RoutingTable) -> None:
    """The tracker's rule applied to the whole table (what the incremental path must agree with)."""
    seen: set[tuple[str, str]] = set()
    for route in table.routes.values():
        ref = (route.source.namespace, route.source.name)
        seen.add(ref)
        known = introduced.get(ref)
        if known is None or known[0] != route.source.generation or known[1] > table.generation:
            introduced[ref] = (route.source.generation, table.generation)
    for ref in set(introduced) - seen:
        del introduced[ref]


@given(
    steps=st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from("pqrst"), st.tuples(st.sampled_from("abc"), st.integers(1, 3)), max_size=5),
            st.integers(-1, 3),
        ),
        max_size=8,
    )
)
def test_incremental_recording_agrees_with_recording_the_whole_table(
    steps: list[tuple[dict[str, tuple[str, int]], int]],
) -> None:
    """Routes carried over as the same object (as the controller's memo does) or rebuilt, aliases moving
    between objects, objects leaving, and generations that usually rise but may fall (a new leader).
    As in any published table, an object has at most one route and an alias one object."""
    tracker = ProgrammedTracker()
    reference: dict[tuple[str, str], tuple[int | None, int]] = {}
    kept: dict[tuple[str, str, int], Route] = {}
    generation = 1
    for objects, step in steps:
        generation = max(0, generation + step)
        routes: dict[str, Route] = {}
        for name, (alias, gen) in sorted(objects.items()):
            if alias in routes:
                continue
            route = kept.get((alias, name, gen)) if step % 2 else None
            if route is None:
                route = Route(
                    alias=alias,
                    backend=BACKEND.key,
                    mode="responses",
                    source=SourceRef(namespace="ns", name=name, generation=gen),
                )
                kept[(alias, name, gen)] = route
            routes[alias] = route
        published = RoutingTable.build(backends={BACKEND.key: BACKEND}, routes=routes).with_generation(generation)
        tracker.record_table(published)
        _reference_record(reference, published)
        assert tracker.introduced == reference
