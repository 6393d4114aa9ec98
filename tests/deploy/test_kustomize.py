"""`kubectl kustomize deploy/` renders offline into the plain install the docs describe."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import yaml

from tests.deploy import manifests


def test_kustomize_renders_the_whole_install(kustomized: manifests.Rendered) -> None:
    kinds = sorted({doc["kind"] for doc in kustomized.docs})
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "Deployment",
        "Namespace",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]
    assert "ModelAlias" not in kinds, "samples are applied separately, after the CRD is established"
    assert manifests.named(kustomized.docs, "Deployment", "aliasgate-controller")["spec"]["replicas"] == 2
    assert manifests.named(kustomized.docs, "Deployment", "aliasgate-gateway")["spec"]["replicas"] == 2


def test_everything_namespaced_lives_in_aliasgate_system(kustomized: manifests.Rendered) -> None:
    cluster_scoped = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
    for doc in kustomized.docs:
        if doc["kind"] not in cluster_scoped:
            assert doc["metadata"]["namespace"] == manifests.NAMESPACE, f"{doc['kind']}/{doc['metadata']['name']}"


def test_the_crd_comes_from_the_single_source(kustomized: manifests.Rendered) -> None:
    crd = manifests.named(kustomized.docs, "CustomResourceDefinition", "modelaliases.aliasgate.io")
    assert crd == yaml.safe_load(manifests.CRD_PATH.read_text(encoding="utf-8"))


def test_image_versions_agree_with_the_chart_and_the_package(kustomized: manifests.Rendered) -> None:
    chart = yaml.safe_load((manifests.CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))
    project = tomllib.loads((manifests.ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert chart["appVersion"] == project["version"]
    for ident, spec in manifests.pod_specs(kustomized.docs):
        for container in manifests.containers(spec):
            assert container["image"] == f"ghcr.io/aliasgate/aliasgate:{chart['appVersion']}", ident


def test_the_admin_port_has_its_own_service_for_endpointslices(kustomized: manifests.Rendered) -> None:
    """The controller finds gateway pods through the admin Service's EndpointSlices and their `admin`
    port; the public Service carries only the API port."""
    controller = manifests.named(kustomized.docs, "Deployment", "aliasgate-controller")
    assert "--gateway-service=aliasgate-gateway-admin" in manifests.container_args(controller, "controller")
    public = manifests.named(kustomized.docs, "Service", "aliasgate-gateway")
    assert [(p["name"], p["port"], p["targetPort"]) for p in public["spec"]["ports"]] == [("http", 80, "http")]
    admin = manifests.named(kustomized.docs, "Service", "aliasgate-gateway-admin")
    assert [(p["name"], p["port"], p["targetPort"]) for p in admin["spec"]["ports"]] == [("admin", 9090, "admin")]
    assert admin["spec"]["selector"] == public["spec"]["selector"]


def test_the_overlay_example_in_the_operations_guide_renders(tmp_path: Path) -> None:
    """docs/operations.md's overlay (own image by digest, extra credentials Secret) works as written."""
    guide = (manifests.ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n# my-overlay/kustomization\.yaml\n(.*?)```", guide, re.DOTALL)
    assert block, "the guide's overlay example is missing"
    overlay = tmp_path / "my-overlay"
    overlay.mkdir()
    (tmp_path / "deploy").symlink_to(manifests.DEPLOY_DIR, target_is_directory=True)
    (overlay / "kustomization.yaml").write_text(block[1].replace("<digest>", "0" * 64), encoding="utf-8")
    result = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    docs = manifests.parse_documents(result.stdout)
    role = manifests.named(docs, "Role", "aliasgate-gateway")
    secret_rule = next(rule for rule in role["rules"] if rule["resources"] == ["secrets"])
    assert secret_rule["resourceNames"] == ["openai-key", "chatgpt-pro", "azure-prod"]
    for _, spec in manifests.pod_specs(docs):
        assert spec["containers"][0]["image"] == "registry.example.com/aliasgate@sha256:" + "0" * 64
