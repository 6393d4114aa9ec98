"""Why the engine accepts or rejects an object: the reason vocabulary of verdicts and conditions.

The strings are a public interface (status conditions, ``table.rejected``, ``aliasgate check`` output,
admission messages), so they never change; :data:`Reason` lets mypy check every place that spells one.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "REASON_ACCEPTED",
    "REASON_ALIAS_IN_USE",
    "REASON_BACKEND_CONFLICT",
    "REASON_CREDENTIALS_NOT_CHECKED",
    "REASON_CREDENTIALS_NOT_FOUND",
    "REASON_CREDENTIALS_NOT_PERMITTED",
    "REASON_FALLBACK_NOT_FOUND",
    "REASON_INVALID_SPEC",
    "REASON_MODE_DOWNGRADE_REJECTED",
    "REASON_RESOLVED_REFS",
    "REASON_UNSUPPORTED_MODE",
    "REJECTION_REASONS",
    "Reason",
    "Rejection",
]

Reason = Literal[
    "Accepted",
    "InvalidSpec",
    "UnsupportedMode",
    "CredentialsNotFound",
    "CredentialsNotPermitted",
    "BackendConflict",
    "ModeDowngradeRejected",
    "AliasInUse",
    "ResolvedRefs",
    "FallbackNotFound",
    "CredentialsNotChecked",
]
"""Every reason a verdict (Accepted condition) or its references (ResolvedRefs condition) can carry."""

REASON_ACCEPTED: Final = "Accepted"
REASON_INVALID_SPEC: Final = "InvalidSpec"
REASON_UNSUPPORTED_MODE: Final = "UnsupportedMode"
REASON_CREDENTIALS_NOT_FOUND: Final = "CredentialsNotFound"
REASON_CREDENTIALS_NOT_PERMITTED: Final = "CredentialsNotPermitted"
REASON_BACKEND_CONFLICT: Final = "BackendConflict"
REASON_MODE_DOWNGRADE_REJECTED: Final = "ModeDowngradeRejected"
REASON_ALIAS_IN_USE: Final = "AliasInUse"
REASON_RESOLVED_REFS: Final = "ResolvedRefs"
REASON_FALLBACK_NOT_FOUND: Final = "FallbackNotFound"
REASON_CREDENTIALS_NOT_CHECKED: Final = "CredentialsNotChecked"

REJECTION_REASONS: Final[frozenset[Reason]] = frozenset(
    {
        REASON_INVALID_SPEC,
        REASON_UNSUPPORTED_MODE,
        REASON_CREDENTIALS_NOT_FOUND,
        REASON_CREDENTIALS_NOT_PERMITTED,
        REASON_BACKEND_CONFLICT,
        REASON_MODE_DOWNGRADE_REJECTED,
        REASON_ALIAS_IN_USE,
    }
)
"""The reasons an object is rejected for (an ``Accepted=False`` verdict); the rest describe references."""

Rejection = tuple[Reason, str]
"""A rejection: its reason and a message that says exactly what to change."""
