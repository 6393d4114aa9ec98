"""values.yaml is fully documented and values.schema.json refuses broken values with a clear message
(through both `helm template`/`install` rendering and `helm lint`)."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python
import pytest
import yaml

from tests.deploy import manifests

VALUES_PATH = manifests.CHART_DIR / "values.yaml"
SCHEMA_PATH = manifests.CHART_DIR / "values.schema.json"
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?P<rest>.*)$")


def _undocumented_keys(text: str) -> list[str]:
    """Keys that are neither documented (`# --` comment block right above) nor under a documented key,
    nor a pure grouping key whose children are checked on their own."""
    lines = text.splitlines()
    undocumented: list[str] = []
    stack: list[tuple[int, str, bool]] = []  # (indent, key, documented or under a documented key)
    for index, line in enumerate(lines):
        match = KEY_LINE.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        above = index - 1
        while above >= 0 and lines[above].strip().startswith("#") and not lines[above].strip().startswith("# --"):
            above -= 1
        documented = above >= 0 and lines[above].strip().startswith("# --")
        inherited = any(entry[2] for entry in stack)
        path = ".".join([entry[1] for entry in stack] + [match["key"]])
        following = next((candidate for candidate in lines[index + 1 :] if candidate.strip()), "")
        is_group = match["rest"].strip() == "" and len(following) - len(following.lstrip()) > indent
        is_group = is_group and not following.lstrip().startswith("- ")
        if not (documented or inherited or is_group):
            undocumented.append(path)
        stack.append((indent, match["key"], documented or inherited))
    return undocumented


def test_every_value_is_documented() -> None:
    assert _undocumented_keys(VALUES_PATH.read_text(encoding="utf-8")) == []


def test_the_documentation_check_finds_an_undocumented_value() -> None:
    text = "gateway:\n  # -- Replicas.\n  replicas: 2\n  sneaky: true\n"
    assert _undocumented_keys(text) == ["gateway.sneaky"]


def _schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        paths.add(path)
        paths |= _schema_paths(sub, f"{path}.")
    return paths


def _value_paths(values: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, value in values.items():
        paths.add(f"{prefix}{key}")
        if isinstance(value, dict) and value and key not in {"podSecurityContext", "containerSecurityContext"}:
            if key in {"resources", "labels", "annotations", "commonLabels"}:
                continue
            paths |= _value_paths(value, f"{prefix}{key}.")
    return paths


def test_the_schema_describes_every_default_value_and_nothing_else() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    values = yaml.safe_load(VALUES_PATH.read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    schema_paths = {
        p for p in _schema_paths(schema) if not p.startswith(("podSecurityContext.", "containerSecurityContext."))
    }
    assert _value_paths(values) == schema_paths


def _refusal(values: dict[str, Any]) -> str:
    with pytest.raises(helm_python.HelmValuesError) as refused:
        manifests.render_chart(values)
    report = helm_python.lint(manifests.CHART_DIR, values, strict=True, kube_version=f"v{manifests.NEWEST_KUBE}")
    assert report["errors"], "helm lint must refuse the same values"
    return str(refused.value)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(
            {"gateway": {"replicas": 0}}, r"at '/gateway/replicas': minimum: got 0, want 1", id="replicas-zero"
        ),
        pytest.param(
            {"controller": {"replicas": 0}}, r"at '/controller/replicas': minimum: got 0, want 1", id="controller-zero"
        ),
        pytest.param(
            {"gateway": {"replicaCount": 3}}, r"additional properties 'replicaCount' not allowed", id="unknown-key"
        ),
        pytest.param(
            {"gateway": {"replicas": "two"}}, r"at '/gateway/replicas': got string, want integer", id="wrong-type"
        ),
        pytest.param({"crds": {"enabled": "yes"}}, r"at '/crds/enabled': got string, want boolean", id="wrong-bool"),
        pytest.param({"gateway": {"service": {"type": "Ingress"}}}, r"at '/gateway/service/type'", id="enum"),
        pytest.param({"image": {"pullPolicy": "Sometimes"}}, r"at '/image/pullPolicy'", id="pull-policy"),
        pytest.param({"image": {"digest": "latest"}}, r"at '/image/digest'", id="digest"),
        pytest.param(
            {"controller": {"replicas": 2, "leaderElection": {"enabled": False}}},
            r"at '/controller/replicas': maximum: got 2, want 1",
            id="two-controllers-without-leader-election",
        ),
        pytest.param(
            {"containerSecurityContext": {"readOnlyRootFilesystem": False}},
            r"at '/containerSecurityContext/readOnlyRootFilesystem'",
            id="writable-root",
        ),
        pytest.param(
            {"podSecurityContext": {"runAsNonRoot": False}}, r"at '/podSecurityContext/runAsNonRoot'", id="root"
        ),
        pytest.param({"gateway": {"resources": {"requests": None}}}, r"missing property 'requests'", id="no-requests"),
        pytest.param(
            {"gateway": {"drain": {"shutdownGraceSeconds": 0}}},
            r"at '/gateway/drain/shutdownGraceSeconds'",
            id="no-grace",
        ),
        pytest.param(
            {"gateway": {"credentialsSecrets": ["Has Spaces"]}}, r"at '/gateway/credentialsSecrets/0'", id="secret-name"
        ),
        pytest.param({"gateway": {"extraArgs": ["listen=1"]}}, r"at '/gateway/extraArgs/0'", id="extra-arg-not-a-flag"),
    ],
)
def test_broken_values_are_refused_with_the_path(values: dict[str, Any], expected: str) -> None:
    message = _refusal(values)
    assert re.search(expected, message), message


def test_autoscaling_bounds_must_be_ordered() -> None:
    with pytest.raises(helm_python.HelmRenderError, match=r"minReplicas \(5\) must not exceed .*maxReplicas \(2\)"):
        manifests.render_chart({"gateway": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}})


def _documented_set_flags() -> list[str]:
    texts = [
        (manifests.ROOT / "docs" / "operations.md").read_text(encoding="utf-8"),
        (manifests.CHART_DIR / "README.md").read_text(encoding="utf-8"),
    ]
    return [m[1] or m[2] for text in texts for m in re.finditer(r"--set (?:'([^']+)'|(\S+))", text)]


def test_the_documented_set_flags_are_accepted() -> None:
    flags = _documented_set_flags()
    assert len(flags) >= 2
    for flag in flags:
        values = helm_python.parse_set_string(flag)
        rendered = manifests.render_chart(values)
        assert rendered.docs, flag
        report = helm_python.lint(manifests.CHART_DIR, values, strict=True, kube_version=f"v{manifests.NEWEST_KUBE}")
        assert report["errors"] == [], (flag, report["errors"])
