"""ChatGPT's codex backend (``chatgpt.com/backend-api/codex``) as docs/bridge.md (Request mapping) describes
it: what it refuses in a Responses body, each refusal a 400 ``{"detail": ...}``. Pure; the handlers answer with it."""

from __future__ import annotations

from typing import Any, Final

__all__ = ["CODEX_UNSUPPORTED_PARAMETERS", "codex_body_error", "is_codex_prefix"]

CODEX_UNSUPPORTED_PARAMETERS: Final = (
    "max_output_tokens",
    "temperature",
    "top_p",
    "prompt_cache_retention",
    "prompt_cache_options",
    "metadata",
    "user",
    "safety_identifier",
    "top_logprobs",
)
"""Body fields the codex backend refuses with ``Unsupported parameter: <p>`` (docs/bridge.md, Request mapping)."""


def is_codex_prefix(prefix: str) -> bool:
    """A route prefix containing ``/codex`` plays the codex backend; any other plays api.openai.com."""
    return "/codex" in prefix


def codex_body_error(body: dict[str, Any]) -> str | None:
    """The first codex rule ``body`` breaks (docs/bridge.md, Request mapping), as the backend's ``detail`` string."""
    if not isinstance(body.get("input"), list):
        return "Input must be a list"
    if body.get("stream") is not True:
        return "Stream must be set to true"
    if body.get("store") is not False:
        return "Store must be set to false"
    instructions = body.get("instructions")
    if not isinstance(instructions, str) or not instructions:
        return "Instructions are required"
    for parameter in CODEX_UNSUPPORTED_PARAMETERS:
        if parameter in body:
            return f"Unsupported parameter: {parameter}"
    for item in body["input"]:
        if isinstance(item, dict) and item.get("role") == "system":
            return "System messages are not allowed"
    return None
