"""The real API server's audit log (one JSON entry per request, metadata level), read by tests.

Who made each request is the authenticated user; ServiceAccount tokens minted by TokenRequest carry a
credential id (``JTI=<jti>``), so two replicas sharing one ServiceAccount are told apart by their tokens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["AuditEntry", "read_audit"]

CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"


@dataclass(frozen=True)
class AuditEntry:
    verb: str
    uri: str
    user: str
    token_id: str
    resource: str
    subresource: str
    namespace: str
    name: str
    code: int
    received: datetime
    completed: datetime
    stage: str

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> AuditEntry:
        user = raw.get("user") or {}
        credential = ((user.get("extra") or {}).get(CREDENTIAL_ID) or [""])[0]
        ref = raw.get("objectRef") or {}
        return cls(
            verb=str(raw.get("verb") or ""),
            uri=str(raw.get("requestURI") or ""),
            user=str(user.get("username") or ""),
            token_id=credential.removeprefix("JTI="),
            resource=str(ref.get("resource") or ""),
            subresource=str(ref.get("subresource") or ""),
            namespace=str(ref.get("namespace") or ""),
            name=str(ref.get("name") or ""),
            code=int((raw.get("responseStatus") or {}).get("code") or 0),
            received=datetime.fromisoformat(raw["requestReceivedTimestamp"]),
            completed=datetime.fromisoformat(raw["stageTimestamp"]),
            stage=str(raw.get("stage") or ""),
        )


def read_audit(path: Path) -> list[AuditEntry]:
    """Every complete entry (``ResponseComplete`` or ``Panic``; a watch still open has none yet)."""
    entries = []
    for line in path.read_text().splitlines():
        raw = json.loads(line)
        if raw.get("stage") in {"ResponseComplete", "Panic"}:
            entries.append(AuditEntry.parse(raw))
    return entries
