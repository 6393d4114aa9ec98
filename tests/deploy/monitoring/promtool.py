"""The chart's alert rules as Prometheus sees them, and Debian's promtool to judge them.

`promtool` comes with Debian's `prometheus` package (`.ci/run` installs it). The rules file is the
rendered PrometheusRule's `spec` (its `groups`), which is exactly what the Prometheus Operator hands to
Prometheus. Unit tests live in `alerts/*.yaml` in promtool's own format and name the rules file
`aliasgate-rules.yaml`, which is written beside a copy of them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.deploy import manifests

RULES_FILE = "aliasgate-rules.yaml"
ALERT_TESTS = Path(__file__).resolve().parent / "alerts"
MINIMUM_VERSION = (2, 42)
"""Debian 12's prometheus package; the version the issue's alerts were judged with."""


def promtool() -> str:
    """Path of promtool; a missing one fails the test (CI installs it), it never skips."""
    found = shutil.which("promtool")
    assert found, "promtool not found: apt-get install prometheus (as .ci/run does)"
    return found


def version() -> tuple[int, int]:
    """(major, minor) of the installed promtool."""
    out = run("--version").stdout
    match = re.search(r"version (\d+)\.(\d+)", out)
    assert match, out
    return int(match.group(1)), int(match.group(2))


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def rule_groups(rendered: manifests.Rendered) -> list[dict[str, Any]]:
    """The `groups` of the release's PrometheusRule."""
    rule = manifests.named(rendered.docs, "PrometheusRule", manifests.RELEASE)
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def alerts(rendered: manifests.Rendered) -> dict[str, dict[str, Any]]:
    """Every alerting rule by name."""
    return {rule["alert"]: rule for group in rule_groups(rendered) for rule in group["rules"] if "alert" in rule}


def write_rules(rendered: manifests.Rendered, directory: Path) -> Path:
    path = directory / RULES_FILE
    path.write_text(yaml.safe_dump({"groups": rule_groups(rendered)}, sort_keys=False), encoding="utf-8")
    return path


def unit_test_files() -> list[Path]:
    return sorted(ALERT_TESTS.glob("*.yaml"))


@dataclass(frozen=True)
class AlertCase:
    """One `alert_rule_test` entry: which alert, when, and whether it is expected to fire."""

    file: str
    test: str
    alertname: str
    eval_time: str
    expected: list[dict[str, Any]]


def alert_cases() -> list[AlertCase]:
    """Every alert assertion of every unit-test file."""
    cases = []
    for path in unit_test_files():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert loaded["rule_files"] == [RULES_FILE], path.name
        for test in loaded["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.append(
                    AlertCase(path.name, test["name"], case["alertname"], case["eval_time"], case["exp_alerts"])
                )
    return cases
