"""Lease-based leader election I/O (coordination.k8s.io/v1); the decisions are in ``controller.leader``.

Every retry period the elector reads the Lease and, as ``controller.leader`` decides, acquires it
(create, or replace with the observed resourceVersion so two candidates cannot both win) or renews it.
A 409 means another replica wrote first: it stays follower. ``is_leader`` is checked by the reconciler
before every write; leadership ends by itself once renewals failed for the renew deadline. On shutdown
the Lease is released so the other replica takes over at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from aliasgate.runtime.kubeerrors import ConflictError, KubeApiError, NotFoundError
from controller import leader, ports
from controller.kube.client import KubeClient

__all__ = ["AlwaysLeader", "LeaseElector", "parse_lease"]

log = structlog.get_logger("controller.leasing")


def parse_lease(raw: dict[str, Any] | None) -> leader.LeaseRecord | None:
    if raw is None:
        return None
    spec = raw.get("spec") or {}
    return leader.LeaseRecord(
        holder=spec.get("holderIdentity") or None,
        lease_duration_seconds=spec.get("leaseDurationSeconds"),
        acquire_time=spec.get("acquireTime"),
        renew_time=spec.get("renewTime"),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=(raw.get("metadata") or {}).get("resourceVersion"),
    )


class AlwaysLeader(ports.Leadership):
    """``--no-leader-election``: this process is the only writer."""

    def is_leader(self) -> bool:
        return True


class LeaseElector(ports.Leadership):
    def __init__(
        self,
        *,
        client: KubeClient,
        namespace: str,
        name: str,
        identity: str,
        lease_duration_seconds: float,
        renew_deadline_seconds: float,
        retry_period_seconds: float,
        on_change: Callable[[bool], None],
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._name = name
        self._duration = max(1, round(lease_duration_seconds))
        self._retry = retry_period_seconds
        self._on_change = on_change
        self._clock = clock
        self._wall = wall_clock
        self.state = leader.ElectionState(
            identity=identity,
            lease_duration_seconds=lease_duration_seconds,
            renew_deadline_seconds=renew_deadline_seconds,
        )
        self.writes = 0

    @property
    def _path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self._namespace}/leases/{self._name}"

    def is_leader(self) -> bool:
        return self.state.is_leader(self._clock())

    def _lose(self, why: str) -> None:
        if self.state.step_down():
            log.warning("leadership_lost", identity=self.state.identity, reason=why)
            self._on_change(False)

    async def _read(self) -> dict[str, Any] | None:
        try:
            return await self._client.request("GET", self._path)
        except NotFoundError:
            return None

    async def step(self) -> None:
        """One read-decide-write round."""
        started = self._clock()
        raw = await self._read()
        record = parse_lease(raw)
        self.state.observe(record, started)
        if record is not None and record.holder not in (None, self.state.identity):
            self._lose("another holder")
        action = self.state.decide(self._clock())
        if action is leader.Action.WAIT:
            return
        spec = leader.next_record(self.state, action, wall_now=self._wall(), lease_duration_seconds=self._duration)
        body: dict[str, Any] = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": spec,
        }
        try:
            if raw is None:
                written = await self._client.request(
                    "POST", f"/apis/coordination.k8s.io/v1/namespaces/{self._namespace}/leases", body=body
                )
            else:
                body["metadata"]["resourceVersion"] = (raw.get("metadata") or {}).get("resourceVersion")
                written = await self._client.request("PUT", self._path, body=body)
        except ConflictError:
            return  # somebody else wrote first; the next round reads who
        self.writes += 1
        self.state.observe(parse_lease(written) if written else None, started)
        if self.state.succeeded(started):
            log.info("leadership_acquired", identity=self.state.identity)
            self._on_change(True)

    async def run(self) -> None:
        """Acquire/renew every retry period until cancelled; API errors only delay the next round."""
        while True:
            try:
                await self.step()
            except KubeApiError as exc:
                log.warning("lease_round_failed", error=str(exc))
            if self.state.last_renew_at is not None and not self.is_leader():
                self._lose("renew deadline passed")
            delay = self._retry
            if self.state.last_renew_at is not None:  # wake up in time to step down at the deadline
                left = self.state.last_renew_at + self.state.renew_deadline_seconds - self._clock()
                delay = max(0.01, min(delay, left))
            await asyncio.sleep(delay)

    async def release(self) -> None:
        """Give the Lease back (shutdown) so a follower need not wait for it to expire."""
        if self.state.last_renew_at is None:
            return
        self._lose("shutdown")
        try:
            raw = await self._read()
            record = parse_lease(raw)
            if raw is None or record is None or record.holder != self.state.identity:
                return
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": self._name,
                    "namespace": self._namespace,
                    "resourceVersion": (raw.get("metadata") or {}).get("resourceVersion"),
                },
                "spec": leader.release_record(self.state, wall_now=self._wall()),
            }
            await self._client.request("PUT", self._path, body=body)
            log.info("leadership_released", identity=self.state.identity)
        except KubeApiError as exc:
            log.warning("lease_release_failed", error=str(exc))
