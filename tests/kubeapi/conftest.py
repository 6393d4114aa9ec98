"""The conformance tests pin the server's behaviour against their own, stable CRD (``testdata/``), not
the project's (``deploy/crds/``), which changes with the product; ``test_project_crd.py`` covers that one.

Differential check: every test that talks to the server only through ``kube_http`` (aiohttp) or
``kube_client`` (kubernetes-asyncio) runs twice, against
the test server (``[fake]``) and against a real kube-apiserver v1.37.2 (``[real]``, marked ``kube``), so
a behaviour the fake gets wrong fails here. Tests that inspect or steer the fake itself (``kube_api``,
``kube_api_factory``: Python helpers, fault injection, request accounting) run against the fake only.
"""

from __future__ import annotations

import asyncio
import pathlib
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import aiohttp
import pytest
from kubernetes_asyncio import client, config

from tests.kubeapi.fixtures import TEST_CRD, ServerFactory
from tests.kubeapi.server import KubeApiServer
from tests.support.cluster_plugin import running_cluster
from tests.support.kubeclients import run_tool
from tests.support.kubecluster import Cluster

FAKE_ONLY = {"kube_api", "kube_api_factory"}
TARGETED = {"kube_http", "kube_client"}
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WEBHOOKS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
TEST_CRD_NAME = "modelaliases.aliasgate.io"
NAMESPACES = ("team-a", "team-b")
"""Namespaces the tests write into without creating them (the fake does not insist; a real server does)."""
CLEANED = (
    "/api/v1/namespaces/{ns}/configmaps?fieldSelector=metadata.name!=kube-root-ca.crt",
    "/api/v1/namespaces/{ns}/secrets",
    "/api/v1/namespaces/{ns}/events",
    "/api/v1/namespaces/{ns}/pods",
    "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
    "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
    "/apis/aliasgate.io/v1alpha1/namespaces/{ns}/modelaliases",
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if TARGETED & set(metafunc.fixturenames) and not FAKE_ONLY & set(metafunc.fixturenames):
        metafunc.parametrize("api_target", ["fake", pytest.param("real", marks=pytest.mark.kube)], indirect=True)


@pytest.fixture
def api_target(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "fake"))


@pytest.fixture
async def kube_api(kube_api_factory: ServerFactory) -> AsyncIterator[KubeApiServer]:
    async with kube_api_factory(crd=TEST_CRD) as api:
        yield api


@pytest.fixture(scope="package")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A real control plane with the conformance CRD installed and Established."""
    home = tmp_path_factory.mktemp("kubeapi-real-home")
    with running_cluster(tmp_path_factory.mktemp("kubeapi-real")) as cluster:

        def kubectl(*args: str) -> None:
            run_tool("kubectl", *args, kubeconfig=cluster.admin_kubeconfig, home=home).check()

        kubectl("apply", "-f", str(TEST_CRD))
        kubectl("wait", "--for=condition=Established", "crd/modelaliases.aliasgate.io", "--timeout=60s")
        yield cluster


async def _fresh_namespaces(session: aiohttp.ClientSession) -> None:
    """Empty ``default``, the test namespaces present and active (a deleted one terminates first), and no
    CRD but the conformance one (a deleted CRD is gone only once its objects are), and no webhook."""
    async with session.delete(WEBHOOKS) as response:
        assert response.status == 200, await response.text()
    async with session.get(CRDS) as response:
        extra = [
            c["metadata"]["name"] for c in (await response.json())["items"] if c["metadata"]["name"] != TEST_CRD_NAME
        ]
    for name in extra:
        async with session.delete(f"{CRDS}/{name}") as response:
            assert response.status in {200, 404}, await response.text()
    for name in extra:
        for _ in range(300):
            async with session.get(f"{CRDS}/{name}") as response:
                if response.status == 404:
                    break
            await asyncio.sleep(0.1)
    for namespace in NAMESPACES:
        for _ in range(300):
            async with session.get(f"/api/v1/namespaces/{namespace}") as response:
                if response.status == 404:
                    body = {"metadata": {"name": namespace}}
                    async with session.post("/api/v1/namespaces", json=body) as created:
                        assert created.status == 201, await created.text()
                    break
                if (await response.json())["status"]["phase"] == "Active":
                    break
            await asyncio.sleep(0.1)
    for namespace in ("default", *NAMESPACES):
        for template in CLEANED:
            async with session.delete(template.format(ns=namespace)) as response:
                assert response.status in {200, 404}, await response.text()


@dataclass(frozen=True)
class Target:
    """Where the server under test listens and how a test authenticates to it."""

    url: str
    ssl: ssl.SSLContext | bool
    headers: dict[str, str]
    real: bool
    user: str
    """Who the server sees ``kube_http`` as (a webhook's ``userInfo.username``)."""
    kubeconfig: Callable[[pathlib.Path], pathlib.Path]
    """Writes a kubeconfig for this server into a folder (the admin's, on the real server)."""

    def session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            base_url=self.url,
            headers=self.headers,
            connector=aiohttp.TCPConnector(ssl=self.ssl),
            timeout=aiohttp.ClientTimeout(total=15),
        )


@pytest.fixture
def target_server(api_target: str, request: pytest.FixtureRequest) -> Target:
    if api_target == "real":
        cluster: Cluster = request.getfixturevalue("real_cluster")
        return Target(cluster.server, cluster.ssl_context(), {}, True, "admin", lambda _: cluster.admin_kubeconfig)
    api: KubeApiServer = request.getfixturevalue("kube_api")
    return Target(api.url, False, api.auth_headers("http"), False, "http", lambda d: api.write_kubeconfig(d / "kc"))


@pytest.fixture
async def server_under_test(target_server: Target) -> AsyncIterator[Target]:
    """The fake (a fresh one per test), or the package's real server with its namespaces emptied of what
    earlier tests wrote."""
    if not target_server.real:
        yield target_server
        return
    async with target_server.session() as session:
        await _fresh_namespaces(session)
    yield target_server
    await asyncio.sleep(0.25)  # let TLS transports finish closing before the test's loop goes away


@pytest.fixture
async def kube_http(server_under_test: Target) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session with ``base_url`` at the server under test (fake: a token; real: the admin
    client certificate)."""
    async with server_under_test.session() as session:
        yield session


@pytest.fixture
async def kube_client(server_under_test: Target, tmp_path: pathlib.Path) -> AsyncIterator[client.ApiClient]:
    """kubernetes-asyncio configured from a kubeconfig of the server under test."""
    configuration = client.Configuration()
    kubeconfig = server_under_test.kubeconfig(tmp_path)
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration=configuration) as api_client:
        yield api_client
