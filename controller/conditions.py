"""Status conditions of a ModelAlias (docs/controller.md, "How it works"), built from a verdict: pure, no clock of its own.

Conditions follow the Kubernetes (metav1.Condition) shape: ``type``, ``status`` ("True" | "False" |
"Unknown"), ``reason``, ``message``, ``observedGeneration`` and ``lastTransitionTime``, which changes
only when ``status`` flips, so a re-reconcile with the same outcome writes an identical status (and
the API server emits no watch event). The caller passes ``now``; the reconciler writes the result.

- ``Accepted``: the verdict's ``accepted``/``reason``/``message``.
- ``ResolvedRefs``: credentials and fallbacks; "Unknown" when credentials were not checked.
- ``Programmed``: set by the controller from gateway reports (:func:`programmed_condition`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from controller.conflicts import Verdict

__all__ = [
    "ACCEPTED",
    "MAX_MESSAGE_LENGTH",
    "PROGRAMMED",
    "RESOLVED_REFS",
    "accepted_condition",
    "build_conditions",
    "build_status",
    "format_time",
    "merge_condition",
    "programmed_condition",
    "resolved_refs_condition",
]

ACCEPTED = "Accepted"
RESOLVED_REFS = "ResolvedRefs"
PROGRAMMED = "Programmed"

CONDITION_ORDER = (ACCEPTED, RESOLVED_REFS, PROGRAMMED)

MAX_MESSAGE_LENGTH = 32768
"""metav1.Condition caps ``message`` at 32768 characters; longer ones would make the status write fail."""

ConditionStatus = Literal["True", "False", "Unknown"]


def format_time(now: datetime) -> str:
    """RFC 3339 in UTC with second precision, as metav1.Time serialises."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(value: bool | None) -> ConditionStatus:
    if value is None:
        return "Unknown"
    return "True" if value else "False"


def _truncate(message: str) -> str:
    if len(message) <= MAX_MESSAGE_LENGTH:
        return message
    return message[: MAX_MESSAGE_LENGTH - 3] + "..."


def _find(previous: Sequence[Mapping[str, Any]] | None, condition_type: str) -> Mapping[str, Any] | None:
    for condition in previous or ():
        if isinstance(condition, Mapping) and condition.get("type") == condition_type:
            return condition
    return None


def merge_condition(
    previous: Sequence[Mapping[str, Any]] | None,
    *,
    condition_type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    observed_generation: int | None,
    now: datetime,
) -> dict[str, Any]:
    """One condition; ``lastTransitionTime`` is kept from ``previous`` unless the status flipped."""
    old = _find(previous, condition_type)
    transition = format_time(now)
    if old is not None and old.get("status") == status and isinstance(old.get("lastTransitionTime"), str):
        transition = old["lastTransitionTime"]
    condition: dict[str, Any] = {
        "type": condition_type,
        "status": status,
        "reason": reason,
        "message": _truncate(message),
        "lastTransitionTime": transition,
    }
    if observed_generation is not None:
        condition["observedGeneration"] = observed_generation
    return condition


def accepted_condition(verdict: Verdict, previous: Sequence[Mapping[str, Any]] | None, now: datetime) -> dict[str, Any]:
    return merge_condition(
        previous,
        condition_type=ACCEPTED,
        status=_status(verdict.accepted),
        reason=verdict.reason,
        message=verdict.message,
        observed_generation=verdict.generation,
        now=now,
    )


def resolved_refs_condition(
    verdict: Verdict, previous: Sequence[Mapping[str, Any]] | None, now: datetime
) -> dict[str, Any]:
    return merge_condition(
        previous,
        condition_type=RESOLVED_REFS,
        status=_status(verdict.refs_resolved),
        reason=verdict.refs_reason,
        message=verdict.refs_message,
        observed_generation=verdict.generation,
        now=now,
    )


def programmed_condition(
    verdict: Verdict,
    previous: Sequence[Mapping[str, Any]] | None,
    now: datetime,
    programmed: bool | None,
) -> dict[str, Any]:
    """``Programmed`` from what the gateway pods report (``programmed``: all serve it / not yet / no reports).

    A rejected alias is never in the table, so it is "False" whatever ``programmed`` says.
    """
    if not verdict.accepted:
        status: ConditionStatus = "False"
        reason = "NotAccepted"
        message = "the alias is not in the routing table because it was not accepted"
    elif programmed is None:
        status, reason = "Unknown", "NoGatewayReports"
        message = "no ready gateway pod has reported the routing table it serves yet"
    elif programmed:
        status, reason = "True", "Programmed"
        message = "every ready gateway pod serves a routing table with this generation of the alias"
    else:
        status, reason = "False", "Pending"
        message = "not every ready gateway pod serves a routing table with this generation of the alias yet"
    return merge_condition(
        previous,
        condition_type=PROGRAMMED,
        status=status,
        reason=reason,
        message=message,
        observed_generation=verdict.generation,
        now=now,
    )


def build_conditions(
    verdict: Verdict,
    previous: Sequence[Mapping[str, Any]] | None,
    now: datetime,
    programmed: bool | None,
) -> list[dict[str, Any]]:
    """``Accepted``, ``ResolvedRefs`` and ``Programmed``, in that order."""
    return [
        accepted_condition(verdict, previous, now),
        resolved_refs_condition(verdict, previous, now),
        programmed_condition(verdict, previous, now, programmed),
    ]


def build_status(
    verdict: Verdict,
    previous_status: Mapping[str, Any] | None,
    now: datetime,
    programmed: bool | None,
) -> dict[str, Any]:
    """The whole ``status`` for one object.

    ``resolvedMode``/``backendKey`` are None when unknown (rejected): written as JSON null, which a merge
    patch turns into a deletion and the CRD allows (``nullable``), so stale values never linger.
    Conditions of other types the object carries (set by someone else) are kept, after ours.
    """
    previous_conditions_raw = (previous_status or {}).get("conditions")
    previous_conditions: list[Mapping[str, Any]] = (
        [c for c in previous_conditions_raw if isinstance(c, Mapping)]
        if isinstance(previous_conditions_raw, list)
        else []
    )
    ours = build_conditions(verdict, previous_conditions, now, programmed)
    foreign = [dict(c) for c in previous_conditions if c.get("type") not in CONDITION_ORDER]
    status: dict[str, Any] = {
        "resolvedMode": verdict.resolved_mode,
        "backendKey": verdict.backend_key,
        "conditions": ours + foreign,
    }
    if verdict.generation is not None:
        status = {"observedGeneration": verdict.generation, **status}
    return status
