"""Verdicts and ``table.rejected`` entries as phases decide them, and the ResolvedRefs judgement."""

from __future__ import annotations

from collections.abc import Mapping

from controller.conflicts.credentials import CredentialInfo
from controller.conflicts.objects import InvalidAlias
from controller.conflicts.reasons import Rejection
from controller.conflicts.verdicts import Refs, Verdict
from controller.resources import ModelAlias
from gateway.routing.table import RejectedAlias, SourceRef

__all__ = ["Output", "source_ref"]


class Output:
    """Verdicts and rejected-table entries as they are decided, plus how references are judged."""

    def __init__(self, credentials: Mapping[str, CredentialInfo] | None) -> None:
        self.credentials = credentials
        self.verdicts: dict[str, Verdict] = {}
        self.rejected: list[RejectedAlias] = []
        self.statics: list[tuple[ModelAlias, str, str | None, Rejection]] = []
        """Objects rejected by phase 1, judged once the accepted aliases (for fallbacks) are known."""
        self.accepted_aliases: frozenset[str] = frozenset()

    def references(self, obj: ModelAlias, credential_rejection: Rejection | None) -> Refs:
        """The ResolvedRefs judgement: credentials first, then fallbacks against the accepted aliases."""
        if credential_rejection is not None:
            return Refs(False, credential_rejection[0], credential_rejection[1])
        declared = tuple(obj.spec.fallbacks or ())
        missing = [name for name in declared if name not in self.accepted_aliases]
        if missing:
            kept = tuple(name for name in declared if name in self.accepted_aliases)
            return Refs(
                False,
                "FallbackNotFound",
                f"fallback alias(es) {', '.join(repr(n) for n in missing)} (spec.fallbacks) are not accepted "
                f"aliases; the route skips them until they are",
                kept,
            )
        if self.credentials is None:
            return Refs(
                None,
                "CredentialsNotChecked",
                "fallbacks resolve; credentials were not checked (credentials Secrets not visible)",
                declared,
            )
        return Refs(True, "ResolvedRefs", "credentials and fallbacks resolve", declared)

    def reject_invalid(self, obj: InvalidAlias) -> None:
        message = f"{obj.field}: {obj.message}" if obj.field else obj.message
        source = SourceRef(namespace=obj.namespace, name=obj.name, uid=obj.uid, generation=obj.generation)
        unchecked = Refs(None, "InvalidSpec", "references are not checked while the spec is invalid")
        self._record(source, obj.alias, obj.alias or obj.name, None, ("InvalidSpec", message), unchecked)

    def reject(self, obj: ModelAlias, alias: str, key: str | None, rejection: Rejection, refs: Refs) -> None:
        self._record(source_ref(obj), alias, alias, key, rejection, refs)

    def _record(
        self, source: SourceRef, alias: str | None, listed_as: str, key: str | None, rejection: Rejection, refs: Refs
    ) -> None:
        """One rejection, twice: the object's verdict and its ``table.rejected`` entry (under ``listed_as``)."""
        reason, message = rejection
        self.verdicts[f"{source.namespace}/{source.name}"] = Verdict(
            namespace=source.namespace,
            name=source.name,
            uid=source.uid,
            generation=source.generation,
            alias=alias,
            accepted=False,
            reason=reason,
            message=message,
            backend_key=key,
            resolved_mode=None,
            refs_resolved=refs.resolved,
            refs_reason=refs.reason,
            refs_message=refs.message,
        )
        self.rejected.append(RejectedAlias(alias=listed_as, source=source, reason=reason, message=message))


def source_ref(obj: ModelAlias) -> SourceRef:
    meta = obj.metadata
    return SourceRef.model_construct(namespace=meta.namespace, name=meta.name, uid=meta.uid, generation=meta.generation)
