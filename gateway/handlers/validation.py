"""Targeted request checks for the model endpoints: orjson plus type checks, no per-request pydantic.

Each check raises :class:`~gateway.errors.InvalidRequestError` naming the parameter. Unknown fields
are passed on: the bridge refuses the ones it cannot translate, and pass-through backends judge the rest.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.errors import InvalidRequestError
from gateway.limits import MAX_JSON_DEPTH, json_depth_exceeds

__all__ = ["parse_json_object", "validate_chat_request", "validate_responses_request"]

_NUMBER = (int, float)
_CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})

# parameter → (accepted types, human name); bool is excluded from numbers explicitly below
_COMMON_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "stream": ((bool,), "a boolean"),
    "temperature": (_NUMBER, "a number"),
    "top_p": (_NUMBER, "a number"),
    "user": ((str,), "a string"),
    "metadata": ((dict,), "an object"),
    "tools": ((list,), "an array"),
    "tool_choice": ((str, dict), "a string or an object"),
    "parallel_tool_calls": ((bool,), "a boolean"),
    "store": ((bool,), "a boolean"),
    "reasoning": ((dict,), "an object"),
}
_CHAT_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    **_COMMON_TYPES,
    "messages": ((list,), "an array"),
    "stream_options": ((dict,), "an object"),
    "max_tokens": ((int,), "an integer"),
    "max_completion_tokens": ((int,), "an integer"),
    "n": ((int,), "an integer"),
    "seed": ((int,), "an integer"),
    "presence_penalty": (_NUMBER, "a number"),
    "frequency_penalty": (_NUMBER, "a number"),
    "stop": ((str, list), "a string or an array"),
    "response_format": ((dict,), "an object"),
    "reasoning_effort": ((str,), "a string"),
    "logprobs": ((bool,), "a boolean"),
}
_RESPONSES_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    **_COMMON_TYPES,
    "input": ((str, list), "a string or an array"),
    "instructions": ((str,), "a string"),
    "max_output_tokens": ((int,), "an integer"),
    "previous_response_id": ((str,), "a string"),
    "include": ((list,), "an array"),
    "text": ((dict,), "an object"),
}


def parse_json_object(raw: bytes | bytearray) -> dict[str, Any]:
    if not raw:
        raise InvalidRequestError("The request body is empty; expected a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequestError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    if json_depth_exceeds(body, brackets=raw.count(b"{") + raw.count(b"[")):
        raise InvalidRequestError(
            f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.", code="json_too_deep"
        )
    return body


def _check_types(body: dict[str, Any], table: dict[str, tuple[tuple[type, ...], str]]) -> None:
    for name, value in body.items():
        spec = table.get(name)
        if spec is None or value is None:
            continue
        types, human = spec
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise InvalidRequestError(f"Invalid type for '{name}': expected {human}.", param=name, code="invalid_type")


def require_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise InvalidRequestError(
            "You must provide a model parameter.", param="model", code="missing_required_parameter"
        )
    if not isinstance(model, str) or not model:
        raise InvalidRequestError(
            "Invalid type for 'model': expected a non-empty string.", param="model", code="invalid_type"
        )
    return model


def validate_chat_request(body: dict[str, Any]) -> str:
    """Check a chat request's shape; returns the requested model (alias)."""
    model = require_model(body)
    messages = body.get("messages")
    if messages is None:
        raise InvalidRequestError(
            "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
        )
    _check_types(body, _CHAT_TYPES)
    if not messages:
        raise InvalidRequestError("'messages' must contain at least one message.", param="messages", code="empty_array")
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if not isinstance(message, dict):
            raise InvalidRequestError(
                f"Invalid type for '{param}': expected an object.", param=param, code="invalid_type"
            )
        role = message.get("role")
        if not isinstance(role, str) or role not in _CHAT_ROLES:
            raise InvalidRequestError(
                f"Invalid value for '{param}.role': expected one of {', '.join(sorted(_CHAT_ROLES))}.",
                param=f"{param}.role",
                code="invalid_value",
            )
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise InvalidRequestError(
                f"Invalid type for '{param}.content': expected a string or an array.",
                param=f"{param}.content",
                code="invalid_type",
            )
    options = body.get("stream_options")
    if options is not None and "include_usage" in options and not isinstance(options["include_usage"], bool):
        raise InvalidRequestError(
            "Invalid type for 'stream_options.include_usage': expected a boolean.",
            param="stream_options.include_usage",
            code="invalid_type",
        )
    return model


def validate_responses_request(body: dict[str, Any]) -> str:
    """Check a Responses request's shape; returns the requested model (alias)."""
    model = require_model(body)
    _check_types(body, _RESPONSES_TYPES)
    return model
