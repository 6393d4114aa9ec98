"""Every rendered manifest is valid Kubernetes for the oldest and newest supported version (strict:
unknown fields are errors), checked with kubernetes-validate's bundled schemas, offline."""

from __future__ import annotations

import kubernetes_validate
import kubernetes_validate.utils
import pytest

from tests.deploy import manifests

NO_BUNDLED_SCHEMA = {
    "monitoring.coreos.com/v1": {"ServiceMonitor", "PrometheusRule"},
    "cert-manager.io/v1": {"Certificate", "Issuer"},
}
"""Prometheus Operator and cert-manager kinds have no schema in kubernetes-validate; their content is
checked in monitoring/test_monitoring.py and test_webhook_chart.py. Anything else without a schema is a failure,
not a skip."""


def test_the_bundled_schemas_cover_the_supported_range() -> None:
    bundled = kubernetes_validate.utils.all_versions()
    for version in manifests.KUBE_VERSIONS:
        assert version in bundled, f"kubernetes-validate lacks schemas for {version} (has {bundled})"


@pytest.mark.parametrize("kube_version", manifests.KUBE_VERSIONS)
@pytest.mark.parametrize("source", manifests.SOURCES)
def test_rendered_manifests_are_valid_kubernetes(
    rendered_sources: dict[str, manifests.Rendered], source: str, kube_version: str
) -> None:
    docs = rendered_sources[source].docs
    assert docs, f"{source} rendered nothing"
    failures: list[str] = []
    validated = 0
    for doc in docs:
        ident = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in NO_BUNDLED_SCHEMA.get(doc["apiVersion"], set()):
            continue
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            failures.append(f"{ident}: {e.message} at {'.'.join(str(p) for p in e.path)}")
        except kubernetes_validate.SchemaNotFoundError as e:
            failures.append(f"{ident}: {e.message}")
        else:
            validated += 1
    assert not failures, f"{source} on Kubernetes {kube_version}:\n" + "\n".join(failures)
    assert validated >= 10


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The check above can fail: a misspelled field in a Deployment is reported."""
    doc = manifests.render_chart({}).docs
    deployment = next(d for d in doc if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinessProbes"):
        kubernetes_validate.validate(deployment, manifests.NEWEST_KUBE, strict=True)
