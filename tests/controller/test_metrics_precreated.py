"""Every result/reason series of the controller exists at 0 from the start.

A counter child born on its first event starts at 1, so ``rate()``/``increase()`` never see that first
event and dashboards show "No data" on a quiet controller (issue 14, items 4 and 10).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from controller.metrics import PUBLISH_RESULTS, RECONCILE_RESULTS, WATCH_RESTART_REASONS, ControllerMetrics

ROOT = Path(__file__).resolve().parents[2]
LABELLED = {
    "aliasgate_controller_reconciles_total": ("result", RECONCILE_RESULTS),
    "aliasgate_controller_watch_restarts_total": ("reason", WATCH_RESTART_REASONS),
    "aliasgate_controller_table_publishes_total": ("result", PUBLISH_RESULTS),
}


@pytest.mark.parametrize("name", sorted(LABELLED))
def test_every_label_value_is_exported_at_zero_before_any_event(name: str) -> None:
    metrics = ControllerMetrics()
    label, values = LABELLED[name]
    assert values, name
    for value in values:
        assert metrics.registry.get_sample_value(name, {label: value}) == 0.0, f"{name}{{{label}={value!r}}}"
    exposition = metrics.render().decode()
    assert exposition.count(f"{name}{{") == len(values), exposition


def test_the_reconcile_histogram_is_exported_before_the_first_reconcile() -> None:
    metrics = ControllerMetrics()
    count = metrics.registry.get_sample_value("aliasgate_controller_reconcile_duration_seconds_count")
    assert count == 0.0


def test_the_documented_label_values_are_the_precreated_ones() -> None:
    """docs/controller.md lists the values operators may alert on; they are exactly the pre-created ones."""
    doc = " ".join((ROOT / "docs" / "controller.md").read_text(encoding="utf-8").split())
    for name, (_, values) in LABELLED.items():
        described = re.search(re.escape(name) + r"\{\w+\}` \(([^)]*)\)", doc)
        assert described is not None, f"docs/controller.md does not list the values of {name}"
        assert set(re.findall(r"`(\w+)`", described.group(1))) == set(values), name


def test_code_only_increments_precreated_label_values() -> None:
    """A literal label value used anywhere in the code must be pre-created too (else it is born at 1)."""
    attribute = {
        "aliasgate_controller_reconciles_total": "reconciles",
        "aliasgate_controller_watch_restarts_total": "watch_restarts",
        "aliasgate_controller_table_publishes_total": "table_publishes",
    }
    sources = [p.read_text(encoding="utf-8") for d in ("controller", "aliasgate") for p in (ROOT / d).rglob("*.py")]
    for name, attr in attribute.items():
        used = {v for text in sources for v in re.findall(rf'\.{attr}\.labels\("(\w+)"\)', text)}
        assert used <= set(LABELLED[name][1]), f"{name}: {used - set(LABELLED[name][1])} not pre-created"
