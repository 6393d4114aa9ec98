"""The chart's optional admission webhook: off by default; with cert-manager (the `webhook` value set)
or with a CA and certificate Helm generates, whose certificate the real controller listener serves
and a client trusting only the rendered caBundle accepts for the Service's DNS name."""

from __future__ import annotations

import base64
import pathlib
import ssl
from typing import Any

import aiohttp
import helm_python
import kubernetes_validate
import pytest

from controller.inventory import Inventory
from controller.settings import parse_settings
from controller.webhook.review import WEBHOOK_PATH
from controller.webhook.server import WebhookServer
from tests.deploy import manifests

SERVICE = "aliasgate-controller-webhook"
SECRET = "aliasgate-controller-webhook-tls"
GENERATED = {"webhook": {"enabled": True}}


@pytest.fixture(scope="module")
def generated() -> manifests.Rendered:
    return manifests.render_chart(GENERATED)


def _webhook(docs: list[manifests.Manifest]) -> dict[str, Any]:
    (configuration,) = manifests.of_kind(docs, "ValidatingWebhookConfiguration")
    (hook,) = configuration["webhooks"]
    return dict(hook)


def _controller(docs: list[manifests.Manifest]) -> dict[str, Any]:
    deployment = manifests.named(docs, "Deployment", "aliasgate-controller")
    return dict(deployment["spec"]["template"]["spec"])


@pytest.mark.parametrize("value_set", ["default", "minimal", "ha", "everything-on"])
def test_the_webhook_is_off_unless_enabled(rendered_sources: dict[str, manifests.Rendered], value_set: str) -> None:
    docs = rendered_sources[value_set].docs
    assert not manifests.of_kind(docs, "ValidatingWebhookConfiguration")
    assert not any(doc["metadata"]["name"] == SERVICE for doc in docs)
    args = manifests.container_args(manifests.named(docs, "Deployment", "aliasgate-controller"), "controller")
    assert not any(arg.startswith("--webhook") for arg in args)


def test_the_configuration_follows_the_design(rendered_sources: dict[str, manifests.Rendered]) -> None:
    docs = rendered_sources["webhook"].docs
    hook = _webhook(docs)
    assert hook["rules"] == [
        {
            "apiGroups": ["aliasgate.io"],
            "apiVersions": ["v1alpha1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["modelaliases"],
            "scope": "Namespaced",
        }
    ]
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["failurePolicy"] == "Fail"  # the value set's choice; the default is below
    assert hook["timeoutSeconds"] == 3
    service = hook["clientConfig"]["service"]
    assert (service["name"], service["namespace"], service["path"]) == (SERVICE, manifests.NAMESPACE, WEBHOOK_PATH)
    assert _webhook(manifests.render_chart(GENERATED).docs)["failurePolicy"] == "Ignore"


def test_the_service_reaches_the_container_port_the_controller_listens_on(
    rendered_sources: dict[str, manifests.Rendered],
) -> None:
    docs = rendered_sources["webhook"].docs
    service = manifests.named(docs, "Service", SERVICE)
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (_webhook(docs)["clientConfig"]["service"]["port"], "webhook")
    spec = _controller(docs)
    (container,) = spec["containers"]
    (webhook_port,) = [p for p in container["ports"] if p["name"] == "webhook"]
    env = {e["name"]: "aliasgate-system" for e in container.get("env", [])}
    settings = parse_settings(container["args"], environ=env)
    assert settings.webhook_listen == f"0.0.0.0:{webhook_port['containerPort']}"
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    mount = mounts["webhook-tls"]
    assert mount["readOnly"] is True
    assert settings.webhook_cert_file == f"{mount['mountPath']}/tls.crt"
    assert settings.webhook_key_file == f"{mount['mountPath']}/tls.key"
    assert volumes["webhook-tls"]["secret"]["secretName"] == SECRET


def test_cert_manager_issues_the_certificate_and_injects_the_ca(
    rendered_sources: dict[str, manifests.Rendered],
) -> None:
    docs = rendered_sources["webhook"].docs
    assert not manifests.of_kind(docs, "Secret"), "cert-manager writes the Secret; the chart must not"
    certificate = manifests.named(docs, "Certificate", SERVICE)
    issuer = manifests.named(docs, "Issuer", SERVICE)
    configuration = manifests.of_kind(docs, "ValidatingWebhookConfiguration")[0]
    annotation = configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    assert annotation == f"{certificate['metadata']['namespace']}/{certificate['metadata']['name']}"
    assert "caBundle" not in _webhook(docs)["clientConfig"]
    assert certificate["spec"]["secretName"] == SECRET
    assert f"{SERVICE}.{manifests.NAMESPACE}.svc" in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["issuerRef"] == {
        "name": issuer["metadata"]["name"],
        "kind": "Issuer",
        "group": "cert-manager.io",
    }
    assert "selfSigned" in issuer["spec"]


def test_an_existing_issuer_is_used_instead_of_creating_one() -> None:
    values = {
        "webhook": {
            "enabled": True,
            "certManager": {"enabled": True, "issuerRef": {"name": "corp-ca", "kind": "ClusterIssuer"}},
        }
    }
    docs = manifests.render_chart(values).docs
    assert not manifests.of_kind(docs, "Issuer")
    assert manifests.named(docs, "Certificate", SERVICE)["spec"]["issuerRef"] == {
        "name": "corp-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }


def test_network_policy_lets_the_api_server_reach_the_webhook_port(
    rendered_sources: dict[str, manifests.Rendered],
) -> None:
    policy = manifests.named(rendered_sources["webhook"].docs, "NetworkPolicy", "aliasgate-controller")
    webhook_rules = [
        rule for rule in policy["spec"]["ingress"] if {"port": "webhook", "protocol": "TCP"} in rule["ports"]
    ]
    assert webhook_rules == [
        {"ports": [{"port": "webhook", "protocol": "TCP"}]}
    ]  # any source: the API server is no pod
    without = manifests.named(rendered_sources["everything-on"].docs, "NetworkPolicy", "aliasgate-controller")
    assert all(port["port"] != "webhook" for rule in without["spec"]["ingress"] for port in rule["ports"])


def test_watched_namespaces_limit_which_namespaces_are_reviewed() -> None:
    docs = manifests.render_chart({**GENERATED, "controller": {"watchNamespaces": ["team-a"]}}).docs
    selector = _webhook(docs)["namespaceSelector"]
    assert selector == {
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a"]}]
    }


@pytest.mark.parametrize("kube_version", manifests.KUBE_VERSIONS)
def test_generated_certificates_render_valid_and_lint(generated: manifests.Rendered, kube_version: str) -> None:
    for doc in generated.docs:
        kubernetes_validate.validate(doc, kube_version, strict=True)
    report = helm_python.lint(manifests.CHART_DIR, GENERATED, strict=True, kube_version=f"v{kube_version}")
    assert not report["errors"], report


def test_the_only_secret_is_the_generated_tls_pair(generated: manifests.Rendered) -> None:
    (secret,) = manifests.of_kind(generated.docs, "Secret")
    assert secret["metadata"]["name"] == SECRET
    assert secret["type"] == "kubernetes.io/tls"
    assert set(secret["data"]) == {"ca.crt", "tls.crt", "tls.key"}
    assert _webhook(generated.docs)["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]


async def test_the_controller_serves_the_generated_certificate_to_a_client_trusting_the_ca_bundle(
    generated: manifests.Rendered, tmp_path: pathlib.Path
) -> None:
    """What the API server does: TLS to <service>.<namespace>.svc, trusting only caBundle."""
    (secret,) = manifests.of_kind(generated.docs, "Secret")
    (tmp_path / "tls.crt").write_bytes(base64.b64decode(secret["data"]["tls.crt"]))
    (tmp_path / "tls.key").write_bytes(base64.b64decode(secret["data"]["tls.key"]))
    inventory = Inventory()
    inventory.replace_scope("", [])
    server = WebhookServer(
        listen="127.0.0.1:0",
        cert_file=str(tmp_path / "tls.crt"),
        key_file=str(tmp_path / "tls.key"),
        inventory=inventory,
    )
    await server.start()
    try:
        ca = base64.b64decode(_webhook(generated.docs)["clientConfig"]["caBundle"]).decode()
        context = ssl.create_default_context(cadata=ca)
        review = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {"uid": "u", "operation": "CREATE", "object": {"apiVersion": "v1", "kind": "Nope"}},
        }
        url = f"https://127.0.0.1:{server.port}{WEBHOOK_PATH}"
        async with aiohttp.ClientSession() as session:
            hostname = f"{SERVICE}.{manifests.NAMESPACE}.svc"
            async with session.post(url, json=review, ssl=context, server_hostname=hostname) as response:
                body = await response.json()
            assert body["response"]["allowed"] is False
            assert body["response"]["status"]["message"].startswith("InvalidSpec:")
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.post(url, json=review, ssl=context, server_hostname="someone-else.example")
    finally:
        await server.stop()


def test_broken_webhook_values_are_refused() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"webhook": {"enabled": True, "failurePolicy": "Maybe"}}, "/webhook/failurePolicy"),
        ({"webhook": {"enabled": True, "timeoutSeconds": 60}}, "/webhook/timeoutSeconds"),
        ({"webhook": {"enabled": True, "certManager": {"enabled": True, "issuerRef": {"nmae": "x"}}}}, "issuerRef"),
    ]
    for values, path in cases:
        with pytest.raises(helm_python.HelmValuesError, match=path):
            manifests.render_chart(values)
