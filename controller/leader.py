"""Leader election decisions over a coordination.k8s.io/v1 Lease (pure; I/O in ``controller.kube.leasing``).

The rules follow client-go's: a follower takes over only when it has seen the same Lease record unchanged
for a whole lease duration on its *own* clock (no trust in other machines' clocks), and a leader counts
itself leader only until ``last successful renew + renew deadline``, which is shorter than the lease
duration. So a leader that cannot renew stops writing before anybody else may start.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "Action",
    "ElectionState",
    "LeaseRecord",
    "format_micro_time",
    "next_record",
    "parse_micro_time",
    "release_record",
]


def format_micro_time(moment: datetime) -> str:
    """Kubernetes MicroTime: RFC 3339 in UTC with exactly six fractional digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The Lease spec fields that matter, plus the object's resourceVersion for optimistic writes."""

    holder: str | None
    lease_duration_seconds: int | None
    acquire_time: str | None
    renew_time: str | None
    transitions: int
    resource_version: str | None


class Action(enum.Enum):
    ACQUIRE = "acquire"
    """The lease is free or expired: take it (create or replace with the observed resourceVersion)."""
    RENEW = "renew"
    """We hold it: write a new renewTime."""
    WAIT = "wait"
    """Someone else holds a live lease."""


@dataclass
class ElectionState:
    """One replica's view: what it last saw of the Lease, when (its monotonic clock), and its own tenure."""

    identity: str
    lease_duration_seconds: float
    renew_deadline_seconds: float
    observed: LeaseRecord | None = None
    observed_at: float = 0.0
    last_renew_at: float | None = None
    """Monotonic time of our last successful acquire/renew; None while follower."""
    history: list[bool] = field(default_factory=list)
    """Leadership flips, for tests and logs."""

    def observe(self, record: LeaseRecord | None, now: float) -> None:
        """Remember the lease as read; the expiry clock restarts only when its content changed."""
        if record is None or self.observed is None or _content(record) != _content(self.observed):
            self.observed_at = now
        self.observed = record

    def decide(self, now: float) -> Action:
        lease = self.observed
        if lease is None or not lease.holder:
            return Action.ACQUIRE
        if lease.holder == self.identity:
            return Action.RENEW
        duration = lease.lease_duration_seconds or self.lease_duration_seconds
        if now - self.observed_at > duration:
            return Action.ACQUIRE
        return Action.WAIT

    def succeeded(self, now: float) -> bool:
        """Our acquire/renew was written; returns True when this made us leader."""
        became = self.last_renew_at is None
        self.last_renew_at = now
        if became:
            self.history.append(True)
        return became

    def is_leader(self, now: float) -> bool:
        return self.last_renew_at is not None and now - self.last_renew_at < self.renew_deadline_seconds

    def step_down(self) -> bool:
        """Stop being leader (deadline passed, another holder seen, or shutdown); True when we were leader."""
        was = self.last_renew_at is not None
        self.last_renew_at = None
        if was:
            self.history.append(False)
        return was


def _content(record: LeaseRecord) -> tuple[object, ...]:
    return (record.holder, record.renew_time, record.acquire_time, record.transitions, record.resource_version)


def next_record(
    state: ElectionState, action: Action, *, wall_now: datetime, lease_duration_seconds: int
) -> dict[str, object]:
    """The Lease ``spec`` to write for ``action`` (ACQUIRE or RENEW)."""
    lease = state.observed
    stamp = format_micro_time(wall_now)
    if action is Action.RENEW and lease is not None:
        return {
            "holderIdentity": state.identity,
            "leaseDurationSeconds": lease_duration_seconds,
            "acquireTime": lease.acquire_time or stamp,
            "renewTime": stamp,
            "leaseTransitions": lease.transitions,
        }
    transitions = 0 if lease is None else lease.transitions + (1 if lease.holder else 0)
    return {
        "holderIdentity": state.identity,
        "leaseDurationSeconds": lease_duration_seconds,
        "acquireTime": stamp,
        "renewTime": stamp,
        "leaseTransitions": transitions,
    }


def release_record(state: ElectionState, *, wall_now: datetime) -> dict[str, object]:
    """The Lease ``spec`` that hands the lease back on shutdown (empty holder, so others acquire at once)."""
    lease = state.observed
    return {
        "holderIdentity": None,
        "leaseDurationSeconds": 1,
        "acquireTime": None,
        "renewTime": format_micro_time(wall_now),
        "leaseTransitions": 0 if lease is None else lease.transitions,
    }
