"""Shared test configuration. Per-area fixtures live in each folder's own conftest.py."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Fixtures of the Kubernetes API test server (kube_api, kubeconfig, kube_client, kube_api_factory), and the
# real control plane's plugin (builds its binaries before the first `kube`-marked test; running_cluster()).
pytest_plugins = ["tests.kubeapi.fixtures", "tests.support.cluster_plugin"]

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
