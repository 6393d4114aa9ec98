"""deploy/components/webhook: the optional kustomize component renders valid objects that match what
the chart renders with `webhook.enabled` and `webhook.certManager.enabled`, and the controller accepts
the flags it adds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest

from controller.settings import parse_settings
from tests.deploy import manifests

CERT_MANAGER = {"Certificate", "Issuer"}
"""No bundled schema in kubernetes-validate; compared with the chart's objects below instead."""


@pytest.fixture(scope="module")
def component(tmp_path_factory: pytest.TempPathFactory) -> list[manifests.Manifest]:
    root: Path = tmp_path_factory.mktemp("overlay")
    (root / "deploy").symlink_to(manifests.DEPLOY_DIR, target_is_directory=True)
    overlay = root / "with-webhook"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - ../deploy\ncomponents:\n  - ../deploy/components/webhook\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return manifests.parse_documents(result.stdout)


@pytest.fixture(scope="module")
def chart() -> list[manifests.Manifest]:
    return manifests.render_chart({"webhook": {"enabled": True, "certManager": {"enabled": True}}}).docs


def test_the_plain_install_has_no_webhook(kustomized: manifests.Rendered) -> None:
    assert not manifests.of_kind(kustomized.docs, "ValidatingWebhookConfiguration")


@pytest.mark.parametrize("kube_version", manifests.KUBE_VERSIONS)
def test_the_component_renders_valid_kubernetes(component: list[manifests.Manifest], kube_version: str) -> None:
    for doc in component:
        if doc["kind"] not in CERT_MANAGER:
            kubernetes_validate.validate(doc, kube_version, strict=True)


def test_the_component_matches_the_chart(component: list[manifests.Manifest], chart: list[manifests.Manifest]) -> None:
    ours = manifests.of_kind(component, "ValidatingWebhookConfiguration")[0]
    theirs = manifests.of_kind(chart, "ValidatingWebhookConfiguration")[0]
    assert ours["webhooks"] == theirs["webhooks"]
    assert ours["metadata"]["annotations"] == theirs["metadata"]["annotations"]
    name = "aliasgate-controller-webhook"
    for kind in ("Certificate", "Issuer"):
        assert manifests.named(component, kind, name)["spec"] == manifests.named(chart, kind, name)["spec"], kind
    service = manifests.named(component, "Service", name)
    assert service["spec"]["ports"] == manifests.named(chart, "Service", name)["spec"]["ports"]
    deployment = manifests.named(component, "Deployment", "aliasgate-controller")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_controller_accepts_the_added_flags_and_mounts_the_secret(component: list[manifests.Manifest]) -> None:
    deployment = manifests.named(component, "Deployment", "aliasgate-controller")
    settings = parse_settings(manifests.container_args(deployment, "controller"), environ={"POD_NAMESPACE": "x"})
    assert settings.webhook_listen == "0.0.0.0:9443"
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert {"name": "webhook", "containerPort": 9443, "protocol": "TCP"} in container["ports"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "webhook-tls")
    assert settings.webhook_cert_file == f"{mount['mountPath']}/tls.crt"
    volume = next(v for v in spec["volumes"] if v["name"] == "webhook-tls")
    certificate = manifests.named(component, "Certificate", "aliasgate-controller-webhook")
    assert volume["secret"]["secretName"] == certificate["spec"]["secretName"]
