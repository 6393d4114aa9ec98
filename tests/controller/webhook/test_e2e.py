"""The admission webhook end to end: kubectl → the Kubernetes API test server → the controller's HTTPS
webhook (self-signed certificate, trusted through the configuration's caBundle) → the conflict rules
judged against the controller's own inventory."""

from __future__ import annotations

import base64
import pathlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from controller.webhook.review import WEBHOOK_PATH
from tests.controller.kube_rig import (
    NAMESPACE,
    TEAM,
    alias_body,
    eventually,
    reason,
    running_controller,
    settings_for,
    started_api,
)
from tests.kubeapi import KubeApiServer, Kubectl, self_signed_certificate

pytestmark = pytest.mark.timeout(30)

SERVICE = "aliasgate-controller-webhook"


def webhook_configuration(ca_bundle: bytes) -> dict[str, Any]:
    """What the chart renders (charts/aliasgate/templates/controller/webhook.yaml), minus Helm."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "aliasgate"},
        "webhooks": [
            {
                "name": "modelaliases.aliasgate.io",
                "clientConfig": {
                    "service": {"namespace": NAMESPACE, "name": SERVICE, "path": WEBHOOK_PATH, "port": 443},
                    "caBundle": base64.b64encode(ca_bundle).decode(),
                },
                "rules": [
                    {
                        "apiGroups": ["aliasgate.io"],
                        "apiVersions": ["v1alpha1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["modelaliases"],
                    }
                ],
                "failurePolicy": "Fail",  # in tests: a broken webhook must fail the test, not pass silently
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 5,
            }
        ],
    }


@pytest.fixture
async def api() -> AsyncIterator[KubeApiServer]:
    async with started_api() as server:
        yield server


def manifest(tmp_path: pathlib.Path, body: dict[str, Any]) -> str:
    path = tmp_path / f"{body['metadata']['name']}.json"
    path.write_bytes(orjson.dumps(body))
    return str(path)


async def test_kubectl_apply_is_judged_by_the_controller_webhook(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    cert, key = await self_signed_certificate("127.0.0.1")
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    api.create(alias_body("keeper", mode="responses"))
    api.create(alias_body("chatty", model="gpt-4.1", mode="chat"))
    settings = settings_for(
        api,
        tmp_path,
        webhook_listen="127.0.0.1:0",
        webhook_cert_file=str(tmp_path / "tls.crt"),
        webhook_key_file=str(tmp_path / "tls.key"),
    )
    kubectl = Kubectl(api, tmp_path)
    async with running_controller(settings) as controller:
        assert controller.webhook is not None
        assert controller.webhook.port is not None
        api.service_urls[(NAMESPACE, SERVICE)] = f"https://127.0.0.1:{controller.webhook.port}"
        api.create(webhook_configuration(cert))
        await eventually(lambda: reason(api, "chatty"))  # the inventory has both objects

        # A chat alias on the backend "keeper" holds in Responses mode: denied, nothing stored.
        code, _, err = await kubectl(
            "apply", "-f", manifest(tmp_path, alias_body("downgrader", mode="chat")), check=False
        )
        assert code != 0
        assert 'admission webhook "modelaliases.aliasgate.io" denied the request: ModeDowngradeRejected' in err
        assert "keeper" in err
        assert api.get("aliasgate.io/v1alpha1", "modelaliases", "downgrader", TEAM) is None

        # A second object claiming the alias "keeper": denied, naming the owner.
        duplicate = alias_body("keeper-copy", model="gpt-5-mini", alias="keeper")
        code, _, err = await kubectl("apply", "-f", manifest(tmp_path, duplicate), check=False)
        assert code != 0
        assert "denied the request: AliasInUse" in err
        assert f"{TEAM}/keeper" in err

        # A responses alias on chatty's backend is fine, but pushes chatty out: allowed, with a warning.
        upgrader = alias_body("upgrader", model="gpt-4.1", mode="responses")
        code, out, err = await kubectl("apply", "-f", manifest(tmp_path, upgrader))
        assert "modelalias.aliasgate.io/upgrader created" in out
        assert f"Warning: {TEAM}/chatty would be rejected: ModeDowngradeRejected" in err
        # ... and the reconciler agrees with the warning.
        assert await eventually(lambda: reason(api, "chatty") == ("False", "ModeDowngradeRejected"))

        # An ordinary edit of an accepted object passes silently.
        upgrader["metadata"]["labels"] = {"team": "a"}
        code, out, err = await kubectl("apply", "-f", manifest(tmp_path, upgrader))
        assert "modelalias.aliasgate.io/upgrader configured" in out
        assert "Warning" not in err


async def test_webhook_reloads_a_rotated_certificate(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    first, first_key = await self_signed_certificate("127.0.0.1")
    second, second_key = await self_signed_certificate("127.0.0.1")
    cert_file, key_file = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_file.write_bytes(first)
    key_file.write_bytes(first_key)
    settings = settings_for(
        api, tmp_path, webhook_listen="127.0.0.1:0", webhook_cert_file=str(cert_file), webhook_key_file=str(key_file)
    )
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "u1", "operation": "CREATE", "object": alias_body("fresh")},
    }

    async def call(ca: bytes, port: int) -> dict[str, Any]:
        context = ssl.create_default_context(cadata=ca.decode())
        async with aiohttp.ClientSession() as session:
            url = f"https://127.0.0.1:{port}{WEBHOOK_PATH}"
            async with session.post(url, json=review, ssl=context) as response:
                assert response.status == 200
                body: dict[str, Any] = await response.json()
                return body

    async with running_controller(settings) as controller:
        webhook = controller.webhook
        assert webhook is not None
        assert webhook.port is not None
        await eventually(lambda: controller.aliases.complete)
        assert (await call(first, webhook.port))["response"] == {"uid": "u1", "allowed": True}
        cert_file.write_bytes(second)
        key_file.write_bytes(second_key)
        assert webhook.certificate.check()  # what the periodic watch does
        assert (await call(second, webhook.port))["response"]["allowed"] is True
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await call(first, webhook.port)
        # A half-written rotation keeps the certificate that works.
        key_file.write_bytes(b"not a key")
        assert not webhook.certificate.check()
        assert (await call(second, webhook.port))["response"]["allowed"] is True
