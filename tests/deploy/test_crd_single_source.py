"""deploy/crds/ is the single source of the CRD: the chart's template is generated from it by
scripts/sync_chart_crd.py and must render to the same object (plus only the keep annotation)."""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import helm_python
import yaml

from tests.deploy import manifests

SCRIPT = manifests.ROOT / "scripts" / "sync_chart_crd.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_chart_crd", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _source_crd() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(manifests.CRD_PATH.read_text(encoding="utf-8"))
    return loaded


def test_the_chart_copy_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_rendered_chart_crd_equals_the_source(chart_default: manifests.Rendered) -> None:
    rendered = manifests.named(chart_default.docs, "CustomResourceDefinition", "modelaliases.aliasgate.io")
    stripped = copy.deepcopy(rendered)
    annotations = stripped["metadata"].pop("annotations")
    assert annotations == {"helm.sh/resource-policy": "keep"}
    assert stripped == _source_crd()


def test_the_chart_template_body_is_the_source_byte_for_byte() -> None:
    """Strip the generated header/footer and the keep block: what is left is the source file."""
    template = manifests.CHART_CRD_PATH.read_text(encoding="utf-8").splitlines(keepends=True)
    body = template[3:-1]
    keep = [i for i, line in enumerate(body) if "{{- if .Values.crds.keep }}" in line]
    assert len(keep) == 1
    end = next(i for i in range(keep[0], len(body)) if "{{- end }}" in body[i])
    without_keep = body[: keep[0]] + body[end + 1 :]
    assert "".join(without_keep) == manifests.CRD_PATH.read_text(encoding="utf-8")


def _render_wrapped(tmp_path: Path, crd_text: str, values: dict[str, Any]) -> dict[str, Any]:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: wrapped\nversion: 0.1.0\n", encoding="utf-8")
    (chart / "values.yaml").write_text("crds:\n  enabled: true\n  keep: true\n", encoding="utf-8")
    (chart / "templates" / "crd.yaml").write_text(_load_script().wrap(crd_text), encoding="utf-8")
    rendered = helm_python.Chart.load(chart).render(values, name="x", namespace="y")
    docs = [d for text in rendered.values() for d in yaml.safe_load_all(text) if d]
    return docs[0] if docs else {}


CRD_WITH_ANNOTATIONS_AND_BRACES = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
    name: things.example.com
    annotations:
        example.com/owner: "{{ not a template }}"
spec:
    group: example.com
"""


def test_the_wrapper_keeps_existing_annotations_and_literal_braces(tmp_path: Path) -> None:
    kept = _render_wrapped(tmp_path, CRD_WITH_ANNOTATIONS_AND_BRACES, {})
    assert kept["metadata"]["annotations"] == {
        "helm.sh/resource-policy": "keep",
        "example.com/owner": "{{ not a template }}",
    }
    not_kept = _render_wrapped(tmp_path, CRD_WITH_ANNOTATIONS_AND_BRACES, {"crds": {"keep": False}})
    assert not_kept == yaml.safe_load(CRD_WITH_ANNOTATIONS_AND_BRACES)
    assert _render_wrapped(tmp_path, CRD_WITH_ANNOTATIONS_AND_BRACES, {"crds": {"enabled": False}}) == {}


def test_the_check_fails_when_the_copies_drift(tmp_path: Path) -> None:
    """Run the script against a copy of the repo layout whose chart template was edited by hand."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    (root / "deploy" / "crds").mkdir(parents=True)
    (root / "charts" / "aliasgate" / "templates" / "crds").mkdir(parents=True)
    (root / "scripts" / "sync_chart_crd.py").write_bytes(SCRIPT.read_bytes())
    (root / "deploy" / "crds" / manifests.CRD_PATH.name).write_bytes(manifests.CRD_PATH.read_bytes())
    target = root / "charts" / "aliasgate" / "templates" / "crds" / "modelaliases.yaml"
    target.write_text(manifests.CHART_CRD_PATH.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    command = [sys.executable, str(root / "scripts" / "sync_chart_crd.py")]
    drifted = subprocess.run([*command, "--check"], capture_output=True, text=True, timeout=60, check=False)
    assert drifted.returncode == 1
    assert "out of date" in drifted.stderr
    subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert target.read_bytes() == manifests.CHART_CRD_PATH.read_bytes()
