"""Rendering helpers for the deploy tests: the Helm chart (helm-python-sdk, offline) and `kubectl kustomize`.

Each source is rendered once per session by the fixtures in conftest.py; the tests only read the
parsed documents.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "charts" / "aliasgate"
DEPLOY_DIR = ROOT / "deploy"
CRD_PATH = DEPLOY_DIR / "crds" / "aliasgate.io_modelaliases.yaml"
CHART_CRD_PATH = CHART_DIR / "templates" / "crds" / "modelaliases.yaml"
SAMPLES_DIR = DEPLOY_DIR / "samples"

RELEASE = "aliasgate"
NAMESPACE = "aliasgate-system"
VALUE_SETS = ("default", "minimal", "ha", "everything-on", "webhook")
SOURCES = ("kustomize", *VALUE_SETS)
"""Every rendered install the tests check: the kustomization and each chart value set."""

OLDEST_KUBE = "1.30.0"
NEWEST_KUBE = "1.37.0"
KUBE_VERSIONS = (OLDEST_KUBE, NEWEST_KUBE)
"""Supported range. 1.30 is the oldest because gateway pods use `lifecycle.preStop.sleep` (beta and on
by default since 1.30); 1.37 is the newest schema set kubernetes-validate 1.37.0 bundles."""

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """One rendered install: Helm template outputs (empty for kustomize) and the parsed documents."""

    templates: dict[str, str]
    docs: list[Manifest]


def load_values(value_set: str) -> dict[str, Any]:
    """The chart's ci/<value_set>-values.yaml as a dict."""
    loaded = yaml.safe_load((CHART_DIR / "ci" / f"{value_set}-values.yaml").read_text(encoding="utf-8"))
    return dict(loaded or {})


def parse_documents(text: str) -> list[Manifest]:
    """All non-empty YAML documents in ``text``."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render_chart(values: dict[str, Any], *, release: str = RELEASE, namespace: str = NAMESPACE) -> Rendered:
    """Render the chart offline; raises helm_python.HelmValuesError/HelmRenderError on refused values."""
    templates: dict[str, str] = helm_python.Chart.load(CHART_DIR).render(values, name=release, namespace=namespace)
    docs = [doc for path, text in sorted(templates.items()) if path.endswith(".yaml") for doc in parse_documents(text)]
    return Rendered(templates=templates, docs=docs)


def render_kustomize() -> Rendered:
    """`kubectl kustomize deploy/` (offline: kustomize is built into kubectl)."""
    result = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY_DIR)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize deploy/ failed: {result.stderr}"
    return Rendered(templates={}, docs=parse_documents(result.stdout))


def notes(rendered: Rendered) -> str:
    """The rendered NOTES.txt."""
    return next(text for path, text in rendered.templates.items() if path.endswith("NOTES.txt"))


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_specs(docs: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """(kind/name, pod spec) of every workload: Deployment templates and bare Pods (helm test)."""
    for doc in docs:
        if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]
        elif doc["kind"] == "Pod":
            yield f"Pod/{doc['metadata']['name']}", doc["spec"]


def containers(pod_spec: Manifest) -> list[Manifest]:
    """Every container of a pod spec, init containers included."""
    return [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]


def container_args(doc: Manifest, name: str) -> list[str]:
    """Command-line arguments of container ``name`` in a Deployment."""
    spec = doc["spec"]["template"]["spec"]
    container = next(c for c in spec["containers"] if c["name"] == name)
    return [str(arg) for arg in container.get("args", [])]
