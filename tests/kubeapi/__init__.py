"""A faithful in-memory Kubernetes API server for tests (see README.md in this folder).

The public API, for the suite and the benchmarks: import from ``tests.kubeapi``, never from its modules.
The fixtures (``kube_api``, ``kubeconfig``, ...) come from ``tests.kubeapi.fixtures`` as a pytest plugin.
"""

from __future__ import annotations

from tests.kubeapi.fixtures import TEST_CRD, modelalias_crd_path
from tests.kubeapi.operations import WriteOptions
from tests.kubeapi.server import KubeApiServer, self_signed_certificate
from tests.kubeapi.support import Kubectl

__all__ = ["TEST_CRD", "KubeApiServer", "Kubectl", "WriteOptions", "modelalias_crd_path", "self_signed_certificate"]
