"""The request side of the Chat → Responses bridge: a chat request → a Responses request (docs/bridge.md).

`map_chat_request` maps provider-neutrally (messages → `instructions` + input items, tools, tool choice,
response format, reasoning, sampling and metadata parameters) and refuses what the Responses API cannot carry
with a 400 naming the parameter; `to_responses_request` then hands the result to `shaping` for the provider.
Reasoning items a client echoes back (`reasoning_items`, see `chat_responses`) are replayed before their
assistant turn.
"""

from __future__ import annotations

from typing import Any

from gateway.bridge import errors, shaping
from gateway.bridge.chat_responses import reasoning_item_for_replay

__all__ = ["map_chat_request", "to_responses_request"]


# Chat parameters that map onto the Responses body (or are consumed here); anything else is rejected.
_MAPPED_PARAMS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "store",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "response_format",
        "verbosity",
        "reasoning_effort",
        "reasoning",
        "user",
        "metadata",
        "prompt_cache_key",
        "prompt_cache_retention",
        "safety_identifier",
        "service_tier",
        "web_search_options",
    }
)


def _is_inert(param: str, value: object) -> bool:
    """Values of unmappable parameters that ask for nothing beyond the default, so rejecting them would be petty."""
    if value is None:
        return True
    if param == "n":
        return value == 1
    if param == "logprobs":
        return value is False
    if param in ("frequency_penalty", "presence_penalty"):
        return value == 0
    if param in ("stop", "logit_bias"):
        return value in ([], {}, "")
    if param == "modalities":
        return value == ["text"]
    return False


_UNSUPPORTED_REASONS = {
    "n": "the Responses API returns exactly one choice",
    "stop": "the Responses API has no stop sequences",
    "seed": "the Responses API has no seed",
    "logprobs": "log probabilities are not translated by the bridge",
    "top_logprobs": "log probabilities are not translated by the bridge",
    "frequency_penalty": "the Responses API has no frequency penalty",
    "presence_penalty": "the Responses API has no presence penalty",
    "logit_bias": "the Responses API has no logit bias",
    "modalities": "only text output is supported through the Responses bridge",
    "audio": "audio output is not supported through the Responses bridge",
    "prediction": "predicted outputs are not supported by the Responses API",
    "functions": "legacy function calling is not supported; use `tools`",
    "function_call": "legacy function calling is not supported; use `tool_choice`",
}


def _reject(param: str, message: str) -> errors.BridgeRequestError:
    """400 for a parameter the bridge cannot carry; the message names it, as does `param`."""
    if f"`{param}`" not in message:
        message = f"{message} (parameter `{param}`)"
    return errors.BridgeRequestError.for_param(param, message)


def _invalid(param: str, message: str) -> errors.BridgeRequestError:
    """400 for a malformed value; the message names the parameter path."""
    return errors.BridgeRequestError(
        errors.ChatError(400, f"{message} (parameter `{param}`)", "invalid_request_error", param, "invalid_value")
    )


def _text_of(content: object, param: str) -> str:
    """Plain text of a string or a list of text parts (system/developer messages)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise _invalid(f"{param}[{j}]", "Only text parts are allowed in system and developer messages.")
            texts.append(part["text"])
        return "".join(texts)
    raise _invalid(param, "Message content must be a string or a list of content parts.")


def _input_parts(content: object, param: str) -> list[dict[str, Any]]:
    """User (or tool-output) content → Responses input parts (docs/bridge.md)."""
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    if not isinstance(content, list):
        raise _invalid(param, "Message content must be a string or a list of content parts.")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if not isinstance(part, dict):
            raise _invalid(where, "A content part must be an object.")
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise _invalid(f"{where}.text", "A text part needs a string `text`.")
            parts.append({"type": "input_text", "text": text})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise _invalid(f"{where}.image_url", "An image part needs an `image_url.url`.")
            detail = image.get("detail") if isinstance(image, dict) else None
            parts.append({"type": "input_image", "image_url": url, "detail": detail or "auto"})
        elif kind == "input_audio":
            audio = part.get("input_audio")
            if not isinstance(audio, dict):
                raise _invalid(f"{where}.input_audio", "An audio part needs an `input_audio` object.")
            parts.append({"type": "input_audio", "input_audio": dict(audio)})
        elif kind == "file":
            file = part.get("file")
            if not isinstance(file, dict) or not any(k in file for k in ("file_id", "file_data", "filename")):
                raise _invalid(f"{where}.file", "A file part needs one of `file_id`, `file_data`, `filename`.")
            converted: dict[str, Any] = {"type": "input_file"}
            for key in ("file_id", "file_data", "filename"):
                if file.get(key) is not None:
                    converted[key] = file[key]
            parts.append(converted)
        else:
            raise _reject(f"{where}.type", f"Content part type {kind!r} is not supported.")
    return parts


def _assistant_parts(content: object, param: str) -> list[dict[str, Any]]:
    """Assistant history content → `output_text` / `refusal` parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "output_text", "text": content}] if content else []
    if not isinstance(content, list):
        raise _invalid(param, "Message content must be a string or a list of content parts.")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append({"type": "output_text", "text": part["text"]})
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append({"type": "refusal", "refusal": part["refusal"]})
        else:
            raise _invalid(f"{param}[{j}]", "Assistant content parts must be `text` or `refusal`.")
    return parts


def _message_item(role: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": parts}


def _history_call(call: object, param: str) -> dict[str, Any]:
    """An assistant `tool_calls` entry → a `function_call` / `custom_tool_call` input item (no invented `id`)."""
    if not isinstance(call, dict) or not isinstance(call.get("id"), str):
        raise _invalid(param, "A tool call needs a string `id`.")
    if call.get("type") == "custom":
        custom = call.get("custom")
        if not isinstance(custom, dict) or not isinstance(custom.get("name"), str):
            raise _invalid(f"{param}.custom", "A custom tool call needs `custom.name`.")
        return {
            "type": "custom_tool_call",
            "call_id": call["id"],
            "name": custom["name"],
            "input": str(custom.get("input") or ""),
        }
    function = call.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise _invalid(f"{param}.function", "A tool call needs `function.name`.")
    arguments = function.get("arguments")
    return {
        "type": "function_call",
        "call_id": call["id"],
        "name": function["name"],
        "arguments": arguments if isinstance(arguments, str) else "",
    }


def _tool_output(content: object, param: str) -> str | list[dict[str, Any]]:
    """Tool message content: a string stays a string (as Codex CLI sends it); parts become input parts."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    return _input_parts(content, param)


def _map_messages(messages: object) -> tuple[list[str], list[dict[str, Any]]]:
    """Messages → (leading system texts for `instructions`, input items) (docs/bridge.md)."""
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages", "`messages` must be a non-empty list.")
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    leading = True
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(message, dict):
            raise _invalid(param, "A message must be an object.")
        role = message.get("role")
        content = message.get("content")
        if role == "system" and leading and isinstance(content, str):
            instructions.append(content)
            continue
        leading = False
        if role in ("system", "developer"):
            items.append(_message_item(role, [{"type": "input_text", "text": _text_of(content, f"{param}.content")}]))
        elif role == "user":
            items.append(_message_item("user", _input_parts(content, f"{param}.content")))
        elif role == "assistant":
            replay = message.get("reasoning_items")
            if isinstance(replay, list):
                items.extend(
                    reasoning_item_for_replay(entry)
                    for entry in replay
                    if isinstance(entry, dict)
                    and entry.get("type") == "reasoning"
                    and isinstance(entry.get("encrypted_content"), str)
                )
            parts = _assistant_parts(content, f"{param}.content")
            if parts:
                items.append(_message_item("assistant", parts))
            calls = message.get("tool_calls")
            if calls is not None:
                if not isinstance(calls, list):
                    raise _invalid(f"{param}.tool_calls", "`tool_calls` must be a list.")
                items.extend(_history_call(call, f"{param}.tool_calls[{j}]") for j, call in enumerate(calls))
            if message.get("function_call") is not None:
                raise _reject(f"{param}.function_call", _UNSUPPORTED_REASONS["function_call"])
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise _invalid(f"{param}.tool_call_id", "A tool message needs `tool_call_id`.")
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": call_id,
                    "output": _tool_output(content, f"{param}.content"),
                }
            )
        elif role == "function":
            raise _reject(f"{param}.role", "Legacy `function` messages are not supported; use `tool` messages.")
        else:
            raise _invalid(f"{param}.role", f"Unknown message role {role!r}.")
    return instructions, items


def _map_tool(tool: object, param: str) -> dict[str, Any]:
    """Chat tool → flat Responses tool; `strict` defaults to false, as in Chat (docs/bridge.md)."""
    if not isinstance(tool, dict):
        raise _invalid(param, "A tool must be an object.")
    kind = tool.get("type")
    if kind == "function":
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _invalid(f"{param}.function", "A function tool needs `function.name`.")
        mapped: dict[str, Any] = {"type": "function", "name": function["name"]}
        if function.get("description") is not None:
            mapped["description"] = function["description"]
        # Chat: omitting `parameters` means "no arguments"; say so explicitly rather than sending null.
        parameters = function.get("parameters")
        mapped["parameters"] = parameters if parameters is not None else {"type": "object", "properties": {}}
        mapped["strict"] = bool(function.get("strict") or False)
        return mapped
    if kind == "custom":
        custom = tool.get("custom")
        if not isinstance(custom, dict) or not isinstance(custom.get("name"), str):
            raise _invalid(f"{param}.custom", "A custom tool needs `custom.name`.")
        mapped = {"type": "custom", "name": custom["name"]}
        for key in ("description", "format"):
            if custom.get(key) is not None:
                mapped[key] = custom[key]
        return mapped
    return dict(tool)


def _named_tool(entry: object, param: str) -> dict[str, Any]:
    if isinstance(entry, dict):
        kind = entry.get("type")
        nested = entry.get(kind) if isinstance(kind, str) else None
        if kind in ("function", "custom") and isinstance(nested, dict) and isinstance(nested.get("name"), str):
            return {"type": kind, "name": nested["name"]}
        if isinstance(kind, str) and kind not in ("function", "custom"):
            return dict(entry)
    raise _invalid(param, "A named tool choice needs `function.name` (or `custom.name`).")


def _map_tool_choice(choice: object) -> object:
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise _invalid("tool_choice", f"Unknown tool_choice {choice!r}.")
        return choice
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        allowed = choice.get("allowed_tools")
        if not isinstance(allowed, dict) or not isinstance(allowed.get("tools"), list):
            raise _invalid("tool_choice.allowed_tools", "`allowed_tools` needs `mode` and `tools`.")
        return {
            "type": "allowed_tools",
            "mode": allowed.get("mode", "auto"),
            "tools": [_named_tool(t, f"tool_choice.allowed_tools.tools[{j}]") for j, t in enumerate(allowed["tools"])],
        }
    return _named_tool(choice, "tool_choice")


def _web_search_tool(options: object) -> dict[str, Any]:
    """`web_search_options` → a `web_search` tool, with chat's nested user location flattened (docs/bridge.md)."""
    if not isinstance(options, dict):
        raise _invalid("web_search_options", "`web_search_options` must be an object.")
    tool: dict[str, Any] = {"type": "web_search"}
    if options.get("search_context_size") is not None:
        tool["search_context_size"] = options["search_context_size"]
    location = options.get("user_location")
    if isinstance(location, dict):
        approximate = location.get("approximate")
        flat: dict[str, Any] = {"type": "approximate"}
        if isinstance(approximate, dict):
            flat.update({k: v for k, v in approximate.items() if v is not None})
        tool["user_location"] = flat
    return tool


def _text_format(response_format: object) -> dict[str, Any]:
    """`response_format` → `text.format`; json_schema keeps its `description` (docs/bridge.md)."""
    if not isinstance(response_format, dict):
        raise _invalid("response_format", "`response_format` must be an object.")
    kind = response_format.get("type")
    if kind in ("text", "json_object"):
        return {"type": kind}
    if kind == "json_schema":
        schema = response_format.get("json_schema")
        if not isinstance(schema, dict):
            raise _invalid("response_format.json_schema", "`json_schema` must be an object.")
        mapped: dict[str, Any] = {"type": "json_schema", "name": schema.get("name") or "response_schema"}
        if schema.get("description") is not None:
            mapped["description"] = schema["description"]
        mapped["schema"] = schema.get("schema") if schema.get("schema") is not None else {}
        mapped["strict"] = bool(schema.get("strict") or False)
        return mapped
    raise _invalid("response_format.type", f"Unknown response_format type {kind!r}.")


def _max_output_tokens(chat_body: dict[str, Any]) -> int | None:
    for param in ("max_completion_tokens", "max_tokens"):
        value = chat_body.get(param)
        if value is None:
            continue
        if type(value) is not int or value < 1:
            raise _invalid(param, f"`{param}` must be a positive integer.")
        return value
    return None


def _mentions_json(items: list[dict[str, Any]]) -> bool:
    for item in items:
        content = item.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and "json" in str(part.get("text", "")).lower():
                    return True
    return False


def map_chat_request(chat_body: dict[str, Any], *, upstream_model: str) -> dict[str, Any]:
    """Provider-neutral mapping of a chat request (docs/bridge.md); `shaping` adapts the result per provider."""
    for param, value in chat_body.items():
        if param in _MAPPED_PARAMS:
            continue
        if param in _UNSUPPORTED_REASONS:
            if _is_inert(param, value):
                continue
            raise _reject(param, f"Unsupported parameter `{param}`: {_UNSUPPORTED_REASONS[param]}.")
        raise _reject(param, f"Unrecognized request argument supplied: {param}.")
    instructions, items = _map_messages(chat_body.get("messages"))
    body: dict[str, Any] = {"model": upstream_model}
    text: dict[str, Any] = {}
    if chat_body.get("response_format") is not None:
        text["format"] = _text_format(chat_body["response_format"])
    if instructions:
        joined = "\n\n".join(instructions)
        # The API rejects an empty `input`, and json_object mode wants "json" in the input itself.
        needs_input = not items or (text.get("format", {}).get("type") == "json_object" and not _mentions_json(items))
        if needs_input:
            items.insert(0, _message_item("system", [{"type": "input_text", "text": joined}]))
        else:
            body["instructions"] = joined
    body["input"] = items
    stream = chat_body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _invalid("stream", "`stream` must be a boolean.")
    body["stream"] = bool(stream)
    options = chat_body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise _invalid("stream_options", "`stream_options` must be an object.")
        if options.get("include_obfuscation") is not None and stream:
            body["stream_options"] = {"include_obfuscation": options["include_obfuscation"]}
    store = chat_body.get("store")
    body["store"] = store is True  # Chat does not store by default; Responses would (docs/bridge.md).
    tools: list[dict[str, Any]] = []
    if chat_body.get("tools") is not None:
        if not isinstance(chat_body["tools"], list):
            raise _invalid("tools", "`tools` must be a list.")
        tools = [_map_tool(tool, f"tools[{j}]") for j, tool in enumerate(chat_body["tools"])]
    if chat_body.get("web_search_options") is not None:
        tools.append(_web_search_tool(chat_body["web_search_options"]))
    if tools:
        body["tools"] = tools
    if chat_body.get("tool_choice") is not None:
        body["tool_choice"] = _map_tool_choice(chat_body["tool_choice"])
    if chat_body.get("parallel_tool_calls") is not None:
        body["parallel_tool_calls"] = bool(chat_body["parallel_tool_calls"])
    max_output = _max_output_tokens(chat_body)
    if max_output is not None:
        body["max_output_tokens"] = max_output
    for param in ("temperature", "top_p"):
        if chat_body.get(param) is not None:
            body[param] = chat_body[param]
    if chat_body.get("verbosity") is not None:
        text["verbosity"] = chat_body["verbosity"]
    if text:
        body["text"] = text
    reasoning = chat_body.get("reasoning")
    effort = chat_body.get("reasoning_effort")
    if isinstance(reasoning, dict):
        body["reasoning"] = dict(reasoning)
    elif reasoning is not None:
        raise _invalid("reasoning", "`reasoning` must be an object.")
    if effort is not None:
        if not isinstance(effort, str):
            raise _invalid("reasoning_effort", "`reasoning_effort` must be a string.")
        merged = body.setdefault("reasoning", {})
        merged["effort"] = effort
        if effort != "none":
            # Without a summary request the upstream sends no reasoning text, so `reasoning_content` stays empty.
            merged.setdefault("summary", "auto")
    for param in (
        "user",
        "metadata",
        "prompt_cache_key",
        "prompt_cache_retention",
        "safety_identifier",
        "service_tier",
    ):
        if chat_body.get(param) is not None:
            body[param] = chat_body[param]
    return body


def to_responses_request(
    chat_body: dict[str, Any],
    *,
    upstream_model: str,
    provider: str,
    base_instructions: str = shaping.CODEX_BASE_INSTRUCTIONS,
) -> dict[str, Any]:
    """A validated chat request → the Responses body for `provider` (docs/bridge.md). Raises BridgeRequestError."""
    body = map_chat_request(chat_body, upstream_model=upstream_model)
    return shaping.shape_for_provider(body, provider=provider, base_instructions=base_instructions)
