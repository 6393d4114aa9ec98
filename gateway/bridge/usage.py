"""Token usage: Responses `usage` → Chat `usage` (docs/bridge.md).

Parsed leniently: the codex backend still sends the legacy `input_tokens_details` without
`cache_write_tokens`, and `usage` is null on early lifecycle events. Used by the non-stream fold and the
stream translator's final usage chunk.
"""

from __future__ import annotations

from typing import Any

__all__ = ["usage_to_chat"]


def _count(value: object) -> int:
    """Token counts arrive as ints; anything else (null, garbage) counts as zero rather than failing the answer."""
    if type(value) is int:
        return value
    if isinstance(value, float) and value >= 0:
        return int(value)
    return 0


def usage_to_chat(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chat-shaped usage, or None when the upstream reported none.

    The detail objects are always present (OpenAI's chat API always sends them, and clients read
    `prompt_tokens_details.cached_tokens` without a guard); `cache_write_tokens` only when the upstream sent it.
    """
    if not isinstance(usage, dict):
        return None
    prompt = _count(usage.get("input_tokens"))
    completion = _count(usage.get("output_tokens"))
    total = usage.get("total_tokens")
    input_details = usage.get("input_tokens_details")
    output_details = usage.get("output_tokens_details")
    prompt_details: dict[str, int] = {"cached_tokens": 0}
    if isinstance(input_details, dict):
        prompt_details["cached_tokens"] = _count(input_details.get("cached_tokens"))
        if "cache_write_tokens" in input_details:
            prompt_details["cache_write_tokens"] = _count(input_details.get("cache_write_tokens"))
    reasoning = _count(output_details.get("reasoning_tokens")) if isinstance(output_details, dict) else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if type(total) is int else prompt + completion,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }
