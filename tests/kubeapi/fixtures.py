"""Pytest fixtures for the test API server; load with ``pytest_plugins = ["tests.kubeapi.fixtures"]``.

- ``kube_api``: a running :class:`KubeApiServer` with the ModelAlias CRD installed (from
  ``deploy/crds/aliasgate.io_modelaliases.yaml`` when it exists, else this folder's test copy) and a
  short bookmark interval (0.5 s).
- ``kube_api_factory``: start more servers, with options (``async with kube_api_factory(history_size=5)``).
- ``kubeconfig``: a kubeconfig file for ``kube_api`` (user ``test``).
- ``kube_client``: a kubernetes-asyncio ``ApiClient`` configured from that file.
- ``kube_http``: an aiohttp ``ClientSession`` with ``base_url=kube_api.url`` and a bearer token (user ``http``).
"""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config

from tests.kubeapi.server import KubeApiServer

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY_CRD = REPO_ROOT / "deploy" / "crds" / "aliasgate.io_modelaliases.yaml"
TEST_CRD = pathlib.Path(__file__).with_name("testdata") / "modelaliases_crd.yaml"
TEST_BOOKMARK_INTERVAL = 0.5


def modelalias_crd_path() -> pathlib.Path:
    """The project's CRD when it exists, else the conformance tests' copy."""
    return DEPLOY_CRD if DEPLOY_CRD.exists() else TEST_CRD


ServerFactory = Callable[..., contextlib.AbstractAsyncContextManager[KubeApiServer]]


@contextlib.asynccontextmanager
async def _server(*, crd: pathlib.Path | None = None, **options: Any) -> AsyncIterator[KubeApiServer]:
    options.setdefault("bookmark_interval", TEST_BOOKMARK_INTERVAL)
    async with KubeApiServer(**options) as api:
        api.install_crd(crd or modelalias_crd_path())
        yield api


@pytest.fixture
def kube_api_factory() -> ServerFactory:
    return _server


@pytest.fixture
async def kube_api() -> AsyncIterator[KubeApiServer]:
    async with _server() as api:
        yield api


@pytest.fixture
def kubeconfig(kube_api: KubeApiServer, tmp_path: pathlib.Path) -> pathlib.Path:
    return kube_api.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
async def kube_client(kubeconfig: pathlib.Path) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration=configuration) as api_client:
        yield api_client


@pytest.fixture
async def kube_http(kube_api: KubeApiServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=kube_api.url,
        headers=kube_api.auth_headers("http"),
        timeout=aiohttp.ClientTimeout(total=15),
    ) as session:
        yield session
