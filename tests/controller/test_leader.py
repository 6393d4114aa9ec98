"""Leader election decisions: acquire, renew, wait, expiry on the follower's own clock, step down."""

from __future__ import annotations

from datetime import UTC, datetime

from controller import leader
from controller.leader import Action, ElectionState, LeaseRecord


def record(holder: str | None, renew: str = "t1", rv: str = "1", transitions: int = 0) -> LeaseRecord:
    return LeaseRecord(
        holder=holder,
        lease_duration_seconds=15,
        acquire_time="t0",
        renew_time=renew,
        transitions=transitions,
        resource_version=rv,
    )


def state(identity: str = "me") -> ElectionState:
    return ElectionState(identity=identity, lease_duration_seconds=15, renew_deadline_seconds=10)


def test_missing_lease_is_acquired() -> None:
    s = state()
    s.observe(None, now=0)
    assert s.decide(now=0) is Action.ACQUIRE


def test_lease_without_holder_is_acquired() -> None:
    s = state()
    s.observe(record(None), now=0)
    assert s.decide(now=0) is Action.ACQUIRE


def test_live_lease_of_another_holder_is_respected() -> None:
    s = state()
    s.observe(record("other"), now=0)
    assert s.decide(now=14.9) is Action.WAIT


def test_lease_unchanged_for_its_duration_is_taken_over() -> None:
    s = state()
    s.observe(record("other"), now=0)
    s.observe(record("other"), now=10)  # same content: the expiry clock keeps running
    assert s.decide(now=15.1) is Action.ACQUIRE


def test_renewed_lease_restarts_the_followers_clock() -> None:
    s = state()
    s.observe(record("other", renew="t1", rv="1"), now=0)
    s.observe(record("other", renew="t2", rv="2"), now=10)
    assert s.decide(now=20) is Action.WAIT
    assert s.decide(now=25.1) is Action.ACQUIRE


def test_own_lease_is_renewed() -> None:
    s = state()
    s.observe(record("me"), now=0)
    assert s.decide(now=0) is Action.RENEW


def test_leader_until_renew_deadline_then_not() -> None:
    s = state()
    assert s.succeeded(now=100) is True
    assert s.succeeded(now=102) is False  # a renewal, not a new tenure
    assert s.is_leader(now=111.9)
    assert not s.is_leader(now=112.1)
    assert s.step_down() is True
    assert s.step_down() is False
    assert s.history == [True, False]


def test_renew_deadline_is_shorter_than_lease_duration_so_tenures_never_overlap() -> None:
    old, new = state("old"), state("new")
    old.succeeded(now=0)  # last renewal the old leader managed
    new.observe(record("old"), now=0)
    first_takeover = next(t / 10 for t in range(400) if new.decide(now=t / 10) is Action.ACQUIRE)
    assert not old.is_leader(now=first_takeover)


def test_acquire_record_counts_a_transition_and_stamps_micro_time() -> None:
    s = state()
    s.observe(record("other", transitions=3), now=0)
    spec = leader.next_record(
        s, Action.ACQUIRE, wall_now=datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC), lease_duration_seconds=15
    )
    assert spec["holderIdentity"] == "me"
    assert spec["leaseTransitions"] == 4
    assert spec["renewTime"] == "2026-01-02T03:04:05.000060Z"
    assert spec["acquireTime"] == spec["renewTime"]


def test_renew_record_keeps_acquire_time_and_transitions() -> None:
    s = state()
    s.observe(record("me", transitions=2), now=0)
    spec = leader.next_record(s, Action.RENEW, wall_now=datetime(2026, 1, 2, tzinfo=UTC), lease_duration_seconds=15)
    assert spec["acquireTime"] == "t0"
    assert spec["leaseTransitions"] == 2
    assert spec["renewTime"] == "2026-01-02T00:00:00.000000Z"


def test_release_record_empties_the_holder() -> None:
    s = state()
    s.observe(record("me", transitions=2), now=0)
    spec = leader.release_record(s, wall_now=datetime(2026, 1, 2, tzinfo=UTC))
    assert spec["holderIdentity"] is None
    assert spec["leaseTransitions"] == 2


def test_micro_time_round_trips() -> None:
    moment = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert leader.parse_micro_time(leader.format_micro_time(moment)) == moment
    assert leader.parse_micro_time("garbage") is None
