"""Admission review of a ModelAlias against the current inventory (docs/controller.md, "Admission webhook").

Pure: runs the same conflict engine as the reconciler on "the inventory as it would be after this
write" and compares it with the inventory as it is. A write is denied when the object itself would
be rejected for a conflict a user can fix before applying (a downgrade or a duplicate alias); every
other object that the write would newly push out of the table becomes an admission warning. The
reconciler stays the source of truth when the webhook is off or fails open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.conflicts import (
    InvalidAlias,
    Reason,
    Verdict,
    resolve,
)
from controller.resources import InvalidObjectError, ModelAlias, parse_object

__all__ = ["DENIED_REASONS", "AdmissionDecision", "review"]

DENIED_REASONS: frozenset[Reason] = frozenset({"ModeDowngradeRejected", "AliasInUse", "UnsupportedMode", "InvalidSpec"})
"""Reasons that deny a write outright: the object could never be accepted as written."""


@dataclass(frozen=True, slots=True)
class AdmissionDecision:
    """What the webhook answers: allowed or not, why, and warnings about other objects."""

    allowed: bool
    reason: str
    message: str
    warnings: tuple[str, ...] = ()


def review(
    raw: dict[str, Any] | None,
    *,
    operation: str,
    inventory: Iterable[ModelAlias | InvalidAlias],
    namespace: str | None = None,
    name: str | None = None,
    current_verdicts: Mapping[str, Verdict] | None = None,
) -> AdmissionDecision:
    """Judge a CREATE, UPDATE or DELETE of one ModelAlias given everything else that exists.

    ``raw`` is the incoming object (None for DELETE, where ``namespace``/``name`` identify the victim).
    ``current_verdicts`` are the verdicts of ``inventory`` as it is, when the caller has them cached
    (one engine run fewer per review: at 10k objects a run costs a few hundred milliseconds).
    """
    current = {_key(obj): obj for obj in inventory}
    if operation == "DELETE":
        if namespace is None or name is None:
            return AdmissionDecision(True, "Allowed", "nothing to review")
        proposed = {key: obj for key, obj in current.items() if key != (namespace, name)}
        before = _verdicts(current, current_verdicts)
        warnings = _newly_rejected(before, resolve(proposed.values()).verdicts, skip=None)
        return AdmissionDecision(True, "Allowed", "delete allowed", warnings)

    try:
        candidate = parse_object(raw)
    except InvalidObjectError as exc:
        return AdmissionDecision(False, "InvalidSpec", f"invalid ModelAlias: {exc}")
    key = (candidate.metadata.namespace, candidate.metadata.name)
    previous = current.get(key)
    if isinstance(previous, ModelAlias) and candidate.metadata.creation_timestamp is None:
        # An UPDATE keeps its age; a CREATE is the youngest object by definition.
        meta = candidate.metadata.model_copy(update={"creation_timestamp": previous.metadata.creation_timestamp})
        candidate = candidate.model_copy(update={"metadata": meta})
    elif candidate.metadata.creation_timestamp is None:
        meta = candidate.metadata.model_copy(update={"creation_timestamp": "9999-12-31T23:59:59Z"})
        candidate = candidate.model_copy(update={"metadata": meta})
    proposed = dict(current)
    proposed[key] = candidate
    after = resolve(proposed.values()).verdicts
    verdict = after[f"{key[0]}/{key[1]}"]
    if not verdict.accepted and verdict.reason in DENIED_REASONS:
        return AdmissionDecision(False, verdict.reason, verdict.message)
    warnings = _newly_rejected(_verdicts(current, current_verdicts), after, skip=key)
    if not verdict.accepted:
        warnings = (f"{key[0]}/{key[1]} will not be served: {verdict.reason}: {verdict.message}", *warnings)
    return AdmissionDecision(True, "Allowed", "no conflicts", warnings)


def _key(obj: ModelAlias | InvalidAlias) -> tuple[str, str]:
    if isinstance(obj, ModelAlias):
        return (obj.metadata.namespace, obj.metadata.name)
    return (obj.namespace, obj.name)


def _verdicts(
    objects: dict[tuple[str, str], ModelAlias | InvalidAlias], cached: Mapping[str, Verdict] | None
) -> Mapping[str, Verdict]:
    return cached if cached is not None else resolve(objects.values()).verdicts


def _newly_rejected(
    old: Mapping[str, Verdict], new: Mapping[str, Verdict], *, skip: tuple[str, str] | None
) -> tuple[str, ...]:
    """Warnings for objects accepted before the write and rejected after it."""
    warnings = []
    for ref, verdict in sorted(new.items()):
        if skip is not None and ref == f"{skip[0]}/{skip[1]}":
            continue
        was = old.get(ref)
        if was is not None and was.accepted and not verdict.accepted:
            warnings.append(f"{ref} would be rejected: {verdict.reason}: {verdict.message}")
    return tuple(warnings)
