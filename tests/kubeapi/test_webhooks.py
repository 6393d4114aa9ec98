"""Validating admission webhooks: the server calls them with an AdmissionReview before storing a write."""

from __future__ import annotations

import base64
import pathlib
import ssl
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from tests.kubeapi.conftest import Target
from tests.kubeapi.server import KubeApiServer, self_signed_certificate
from tests.kubeapi.support import MA, Kubectl, alias, post

Json = dict[str, Any]
WEBHOOKS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"


class Recorder:
    """A webhook server: denies ModelAliases whose spec.mode is chat, warns about missing aliases."""

    def __init__(self) -> None:
        self.reviews: list[Json] = []

    async def handle(self, request: web.Request) -> web.Response:
        review = await request.json()
        self.reviews.append(review)
        req = review["request"]
        obj = req.get("object") or {}
        response: Json = {"uid": req["uid"], "allowed": True}
        if obj.get("spec", {}).get("mode") == "chat":
            response = {
                "uid": req["uid"],
                "allowed": False,
                "status": {"code": 403, "reason": "Forbidden", "message": "mode chat would downgrade"},
            }
        elif obj and "alias" not in obj.get("spec", {}):
            response["warnings"] = ["spec.alias defaults to metadata.name"]
        return web.json_response({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})


async def _tls_context() -> tuple[ssl.SSLContext, bytes]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and that certificate."""
    cert, key = await self_signed_certificate("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as tmp:
        (pathlib.Path(tmp) / "c.pem").write_bytes(cert)
        (pathlib.Path(tmp) / "k.pem").write_bytes(key)
        context.load_cert_chain(pathlib.Path(tmp) / "c.pem", pathlib.Path(tmp) / "k.pem")
    return context, cert


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, Json]]:
    """A webhook over HTTPS (the only scheme an API server calls) and the clientConfig that reaches it."""
    hook = Recorder()
    context, cert = await _tls_context()
    app = web.Application()
    app.router.add_post("/validate", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    yield hook, {"url": f"https://127.0.0.1:{port}/validate", "caBundle": base64.b64encode(cert).decode()}
    await runner.cleanup()


def configuration(
    client_config: Json, *, failure_policy: str = "Fail", operations: list[str] | None = None, **extra: Any
) -> Json:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "aliasgate"},
        "webhooks": [
            {
                "name": "modelaliases.aliasgate.io",
                "clientConfig": client_config,
                "rules": [
                    {
                        "apiGroups": ["aliasgate.io"],
                        "apiVersions": ["*"],
                        "operations": operations or ["CREATE", "UPDATE"],
                        "resources": ["modelaliases"],
                    }
                ],
                "failurePolicy": failure_policy,
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 2,
                **extra,
            }
        ],
    }


async def test_a_denial_is_the_answer_and_nothing_is_stored(
    kube_http: aiohttp.ClientSession, recorder: tuple[Recorder, Json], server_under_test: Target
) -> None:
    hook, client = recorder
    await post(kube_http, WEBHOOKS, configuration(client))
    async with kube_http.post(MA, json=alias("bad", mode="chat")) as response:
        assert response.status == 403
        status = await response.json()
    assert (
        status["message"]
        == 'admission webhook "modelaliases.aliasgate.io" denied the request: mode chat would downgrade'
    )
    assert status["reason"] == "Forbidden"
    async with kube_http.get(f"{MA}/bad") as response:
        assert response.status == 404
    (review,) = hook.reviews
    request = review["request"]
    assert review["apiVersion"] == "admission.k8s.io/v1"
    assert request["operation"] == "CREATE"
    assert request["resource"] == {"group": "aliasgate.io", "version": "v1alpha1", "resource": "modelaliases"}
    assert request["namespace"] == "team-a"
    assert request["name"] == "bad"
    assert request["userInfo"]["username"] == server_under_test.user
    assert request["oldObject"] is None


async def test_allowed_writes_pass_with_warnings_and_see_the_old_object(
    kube_http: aiohttp.ClientSession, recorder: tuple[Recorder, Json]
) -> None:
    hook, client = recorder
    await post(kube_http, WEBHOOKS, configuration(client))
    async with kube_http.post(MA, json=alias("ok")) as response:
        assert response.status == 201
        assert '299 - "spec.alias defaults to metadata.name"' in response.headers.getall("Warning")
    async with kube_http.patch(
        f"{MA}/ok", json={"spec": {"mode": "chat"}}, headers={"Content-Type": "application/merge-patch+json"}
    ) as response:
        assert response.status == 403
    update = hook.reviews[-1]["request"]
    assert update["operation"] == "UPDATE"
    assert update["object"]["spec"]["mode"] == "chat"
    assert "mode" not in update["oldObject"]["spec"]
    async with kube_http.delete(f"{MA}/ok") as response:
        assert response.status == 200  # the rule does not cover DELETE
    assert len(hook.reviews) == 2


async def test_unreachable_webhooks_follow_the_failure_policy(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, WEBHOOKS, configuration({"url": "https://127.0.0.1:9/validate"}))
    async with kube_http.post(MA, json=alias("x")) as response:
        assert response.status == 500
        assert 'failed calling webhook "modelaliases.aliasgate.io"' in (await response.json())["message"]
    async with kube_http.delete(f"{WEBHOOKS}/aliasgate") as response:
        assert response.status == 200
    await post(kube_http, WEBHOOKS, configuration({"url": "https://127.0.0.1:9/validate"}, failure_policy="Ignore"))
    await post(kube_http, MA, alias("x"))


async def test_object_selectors_limit_which_objects_are_reviewed(
    kube_http: aiohttp.ClientSession, recorder: tuple[Recorder, Json]
) -> None:
    hook, client = recorder
    selector = {"matchExpressions": [{"key": "aliasgate.io/review", "operator": "In", "values": ["yes"]}]}
    await post(kube_http, WEBHOOKS, configuration(client, objectSelector=selector))
    await post(kube_http, MA, alias("skipped", mode="chat"))
    async with kube_http.post(
        MA, json=alias("reviewed", mode="chat", labels={"aliasgate.io/review": "yes"})
    ) as response:
        assert response.status == 403
    assert [r["request"]["name"] for r in hook.reviews] == ["reviewed"]


async def test_service_webhooks_over_https_with_a_ca_bundle(
    kube_api: KubeApiServer, kube_http: aiohttp.ClientSession
) -> None:
    hook = Recorder()
    context, cert = await _tls_context()
    app = web.Application()
    app.router.add_post("/validate", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        kube_api.service_urls[("aliasgate-system", "aliasgate-webhook")] = f"https://127.0.0.1:{runner.addresses[0][1]}"
        client_config = {
            "service": {"namespace": "aliasgate-system", "name": "aliasgate-webhook", "path": "/validate"},
            "caBundle": base64.b64encode(cert).decode(),
        }
        await post(kube_http, WEBHOOKS, configuration(client_config))
        async with kube_http.post(MA, json=alias("tls", mode="chat")) as response:
            assert response.status == 403
        assert len(hook.reviews) == 1
    finally:
        await runner.cleanup()


async def test_kubectl_apply_shows_the_denial(
    kube_api: KubeApiServer, kube_http: aiohttp.ClientSession, recorder: tuple[Recorder, Json], tmp_path: pathlib.Path
) -> None:
    _, client = recorder
    await post(kube_http, WEBHOOKS, configuration(client))
    manifest = tmp_path / "chat.yaml"
    body = alias("downgrade", mode="chat")
    body["metadata"]["namespace"] = "team-a"
    manifest.write_bytes(orjson.dumps(body))
    code, _, err = await Kubectl(kube_api, tmp_path)("apply", "-f", str(manifest), check=False)
    assert code != 0
    assert 'admission webhook "modelaliases.aliasgate.io" denied the request: mode chat would downgrade' in err


async def test_a_webhook_url_must_be_https(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(WEBHOOKS, json=configuration({"url": "http://127.0.0.1:9/validate"})) as response:
        assert response.status == 422
        (cause,) = (await response.json())["details"]["causes"]
    assert cause["field"] == "webhooks[0].clientConfig.url"
    assert cause["message"] == (
        "Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]"
    )
