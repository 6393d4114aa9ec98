"""The validating admission webhook registered with the real API server and exercised by kubectl.

The configuration is deploy/components/webhook's (``clientConfig.service``, ``failurePolicy: Ignore``),
with the caBundle of a test CA. The Service it names is of type ExternalName ``localhost``: the API
server then dials ``https://localhost:<port>`` with TLS server name
``aliasgate-controller-webhook.aliasgate-system.svc``, which the serving certificate carries, as in a
cluster. Denials and warnings are the ones docs/operations.md "Admission webhook" describes.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.stack import DEPLOY, MA, SYSTEM, TEAM, Stack, eventually
from tests.support.kubeclients import CommandResult
from tests.support.pki import new_ca
from tests.support.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

COMPONENT = DEPLOY / "components" / "webhook"
SERVICE = "aliasgate-controller-webhook"


def alias(name: str, *, model: str = "gpt-5", mode: str | None = None, claim: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"backend": {"provider": "openai", "model": model, "credentials": "openai-key"}}
    if mode:
        spec["mode"] = mode
    if claim:
        spec["alias"] = claim
    return {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {"name": name, "namespace": TEAM},
        "spec": spec,
    }


def webhook_objects(ca_pem: bytes, port: int) -> list[dict[str, Any]]:
    """The component's configuration pointed at ``port``, and an ExternalName Service standing in for
    the controller pods' Service."""
    configuration = yaml.safe_load((COMPONENT / "validating_webhook_configuration.yaml").read_text())
    configuration = copy.deepcopy(configuration)
    hook = configuration["webhooks"][0]
    hook["clientConfig"]["service"]["port"] = port
    hook["clientConfig"]["caBundle"] = base64.b64encode(ca_pem).decode()
    del configuration["metadata"]["annotations"]  # cert-manager's CA injection: the caBundle is set here
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": SERVICE, "namespace": SYSTEM},
        "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"name": "webhook", "port": port}]},
    }
    return [service, configuration]


async def accepted(stack: Stack, name: str) -> str:
    async with stack.install.admin() as api:
        answer = await api.get(f"{MA}/namespaces/{TEAM}/modelaliases/{name}")
    if answer.status != 200:
        return ""
    meta, status = answer.body["metadata"], answer.body.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition["type"] == "Accepted" and condition.get("observedGeneration") == meta["generation"]:
            return f"{condition['status']}/{condition['reason']}"
    return ""


async def apply(stack: Stack, body: dict[str, Any]) -> CommandResult:
    return await stack.install.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(body))


async def test_kubectl_apply_is_judged_by_the_controller_webhook(stack: Stack, tmp_path: Path) -> None:
    ca = new_ca(tmp_path / "webhook-pki")
    certificate = yaml.safe_load((COMPONENT / "certificate.yaml").read_text().split("---")[1])
    serving = ca.issue(
        "tls", common_name=certificate["spec"]["commonName"], dns=certificate["spec"]["dnsNames"], ips=["127.0.0.1"]
    )
    ports = [free_port(), free_port()]
    for identity, port in zip(("ctl-a", "ctl-b"), ports, strict=True):
        await stack.start_controller(
            identity, "--webhook-listen", f"127.0.0.1:{port}",
            "--webhook-cert-file", str(serving.cert), "--webhook-key-file", str(serving.key),
        )  # fmt: skip
    # The Service routes to the second replica, a follower or the leader: every replica answers.
    objects = {"apiVersion": "v1", "kind": "List", "items": webhook_objects(ca.pem(), ports[1])}
    assert (await stack.install.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(objects))).code == 0
    try:
        assert (await apply(stack, alias("keeper", mode="responses"))).code == 0
        assert (await apply(stack, alias("chatty", model="gpt-4.1", mode="chat"))).code == 0
        await eventually(lambda: accepted(stack, "chatty"), what="chatty judged by the reconciler")

        # A chat alias on the backend "keeper" holds in Responses mode: denied, nothing stored.
        denied = await apply(stack, alias("downgrader", mode="chat"))
        assert denied.code != 0
        assert 'admission webhook "modelaliases.aliasgate.io" denied the request: ModeDowngradeRejected' in denied.err
        assert "keeper" in denied.err
        assert await accepted(stack, "downgrader") == ""

        # A second object claiming the alias "keeper": denied, naming the owner.
        duplicate = await apply(stack, alias("keeper-copy", model="gpt-5-mini", claim="keeper"))
        assert duplicate.code != 0
        assert "denied the request: AliasInUse" in duplicate.err
        assert f"{TEAM}/keeper" in duplicate.err

        # A responses alias on chatty's backend is allowed, with a warning for chatty it pushes out ...
        upgrader = alias("upgrader", model="gpt-4.1", mode="responses")
        allowed = await apply(stack, upgrader)
        assert allowed.code == 0, allowed.err
        assert "modelalias.aliasgate.io/upgrader created" in allowed.out
        assert f"Warning: {TEAM}/chatty would be rejected: ModeDowngradeRejected" in allowed.err
        # ... and the reconciler agrees with the warning.
        await eventually(
            lambda: _is(accepted(stack, "chatty"), "False/ModeDowngradeRejected"), what="chatty rejected on status"
        )

        # An ordinary edit of an accepted object passes silently.
        upgrader["metadata"]["labels"] = {"team": "a"}
        edited = await apply(stack, upgrader)
        assert "modelalias.aliasgate.io/upgrader configured" in edited.out
        assert "Warning" not in edited.err

        # failurePolicy Ignore: with the replica behind the Service gone, writes go through and the
        # reconciler (the other replica) judges them on their status.
        stack.controllers[1].kill()
        late = await apply(stack, alias("late-downgrader", mode="chat"))
        assert late.code == 0, late.err
        await eventually(
            lambda: _is(accepted(stack, "late-downgrader"), "False/ModeDowngradeRejected"),
            timeout=20,
            what="late-downgrader rejected by the reconciler",
        )
    finally:
        await stack.install.kubectl("delete", "validatingwebhookconfiguration", "aliasgate", "--ignore-not-found")
        await stack.install.kubectl("delete", "service", SERVICE, "-n", SYSTEM, "--ignore-not-found")


async def _is(value: Any, want: str) -> bool:
    return bool(await value == want)
