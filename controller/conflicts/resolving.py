"""The engine's entry point: the phases in the order of the rule spec (the package docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aliasgate.runtime.gcpause import collector_paused
from controller.conflicts.assembling import assemble
from controller.conflicts.checks import check_each
from controller.conflicts.credentials import CredentialInfo
from controller.conflicts.memo import ResolveMemo
from controller.conflicts.objects import InvalidAlias, deduplicate
from controller.conflicts.recording import Output
from controller.conflicts.solving import agree_on_backends, explain_rejections, solve_modes_and_names
from controller.conflicts.verdicts import Resolution
from controller.resources import ModelAlias

__all__ = ["resolve"]


def resolve(
    objects: Iterable[ModelAlias | InvalidAlias],
    *,
    credentials: Mapping[str, CredentialInfo] | None = None,
    generation: int = 0,
    memo: ResolveMemo | None = None,
) -> Resolution:
    """Apply every rule of docs/conflict-rules.md (in the order of the package docstring).

    ``credentials=None`` means they could not be checked; ``generation`` is the table's generation;
    ``memo`` (optional) carries unchanged routes over from the caller's previous resolution.
    """
    with collector_paused():
        return _resolve(objects, credentials=credentials, generation=generation, memo=memo)


def _resolve(
    objects: Iterable[ModelAlias | InvalidAlias],
    *,
    credentials: Mapping[str, CredentialInfo] | None,
    generation: int,
    memo: ResolveMemo | None,
) -> Resolution:
    out = Output(credentials)
    remembered = memo.statics if memo is not None else {}
    entries, statics = check_each(deduplicate(objects), credentials, out, remembered)  # phase 1
    if memo is not None:
        memo.statics = statics
    live = agree_on_backends(entries)  # phase 2
    winners, responses_backends = solve_modes_and_names(live)  # phase 3
    explain_rejections(live, winners)
    return assemble(entries, live, winners, responses_backends, out, generation, memo)  # phases 4 and 5
