"""Why the engine accepts or rejects an object: the reason vocabulary of verdicts and conditions.

The strings are a public interface (status conditions, ``table.rejected``, ``aliasgate check`` output,
admission messages), so they never change. :data:`Reason` is their one definition: code spells a reason as its string and mypy
checks every such place against it.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = [
    "REJECTION_REASONS",
    "Reason",
    "Rejection",
    "RejectionReason",
]

RejectionReason = Literal[
    "InvalidSpec",
    "UnsupportedMode",
    "CredentialsNotFound",
    "CredentialsNotPermitted",
    "BackendConflict",
    "ModeDowngradeRejected",
    "AliasInUse",
]
"""The reasons an object is rejected for (an ``Accepted=False`` verdict)."""

Reason = Literal[RejectionReason, "Accepted", "ResolvedRefs", "FallbackNotFound", "CredentialsNotChecked"]
"""Every reason a verdict (Accepted condition) or its references (ResolvedRefs condition) can carry."""

REJECTION_REASONS: Final[frozenset[Reason]] = frozenset(get_args(RejectionReason))
"""The rejection reasons as a set, for code that asks whether a reason rejects; the rest describe references."""

Rejection = tuple[Reason, str]
"""A rejection: its reason and a message that says exactly what to change."""
