"""The conflict engine (docs/conflict-rules.md): the full set of ModelAlias objects → routing table + verdicts.

Pure, deterministic and order-independent: the same set in any order, with any duplicates, gives the
same :class:`Resolution`. No I/O, no clock, no Kubernetes imports. This docstring is the rule spec; the
modules follow its phases: :mod:`.objects` (phase 0 and the inputs), :mod:`.checks` (1),
:mod:`.solving` (2 and 3), :mod:`.assembling` (4 and 5), :mod:`.resolving` (the order), with
:mod:`.reasons` (the vocabulary), :mod:`.credentials` (the allowed-namespaces annotation),
:mod:`.verdicts`/:mod:`.recording` (the results) and :mod:`.memo` (reuse across resolutions).

Rules are applied in this order; each phase only sees the objects that survived the phases before it,
so a rejected object never influences another one (no alias rejected for any reason holds a backend in
Responses mode or keeps an alias name from a valid claimant):

0. **Deduplicate** by ``namespace/name``: the highest ``metadata.generation`` wins; equal generations
   with different content are broken by the canonical JSON of the object (any order, same winner).
1. **Per-object checks** (need no other object), first failure wins:
   a. ``InvalidSpec``: objects that failed parsing (:class:`InvalidAlias`) and semantic failures the
      schema cannot express: ``apiVersion`` on a provider other than azure-openai, no base URL for a
      provider without a default endpoint, an unusable URL (see ``normalize_base_url``), fallbacks that
      name the alias itself or repeat, ``model``/``stream`` in request defaults/overrides (routing and
      framing belong to the gateway), an explicit timeout longer than its interval/ceiling.
   b. ``UnsupportedMode``: the declared mode is one the provider cannot serve (chatgpt: responses only).
   c. ``CredentialsNotFound`` / ``CredentialsNotPermitted``, only when ``credentials`` is given.
2. **Backend agreement** (``BackendConflict``): aliases sharing a backend key share one credentials
   Secret and one Azure ``apiVersion`` (the table has one of each per backend). The oldest surviving
   alias on the backend (creationTimestamp, then namespace/name) fixes them; later aliases naming
   others are rejected, with a message naming the oldest.
3. **Modes and names**, solved together as the least fixpoint of:
   - a backend is in Responses mode when its provider serves only Responses, or when the *winner* of
     some alias name on it declares ``responses`` (rule 3, "otherwise valid" = still a name winner);
   - every alias declaring ``chat`` on a Responses backend is rejected ``ModeDowngradeRejected``;
   - among the claimants of one alias name that are not downgrade-rejected, the oldest wins; the others
     are rejected ``AliasInUse`` naming the winner (rule 4).
   Starting from "nothing downgraded", rejections only grow, so the iteration ends and its result does
   not depend on input order. Starting from the bottom means that in a cycle (two chat aliases each
   blocking the responses alias that would downgrade the other) the older, working chat aliases stay.
   A downgrade-rejected alias gives up its name, so a younger valid claimant serves it.
4. **Resolved modes**: a backend not in Responses mode is in chat mode when its provider allows chat.
   Aliases omitting ``mode`` inherit the backend's mode.
5. **References** (``ResolvedRefs``): fallbacks must name accepted aliases. An unresolved fallback does
   *not* reject the alias (that would drop traffic for a problem that only matters on failure); the
   route is published without it and ``ResolvedRefs=False`` reason ``FallbackNotFound`` says which are
   missing. Fallbacks are not transitive: the gateway tries only the alias's own list. Without
   ``credentials`` the verdict's ``refs_resolved`` is None (reason ``CredentialsNotChecked``) unless a
   fallback is already known to be missing.

Accepted aliases become routes; every rejected object is listed in ``table.rejected``. The table
always passes :meth:`RoutingTable.check`.
"""

from __future__ import annotations

from controller.conflicts.credentials import (
    ALLOWED_NAMESPACES_ANNOTATION,
    CredentialInfo,
    allowed_namespaces,
    credentials_from,
)
from controller.conflicts.memo import ResolveMemo
from controller.conflicts.objects import InvalidAlias, parse_or_invalid
from controller.conflicts.reasons import Reason
from controller.conflicts.resolving import resolve
from controller.conflicts.verdicts import Resolution, Verdict

__all__ = [
    "ALLOWED_NAMESPACES_ANNOTATION",
    "CredentialInfo",
    "InvalidAlias",
    "Reason",
    "Resolution",
    "ResolveMemo",
    "Verdict",
    "allowed_namespaces",
    "credentials_from",
    "parse_or_invalid",
    "resolve",
]
