"""Phases 2 and 3 of the engine: backend agreement, then modes and names solved together (a fixpoint)."""

from __future__ import annotations

from controller.conflicts.checks import Entry
from controller.resources import PROVIDER_MODES

__all__ = ["agree_on_backends", "explain_rejections", "solve_modes_and_names"]

_MAX_NAMED = 5
"""How many aliases a message names before it says "and N more" (messages stay bounded)."""


def _named(refs: list[str]) -> str:
    shown = ", ".join(refs[:_MAX_NAMED])
    extra = len(refs) - _MAX_NAMED
    return f"{shown} and {extra} more" if extra > 0 else shown


def _describe(entry: Entry) -> str:
    return f"{entry.alias!r} ({entry.ref})"


def _shown(value: str | None) -> str:
    return "none" if value is None else repr(value)


def agree_on_backends(entries: list[Entry]) -> list[Entry]:
    """Phase 2: the oldest alias on a backend fixes its credentials and apiVersion; returns the survivors."""
    by_backend: dict[str, list[Entry]] = {}
    for entry in entries:
        by_backend.setdefault(entry.key, []).append(entry)
    for key, members in by_backend.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda e: e.age)
        first = members[0].obj.spec.backend
        for entry in members[1:]:
            backend = entry.obj.spec.backend
            if backend.credentials != first.credentials:
                what, value = "credentials", first.credentials
            elif backend.api_version != first.api_version:
                what, value = "apiVersion", first.api_version
            else:
                continue
            entry.rejection = (
                "BackendConflict",
                f"backend {key} already uses {what} {_shown(value)}, set by {_describe(members[0])}, its oldest "
                f"alias; aliases sharing a backend must agree on spec.backend.credentials and "
                f"spec.backend.apiVersion, so use the same value or point this alias at another backend",
            )
    return [entry for entry in entries if entry.rejection is None]


def solve_modes_and_names(live: list[Entry]) -> tuple[dict[str, Entry], set[str]]:
    """Phase 3: the least fixpoint of Responses stickiness and alias uniqueness (see the module docstring).

    Marks downgraded entries and returns the winner of each alias name and the Responses backends. A
    worklist of backends newly in Responses mode drives it: downgrading a chat alias that was a name's
    winner lets the next claimant win, which may put its own backend in Responses mode in turn.
    """
    by_backend: dict[str, list[Entry]] = {}
    claimants: dict[str, list[Entry]] = {}
    for entry in live:
        by_backend.setdefault(entry.key, []).append(entry)
        claimants.setdefault(entry.alias, []).append(entry)
    for members in claimants.values():
        members.sort(key=lambda e: e.age)
    winner_index = dict.fromkeys(claimants, 0)
    responses_backends: set[str] = set()
    queue: list[str] = []

    def mark_responses(key: str) -> None:
        if key not in responses_backends:
            responses_backends.add(key)
            queue.append(key)

    for entry in live:
        if "chat" not in PROVIDER_MODES[entry.obj.spec.backend.provider]:
            mark_responses(entry.key)
    for members in claimants.values():
        if members[0].declared == "responses":
            mark_responses(members[0].key)
    while queue:
        for entry in by_backend[queue.pop()]:
            if entry.declared != "chat" or entry.downgraded:
                continue
            entry.downgraded = True
            members = claimants[entry.alias]
            index = winner_index[entry.alias]
            if members[index] is not entry:
                continue  # it was not winning its name, so no one else gains by its loss
            while index < len(members) and members[index].downgraded:
                index += 1
            winner_index[entry.alias] = index
            if index < len(members) and members[index].declared == "responses":
                mark_responses(members[index].key)
    winners = {
        alias: members[winner_index[alias]]
        for alias, members in claimants.items()
        if winner_index[alias] < len(members)
    }
    return winners, responses_backends


def explain_rejections(live: list[Entry], winners: dict[str, Entry]) -> None:
    """Phase 3's verdicts: downgrades name the holders, name losers name the winner."""
    holders: dict[str, list[str]] = {}
    for winner in winners.values():
        if winner.declared == "responses":
            holders.setdefault(winner.key, []).append(_describe(winner))
    for entry in live:
        if entry.downgraded:
            named = sorted(holders.get(entry.key, []))
            held = f"held there by {_named(named)}" if named else "its provider serves only Responses"
            entry.rejection = (
                "ModeDowngradeRejected",
                f"backend {entry.key} is in Responses mode, {held}; mode chat would "
                f"downgrade it for every alias on it. Remove spec.mode (the alias then inherits responses and "
                f"the gateway bridges chat requests) or point spec.backend at another backend",
            )
            continue
        winner = winners[entry.alias]
        if winner is not entry:
            created = winner.obj.metadata.creation_timestamp
            since = f"created {created}" if created else "no creationTimestamp either"
            entry.rejection = (
                "AliasInUse",
                f"alias {entry.alias!r} is already served by {winner.ref} ({since}), which takes "
                f"precedence (oldest first, then namespace/name); rename spec.alias or delete the other object",
            )
