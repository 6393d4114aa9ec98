"""The conformance tests pin the server's behaviour against their own, stable CRD (``testdata/``), not
the project's (``deploy/crds/``), which changes with the product; ``test_project_crd.py`` covers that one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.kubeapi.fixtures import TEST_CRD, ServerFactory
from tests.kubeapi.server import KubeApiServer


@pytest.fixture
async def kube_api(kube_api_factory: ServerFactory) -> AsyncIterator[KubeApiServer]:
    async with kube_api_factory(crd=TEST_CRD) as api:
        yield api
