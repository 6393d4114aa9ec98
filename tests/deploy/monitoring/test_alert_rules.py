"""The chart's alerts judged by a real Prometheus rule engine: `promtool check rules` and `promtool test rules`.

The unit tests (alerts/*.yaml) feed series shaped like aliasgate's real exposition and assert, for every
alert, when it fires (with its exact labels and rendered annotations) and when it stays silent.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.deploy import manifests
from tests.deploy.monitoring import promtool

ALERT_LABELS = {"team": "platform"}
"""metrics.prometheusRule.alertLabels of the everything-on value set, added to every alert."""


@pytest.fixture(scope="module")
def rendered(rendered_sources: dict[str, manifests.Rendered]) -> manifests.Rendered:
    return rendered_sources["everything-on"]


def test_promtool_is_installed_and_at_least_the_judged_version() -> None:
    assert promtool.version() >= promtool.MINIMUM_VERSION


def test_rules_pass_promtool_check(rendered: manifests.Rendered, tmp_path: Path) -> None:
    rules = promtool.write_rules(rendered, tmp_path)
    result = promtool.run("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(promtool.alerts(rendered))} rules found" in result.stdout


@pytest.mark.parametrize("unit_tests", promtool.unit_test_files(), ids=lambda p: p.stem)
def test_promtool_unit_tests_pass(unit_tests: Path, rendered: manifests.Rendered, tmp_path: Path) -> None:
    promtool.write_rules(rendered, tmp_path)
    shutil.copy(unit_tests, tmp_path / unit_tests.name)
    result = promtool.run("test", "rules", unit_tests.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("interval", ["15s", "30s", "1m"])
def test_a_70_second_outage_fires_whatever_the_evaluation_interval(
    interval: str, rendered: manifests.Rendered, tmp_path: Path
) -> None:
    """Debian's prometheus.yml evaluates every 15 s, the Operator every 30 s, Prometheus' default is 1 m."""
    source = promtool.ALERT_TESTS / "error_ratio.yaml"
    loaded = yaml.safe_load(source.read_text(encoding="utf-8"))
    (outage,) = [test for test in loaded["tests"] if test["name"].startswith("70 seconds of 100% 503")]
    checks = [case for case in outage["alert_rule_test"] if case["alertname"] == "AliasgateAliasOutage"]
    assert [(c["eval_time"], bool(c["exp_alerts"])) for c in checks] == [("5m", False), ("6m", True), ("7m", False)]
    outage["alert_rule_test"] = checks
    loaded.update(evaluation_interval=interval, tests=[outage])
    (tmp_path / source.name).write_text(yaml.safe_dump(loaded, sort_keys=False), encoding="utf-8")
    promtool.write_rules(rendered, tmp_path)
    result = promtool.run("test", "rules", source.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_expectation_fails(rendered: manifests.Rendered, tmp_path: Path) -> None:
    """The harness can fail: the first firing expectation with one label changed must be refused."""
    source = promtool.ALERT_TESTS / "no_leader.yaml"
    text = source.read_text(encoding="utf-8")
    assert "namespace: aliasgate-system}" in text
    (tmp_path / source.name).write_text(text.replace("namespace: aliasgate-system}", "namespace: elsewhere}", 1))
    promtool.write_rules(rendered, tmp_path)
    result = promtool.run("test", "rules", source.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_silent(rendered: manifests.Rendered) -> None:
    names = set(promtool.alerts(rendered))
    cases = promtool.alert_cases()
    unknown = {case.alertname for case in cases} - names
    assert not unknown, f"unit tests name alerts the chart does not have (they would pass vacuously): {unknown}"
    for name in sorted(names):
        assert any(c.alertname == name and c.expected for c in cases), f"{name}: no test where it fires"
        assert any(c.alertname == name and not c.expected for c in cases), f"{name}: no test where it is silent"


def test_fired_alerts_carry_the_labels_the_runbook_documents(rendered: manifests.Rendered) -> None:
    """Each runbook section has a `Labels:` line; the labels the unit tests expect are exactly those."""
    sections = _runbook_sections()
    for name, rule in promtool.alerts(rendered).items():
        assert name in sections, f"docs/operations.md has no section {name}"
        documented = re.search(r"^Labels: (.*)$", sections[name], re.MULTILINE)
        assert documented, f"{name}: its runbook section has no 'Labels:' line"
        documented_labels = set(re.findall(r"`(\w+)`", documented.group(1)))
        severity = rule["labels"]["severity"]
        assert f"`severity` ({severity})" in documented.group(1), name
        for case in promtool.alert_cases():
            if case.alertname != name:
                continue
            for alert in case.expected:
                labels = alert["exp_labels"]
                assert labels["severity"] == severity, (name, case.test)
                assert {k: labels[k] for k in ALERT_LABELS} == ALERT_LABELS, (name, case.test)
                assert set(labels) - set(ALERT_LABELS) == documented_labels, (name, case.test)
                assert alert["exp_annotations"]["runbook"] == rule["annotations"]["runbook"], (name, case.test)


def _runbook_sections() -> dict[str, str]:
    text = (manifests.ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    parts = re.split(r"^### (\w+)\n", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].split("\n## ", 1)[0] for i in range(1, len(parts) - 1, 2)}
