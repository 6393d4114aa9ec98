"""String `input` → the typed list form (docs/bridge.md).

The codex backend answers 400 "Input must be a list" to a bare string; every backend accepts the list. Used by
`/v1/responses` pass-through, by provider shaping, and by health probes (which must send a well-formed body).
"""

from __future__ import annotations

from typing import Any

__all__ = ["normalize_input", "user_message"]


def user_message(text: str) -> dict[str, Any]:
    """A typed user message item, the exact form Codex CLI sends."""
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def normalize_input(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(body with list-form `input`, whether anything changed); the argument is never mutated."""
    value = body.get("input")
    if not isinstance(value, str):
        return body, False
    normalised = dict(body)
    normalised["input"] = [user_message(value)]
    return normalised, True
