"""One real control plane for this package, with aliasgate installed by ``kubectl apply -k deploy/`` once.

Every test here is marked ``kube``. Product processes (``stack``) are started per test, after the
objects an earlier test left are removed (``reset``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.cluster.stack import DEMO, DEPLOY, TEAM, Installation, Stack, reset, secret_body
from tests.support.cluster_plugin import running_cluster
from tests.support.kubeclients import KubeHttp, run_tool
from tests.support.kubecluster import Cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.kube)


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("kube")) as running:
        yield running


@pytest.fixture(scope="package")
def installation(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Installation:
    """The plain install of docs/operations.md, ``kubectl apply -k deploy/``, then the CRD Established,
    two team namespaces and the credentials Secrets the samples name."""
    home = tmp_path_factory.mktemp("kube-home")

    def kubectl(*args: str, stdin: str | None = None) -> str:
        return run_tool("kubectl", *args, kubeconfig=cluster.admin_kubeconfig, home=home, stdin=stdin).check().out

    kubectl("apply", "-k", str(DEPLOY))
    kubectl("wait", "--for=condition=Established", "crd/modelaliases.aliasgate.io", "--timeout=60s")
    # kubectl cached discovery before the CRD was served; refresh it (what `kubectl api-resources` does).
    assert "modelaliases" in kubectl("api-resources", "--api-group=aliasgate.io")
    for namespace in (DEMO, TEAM):
        kubectl("create", "namespace", namespace)
    secrets = [
        secret_body("openai-key", {"apiKey": "sk-test"}),
        secret_body("chatgpt-pro", {"accessToken": "token", "accountId": "acct"}),
    ]
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": secrets}))
    return Installation(cluster=cluster, home=home)


@pytest.fixture
async def admin(cluster: Cluster) -> AsyncIterator[KubeHttp]:
    async with KubeHttp(cluster) as api:
        yield api


@pytest.fixture
async def stack(installation: Installation, tmp_path: Path) -> AsyncIterator[Stack]:
    """A fresh start: no ModelAlias, table or Lease; then the simulator (the caller starts the rest)."""
    await reset(installation)
    running = Stack(installation, tmp_path)
    try:
        await running.start_simulator()
        yield running
    finally:
        await running.close()
