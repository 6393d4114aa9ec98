"""charts/aliasgate installed with helm v4 into a real API server (a control plane of its own, so the
chart owns the CRD here): every object of the default, HA and webhook value sets accepted by server-side
validation and admission, ``helm upgrade`` and ``helm uninstall`` behaving as docs/operations.md says.
No kubelet runs: the Deployments get their pods created (admitted) and Pending.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.stack import DEPLOY, REPO
from tests.support.cluster_plugin import running_cluster
from tests.support.kubeclients import CommandResult, run_tool
from tests.support.kubecluster import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CHART = REPO / "charts" / "aliasgate"
CI_VALUES = CHART / "ci"
CRD_NAME = "modelaliases.aliasgate.io"


class Tools:
    """The built helm and kubectl against this module's cluster, as its admin."""

    def __init__(self, cluster: Cluster, home: Path) -> None:
        self.cluster = cluster
        self.home = home

    def helm(self, *args: str) -> CommandResult:
        return run_tool("helm", *args, kubeconfig=self.cluster.admin_kubeconfig, home=self.home, timeout=180)

    def kubectl(self, *args: str, stdin: str | None = None) -> CommandResult:
        return run_tool("kubectl", *args, kubeconfig=self.cluster.admin_kubeconfig, home=self.home, stdin=stdin)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").check().out)

    def manifest(self, release: str, namespace: str) -> list[dict[str, Any]]:
        out = self.helm("get", "manifest", release, "-n", namespace).check().out
        return [doc for doc in yaml.safe_load_all(out) if doc]

    def stored(self, documents: list[dict[str, Any]], namespace: str) -> set[tuple[str, str]]:
        """(kind, name) of the documents that exist on the server."""
        found = set()
        for doc in documents:
            args = [doc["kind"], doc["metadata"]["name"], "-n", doc["metadata"].get("namespace", namespace)]
            if self.kubectl("get", *args, "-o", "name").code == 0:
                found.add((doc["kind"], doc["metadata"]["name"]))
        return found


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tools]:
    with running_cluster(tmp_path_factory.mktemp("kube-helm")) as cluster:
        yield Tools(cluster, tmp_path_factory.mktemp("helm-home"))


def kinds(documents: list[dict[str, Any]]) -> set[str]:
    return {doc["kind"] for doc in documents}


def modelalias(name: str, namespace: str) -> str:
    body = {"apiVersion": "aliasgate.io/v1alpha1", "kind": "ModelAlias", "metadata": {"name": name, "namespace": namespace},
            "spec": {"backend": {"provider": "openai", "model": "gpt-5", "credentials": "openai-key"}}}  # fmt: skip
    return yaml.safe_dump(body)


def test_default_install_upgrade_and_uninstall_keep_the_crd(tools: Tools) -> None:
    # The install command of docs/operations.md.
    installed = tools.helm(
        "install", "aliasgate", str(CHART), "--namespace", "aliasgate-system", "--create-namespace",
        "--set", "gateway.credentialsSecrets={openai-key,chatgpt-pro}",
    )  # fmt: skip
    assert installed.code == 0, installed.err
    documents = tools.manifest("aliasgate", "aliasgate-system")
    assert {"CustomResourceDefinition", "Deployment", "Role", "ClusterRole", "PodDisruptionBudget"} <= kinds(documents)
    assert tools.stored(documents, "aliasgate-system") == {(d["kind"], d["metadata"]["name"]) for d in documents}
    crd = tools.get_json("crd", CRD_NAME)
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"
    assert tools.kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s").code == 0
    tools.kubectl("create", "namespace", "team-a").check()
    tools.kubectl("apply", "-f", "-", stdin=modelalias("survivor", "team-a")).check()
    pods = tools.get_json("pods", "-n", "aliasgate-system")["items"]
    assert {p["metadata"]["labels"]["app.kubernetes.io/component"] for p in pods} == {"controller", "gateway"}

    # helm upgrade --reuse-values turning the webhook on (docs: "Admission webhook").
    upgraded = tools.helm(
        "upgrade", "aliasgate", str(CHART), "-n", "aliasgate-system", "--reuse-values", "--set", "webhook.enabled=true"
    )
    assert upgraded.code == 0, upgraded.err
    assert (
        json.loads(tools.helm("status", "aliasgate", "-n", "aliasgate-system", "-o", "json").check().out)["version"]
        == 2
    )
    webhook = tools.get_json("validatingwebhookconfiguration", "aliasgate")
    hook = webhook["webhooks"][0]
    assert hook["failurePolicy"] == "Ignore"
    assert hook["clientConfig"]["caBundle"]
    controller = tools.get_json("deployment", "aliasgate-controller", "-n", "aliasgate-system")
    assert any(
        a.startswith("--webhook-listen=") for a in controller["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    # failurePolicy Ignore: no controller answers (no pods run), writes still go through.
    tools.kubectl("apply", "-f", "-", stdin=modelalias("while-webhook-unreachable", "team-a")).check()

    # helm uninstall: everything of the release goes, the CRD (and so every ModelAlias) stays.
    uninstalled = tools.helm("uninstall", "aliasgate", "-n", "aliasgate-system", "--wait")
    assert uninstalled.code == 0, uninstalled.err
    assert "kept due to the resource policy" in uninstalled.out
    kept = tools.stored(documents, "aliasgate-system")
    assert kept == {("CustomResourceDefinition", CRD_NAME)}
    assert tools.kubectl("get", "ma", "survivor", "-n", "team-a").code == 0
    assert tools.kubectl("get", "validatingwebhookconfiguration", "aliasgate").code != 0


def test_ha_values_are_accepted(tools: Tools) -> None:
    installed = tools.helm(
        "install", "aliasgate-ha", str(CHART), "-n", "aliasgate-ha", "--create-namespace",
        "-f", str(CI_VALUES / "ha-values.yaml"), "--set", "crds.enabled=false",
    )  # fmt: skip
    assert installed.code == 0, installed.err
    documents = tools.manifest("aliasgate-ha", "aliasgate-ha")
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "Deployment"} <= kinds(documents)
    assert tools.stored(documents, "aliasgate-ha") == {(d["kind"], d["metadata"]["name"]) for d in documents}
    hpa = tools.get_json("hpa", "-n", "aliasgate-ha")["items"][0]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert tools.helm("uninstall", "aliasgate-ha", "-n", "aliasgate-ha", "--wait").code == 0


def test_webhook_values_need_cert_manager_and_fail_closed_without_a_controller(tools: Tools) -> None:
    crd = DEPLOY / "crds" / "aliasgate.io_modelaliases.yaml"
    tools.kubectl("apply", "--server-side", "-f", str(crd)).check()
    tools.kubectl("create", "namespace", "team-b").check()
    base = ["aliasgate-wh", str(CHART), "-n", "aliasgate-wh", "--create-namespace", "-f", str(CI_VALUES / "webhook-values.yaml"),
            "--set", "crds.enabled=false"]  # fmt: skip
    # As written, the value set asks cert-manager for the certificate: the server has no such kinds.
    refused = tools.helm("install", *base, "--dry-run=server")
    assert refused.code != 0
    assert "cert-manager.io/v1" in refused.err
    # With Helm-generated certificates instead, every object is accepted ...
    installed = tools.helm("install", *base, "--set", "webhook.certManager.enabled=false")
    assert installed.code == 0, installed.err
    documents = tools.manifest("aliasgate-wh", "aliasgate-wh")
    assert {"ValidatingWebhookConfiguration", "NetworkPolicy", "Secret"} <= kinds(documents)
    assert tools.stored(documents, "aliasgate-wh") == {(d["kind"], d["metadata"]["name"]) for d in documents}
    # ... and failurePolicy Fail refuses ModelAlias writes while no controller answers (docs: "Failure policy").
    refused_write = tools.kubectl("apply", "-f", "-", stdin=modelalias("blocked", "team-b"))
    assert refused_write.code != 0
    assert 'failed calling webhook "modelaliases.aliasgate.io"' in refused_write.err
    assert tools.helm("uninstall", "aliasgate-wh", "-n", "aliasgate-wh", "--wait").code == 0
    tools.kubectl("apply", "-f", "-", stdin=modelalias("unblocked", "team-b")).check()
