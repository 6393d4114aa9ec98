"""What one resolution keeps for the next, so an unchanged object costs (almost) nothing."""

from __future__ import annotations

from typing import Any

from controller.conflicts.checks import Static
from controller.conflicts.verdicts import Refs, Verdict
from controller.resources import ModelAlias
from gateway.routing.table import ApiMode, RenderMemo, Route, RouteSettings

__all__ = ["ResolveMemo"]


class ResolveMemo:
    """What earlier resolutions built, reused while nothing it depends on changed: phase 1's findings,
    the routes and verdicts of accepted aliases, shared route settings, the table's rendered elements.
    An optimisation only: :func:`controller.conflicts.resolve` returns an equal result with or without it.

    A route depends on its object (alias, backend, source, settings), its resolved mode and its
    references; an entry is reused only for the *same* parsed instance (``ParsedAliases`` hands back the
    same instance while an object is unchanged) with an equal mode and equal references. At 10,000
    aliases this turns one change's 20,000 model constructions into one. Each resolution keeps only
    what it produced, so the memo never outgrows the set. Not thread-safe: one memo per caller.
    """

    def __init__(self) -> None:
        self.entries: dict[int, tuple[ModelAlias, ApiMode, Refs, Route, Verdict]] = {}
        """By ``id`` of the parsed object (held here, so the id stays its own while remembered)."""
        self.reused = 0
        """Routes reused by the last resolution (tests and benchmarks read it)."""
        self.statics: dict[int, tuple[ModelAlias, Static]] = {}
        """Phase 1's findings per parsed object (same keying as ``entries``)."""
        self.settings: dict[Any, RouteSettings] = {}
        """Route settings by the spec parts they come from, shared by every route configured alike."""
        self.render = RenderMemo()
        """Wire bytes of the previous table's elements, so publishing renders only what changed."""
