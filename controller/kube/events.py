"""Kubernetes Events about ModelAliases (core v1), so ``kubectl describe ma`` shows rejections.

The core v1 API is used because events.k8s.io/v1 objects read back without ``eventTime`` break common
clients (see the tooling notes); the fields both APIs need are set anyway (``eventTime`` with six
fractional digits, ``reportingController``, ``action``). Deduplication is the reconciler's job.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from controller import leader, ports, resources
from controller.kube.client import KubeClient

__all__ = ["COMPONENT", "EventPoster"]

COMPONENT = "aliasgate-controller"


class EventPoster(ports.EventRecorder):
    """POSTs one core v1 Event per call."""

    def __init__(
        self, *, client: KubeClient, instance: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._client = client
        self._instance = instance
        self._clock = clock
        self.posted = 0

    async def record(
        self, *, namespace: str, name: str, uid: str | None, reason: str, message: str, warning: bool
    ) -> None:
        now = self._clock()
        seconds = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{name}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": {
                "apiVersion": resources.API_VERSION,
                "kind": resources.KIND,
                "namespace": namespace,
                "name": name,
                **({"uid": uid} if uid else {}),
            },
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "action": "Reconcile",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self._instance,
            "firstTimestamp": seconds,
            "lastTimestamp": seconds,
            "eventTime": leader.format_micro_time(now),
            "count": 1,
        }
        await self._client.request("POST", f"/api/v1/namespaces/{namespace}/events", body=body)
        self.posted += 1
