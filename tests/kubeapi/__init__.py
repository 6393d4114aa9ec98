"""A faithful in-memory Kubernetes API server for tests (see README.md in this folder)."""

from __future__ import annotations

from tests.kubeapi.server import KubeApiServer

__all__ = ["KubeApiServer"]
