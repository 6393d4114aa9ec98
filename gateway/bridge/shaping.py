"""Per-provider shaping of a Responses request body: one small layer after the provider-neutral mapping.

Providers (DESIGN §2): `chatgpt` (the codex backend), `openai`, `azure-openai`, `openai-compatible`.

* `chatgpt` (spec §5.2; each violation is a 400 `{"detail":…}` upstream): `stream: true`, `store: false`, list
  `input`, `instructions` = our canonical base prompt with the caller's instructions moved into a leading
  `developer` item (the safe variant of §5.2's ambiguity; Codex CLI ships AGENTS.md the same way), `system`
  items rewritten to `developer`, `include` gains `reasoning.encrypted_content` (needed to replay reasoning
  with `store: false`), `service_tier` `default`→`default` and `priority`/`fast`→`priority` (others dropped).
  Everything else outside the backend's allow-list is **dropped**, deliberately and documented: the codex
  backend rejects `max_output_tokens`, `temperature`, `top_p`, `metadata`, `user`, `safety_identifier`,
  `top_logprobs`, `prompt_cache_retention`, `stream_options`, ... . Unlike LiteLLM we keep `parallel_tool_calls`
  and `prompt_cache_key`, which Codex CLI itself sends. The backend stores nothing (`store: false`), and answers
  an opaque 404 for anything that must be looked up: `previous_response_id`, `item_reference` items, reasoning
  items by id without their `encrypted_content`. Those are a 400 here, before anything is sent, telling the
  caller to send the whole conversation.
* `openai` / `azure-openai`: `max_output_tokens` raised to the API minimum of 16; `user` truncated to 64 chars.
* `openai-compatible`: unchanged.
"""

from __future__ import annotations

from typing import Any

from gateway.bridge import errors
from gateway.bridge.input_normalisation import normalize_input

__all__ = [
    "CODEX_BASE_INSTRUCTIONS",
    "PROBE_MAX_OUTPUT_TOKENS",
    "PROVIDERS",
    "prepare_responses_request",
    "probe_request",
    "shape_for_provider",
]

PROVIDERS = frozenset({"chatgpt", "openai", "azure-openai", "openai-compatible"})

CODEX_BASE_INSTRUCTIONS = (
    "You are a helpful, precise assistant serving requests relayed by an API gateway. "
    "Follow the developer and user messages in the conversation. Answer directly, state uncertainty "
    "plainly, and when tools are provided, call them only when they help answer the request."
)
"""`instructions` for the codex backend, which requires the field. Caller system text travels as developer items."""

_CODEX_ALLOWED = frozenset(
    {
        "model",
        "input",
        "instructions",
        "stream",
        "store",
        "include",
        "tools",
        "tool_choice",
        "reasoning",
        "previous_response_id",
        "truncation",
        "text",
        "parallel_tool_calls",
        "prompt_cache_key",
        "service_tier",
    }
)
_CODEX_SERVICE_TIERS = {"default": "default", "priority": "priority", "fast": "priority"}
_ENCRYPTED_REASONING = "reasoning.encrypted_content"
_MIN_OUTPUT_TOKENS = 16
_MAX_USER_CHARS = 64


def _developer(item: object) -> object:
    """A `system`-role input item rewritten as `developer` (codex: "System messages are not allowed")."""
    if isinstance(item, dict) and item.get("role") == "system" and item.get("type", "message") == "message":
        return {**item, "role": "developer"}
    return item


_SEND_FULL_CONVERSATION = (
    "the codex backend stores no responses or items (aliasgate sends it `store: false`), so it cannot resolve "
    "earlier responses or items: send the whole conversation in `input` instead"
)


def _stored_state_error(param: str, what: str) -> errors.BridgeRequestError:
    return errors.BridgeRequestError.for_param(param, f"{what}; {_SEND_FULL_CONVERSATION} (parameter `{param}`).")


def _refuse_stored_state(body: dict[str, Any]) -> None:
    """What the codex backend would have to look up (it answers an opaque 404 instead): a clear 400 first."""
    if body.get("previous_response_id") is not None:
        raise _stored_state_error("previous_response_id", "`previous_response_id` refers to a stored response")
    items = body.get("input")
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "item_reference" or (kind is None and "role" not in item and "id" in item):
            raise _stored_state_error(f"input[{index}]", "An `item_reference` refers to a stored item")
        if kind == "reasoning" and item.get("id") and not item.get("encrypted_content"):
            raise _stored_state_error(
                f"input[{index}]",
                "A reasoning item without its `encrypted_content` refers to a stored item (keep the "
                "`encrypted_content` the answer carried, or leave the item out)",
            )


def _shape_codex(body: dict[str, Any], *, base_instructions: str) -> dict[str, Any]:
    _refuse_stored_state(body)
    shaped, _ = normalize_input(body)
    shaped = {key: value for key, value in shaped.items() if key in _CODEX_ALLOWED}
    items = shaped.get("input")
    items = [_developer(item) for item in items] if isinstance(items, list) else []
    caller = shaped.get("instructions")
    if isinstance(caller, str) and caller and caller != base_instructions:
        items.insert(0, {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": caller}]})
    shaped["input"] = items
    shaped["instructions"] = base_instructions
    shaped["stream"] = True
    shaped["store"] = False
    include = shaped.get("include")
    include = list(include) if isinstance(include, list) else []
    if _ENCRYPTED_REASONING not in include:
        include.append(_ENCRYPTED_REASONING)
    shaped["include"] = include
    tier = shaped.pop("service_tier", None)
    if isinstance(tier, str) and tier in _CODEX_SERVICE_TIERS:
        shaped["service_tier"] = _CODEX_SERVICE_TIERS[tier]
    return shaped


def _shape_openai(body: dict[str, Any]) -> dict[str, Any]:
    shaped = dict(body)
    limit = shaped.get("max_output_tokens")
    if type(limit) is int and limit < _MIN_OUTPUT_TOKENS:
        shaped["max_output_tokens"] = _MIN_OUTPUT_TOKENS
    user = shaped.get("user")
    if isinstance(user, str) and len(user) > _MAX_USER_CHARS:
        shaped["user"] = user[:_MAX_USER_CHARS]
    return shaped


def shape_for_provider(
    body: dict[str, Any], *, provider: str, base_instructions: str = CODEX_BASE_INSTRUCTIONS
) -> dict[str, Any]:
    """A new body adapted to `provider`'s constraints; the argument is not mutated. Raises `BridgeRequestError`
    for what the provider cannot serve (codex: stored state)."""
    if provider == "chatgpt":
        return _shape_codex(body, base_instructions=base_instructions)
    if provider in ("openai", "azure-openai"):
        return _shape_openai(body)
    if provider == "openai-compatible":
        return dict(body)
    raise ValueError(f"unknown provider {provider!r}")


def prepare_responses_request(
    body: dict[str, Any],
    *,
    upstream_model: str,
    provider: str,
    base_instructions: str = CODEX_BASE_INSTRUCTIONS,
) -> tuple[dict[str, Any], bool]:
    """`/v1/responses` pass-through: set the model, normalise a string `input`, shape for the provider.

    Returns (new body, whether `input` was normalised). Raises `BridgeRequestError` for an `input` that is
    neither a string nor a list, and for stored state the codex backend cannot resolve.
    """
    value = body.get("input")
    if value is not None and not isinstance(value, str | list):
        raise errors.BridgeRequestError(
            errors.ChatError(
                400, "`input` must be a string or a list of items.", "invalid_request_error", "input", None
            )
        )
    prepared, normalised = normalize_input(body)
    prepared = {**prepared, "model": upstream_model}
    return shape_for_provider(prepared, provider=provider, base_instructions=base_instructions), normalised


PROBE_MAX_OUTPUT_TOKENS = 64
"""Enough for a reasoning model to finish a one-word answer; an `incomplete` answer still proves health."""


def probe_request(*, upstream_model: str, provider: str, prompt: str = "ping") -> dict[str, Any]:
    """A well-formed health-probe body (DESIGN §6, spec §5.5): typed list `input`, `store: false`, a token
    limit where the provider accepts one, and for codex everything its shaping demands (streaming included)."""
    body: dict[str, Any] = {
        "model": upstream_model,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}],
        "store": False,
        "stream": False,
        "max_output_tokens": PROBE_MAX_OUTPUT_TOKENS,
    }
    return shape_for_provider(body, provider=provider)
