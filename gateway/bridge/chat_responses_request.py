"""Non-streaming translation Responses → Chat Completions (spec §2) and the shared output-mapping rules.

`fold_chat_completion` folds a whole upstream SSE body (already parsed into event dicts) into one
`chat.completion` in a single pass, rebuilding an empty terminal `output` through `recovery.OutputCollector`;
`chat_completion_from_response` maps an upstream JSON `Response`; `to_responses_request` maps the request
(spec §1) and hands the result to `shaping` for the provider. The stream direction lives in
`chat_responses_stream`, which reuses `finish_reason_for` and `chat_annotation` from here so both agree.

Policies (see also docs/bridge.md):

* `content` is the concatenation of every `output_text` part of every message item, in output order. A codex
  message item that carries `phase` (commentary, final_answer) starts a new paragraph: when text precedes it,
  `"\\n\\n"` separates them (LiteLLM glues "Working...Final."). Without `phase` there is no separator, as in
  the SDK's `Response.output_text`.
* `refusal` parts → `message.refusal`; with no `output_text` part, `content` is null (also when the answer is
  only tool calls). No output at all → `content: ""`, `finish_reason: "stop"` (never a 500).
* `url_citation` annotations → chat's nested `{"type":"url_citation","url_citation":{…}}`, their offsets shifted
  to index into the concatenated `content`; other annotation types have no chat form and are dropped.
* `reasoning_content` (LiteLLM-style extension): reasoning summary texts joined with `"\\n\\n"`; a reasoning item
  without summary text contributes its `reasoning_text` content instead; absent when there is none.
* Tool calls use `call_id` as the chat id; `custom_tool_call` becomes a function call whose arguments are its
  `input`.
* `reasoning_items` (LiteLLM-style extension): reasoning items that carry `encrypted_content` (codex sends it
  because we ask via `include`), so a client that echoes the assistant message back gets multi-turn reasoning
  with `store: false`; the request mapping replays them before that assistant turn. Streams do not carry them
  (no chat delta field exists for it); `ResponsesToChatStream.reasoning_items` exposes them to the gateway.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.bridge import errors, shaping, usage
from gateway.bridge.recovery import NOT_NEEDED, OutputCollector, RecoveryOutcome

__all__ = [
    "FoldResult",
    "chat_annotation",
    "chat_completion_from_response",
    "finish_reason_for",
    "fold_chat_completion",
    "message_from_output",
]

_SEPARATOR = "\n\n"
_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority"})
_FOLD_STOPS = frozenset({"response.completed", "response.incomplete", "response.failed", "error", None})
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


@dataclass(frozen=True, slots=True)
class FoldResult:
    """The chat answer for a non-streaming caller: a completion, or the error to answer with."""

    completion: dict[str, Any] | None
    error: errors.ChatError | None
    recovery: RecoveryOutcome
    usage: dict[str, Any] | None


def finish_reason_for(response: dict[str, Any], *, has_tool_calls: bool) -> str:
    """Spec §2.5: incomplete → length/content_filter; completed → tool_calls when calls were seen, else stop."""
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return _INCOMPLETE_REASONS.get(reason, "length") if isinstance(reason, str) else "length"
    return "tool_calls" if has_tool_calls else "stop"


def created_from(value: object) -> int | None:
    """`created` from `response.created_at` (int or float epoch seconds); None when unusable."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    return None


def chat_annotation(annotation: dict[str, Any], offset: int) -> dict[str, Any] | None:
    """A Responses annotation in chat shape, offsets shifted by `offset`; None when chat has no equivalent."""
    if annotation.get("type") != "url_citation":
        return None
    citation: dict[str, Any] = {}
    for key in ("start_index", "end_index"):
        value = annotation.get(key)
        if type(value) is int:
            citation[key] = value + offset
    citation["title"] = annotation.get("title") if isinstance(annotation.get("title"), str) else ""
    citation["url"] = annotation.get("url") if isinstance(annotation.get("url"), str) else ""
    return {"type": "url_citation", "url_citation": citation}


def message_from_output(items: Iterable[object]) -> dict[str, Any]:
    """Output items → the chat `message` (role, content, refusal, tool_calls, annotations, reasoning_content)."""
    texts: list[str] = []
    length = 0
    has_text = False
    last_text_item = -1
    refusals: list[str] = []
    annotations: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    reasoning: list[str] = []
    replay: list[dict[str, Any]] = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            content = item.get("content")
            if not isinstance(content, list):
                continue
            for part in content:
                if not isinstance(part, dict):
                    continue
                part_type = part.get("type")
                if part_type == "output_text":
                    has_text = True
                    text = part.get("text")
                    if not isinstance(text, str):
                        text = ""
                    if text and last_text_item != position:
                        if length and isinstance(item.get("phase"), str):
                            texts.append(_SEPARATOR)
                            length += len(_SEPARATOR)
                        last_text_item = position
                    part_annotations = part.get("annotations")
                    if isinstance(part_annotations, list):
                        for annotation in part_annotations:
                            if isinstance(annotation, dict):
                                converted = chat_annotation(annotation, length)
                                if converted is not None:
                                    annotations.append(converted)
                    texts.append(text)
                    length += len(text)
                elif part_type == "refusal":
                    refusal = part.get("refusal")
                    if isinstance(refusal, str):
                        refusals.append(refusal)
        elif kind in ("function_call", "custom_tool_call"):
            arguments = item.get("arguments") if kind == "function_call" else item.get("input")
            tool_calls.append(
                {
                    "id": str(item.get("call_id") or item.get("id") or ""),
                    "type": "function",
                    "function": {
                        "name": str(item.get("name") or ""),
                        "arguments": arguments if isinstance(arguments, str) else "",
                    },
                }
            )
        elif kind == "reasoning":
            reasoning.extend(_reasoning_texts(item))
            if isinstance(item.get("encrypted_content"), str):
                replay.append(item)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if has_text else (None if tool_calls or refusals else ""),
        "refusal": "".join(refusals) if refusals else None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    if annotations:
        message["annotations"] = annotations
    if reasoning:
        message["reasoning_content"] = _SEPARATOR.join(reasoning)
    if replay:
        message["reasoning_items"] = [reasoning_item_for_replay(item) for item in replay]
    return message


def reasoning_item_for_replay(item: dict[str, Any]) -> dict[str, Any]:
    """A reasoning output item as the `reasoning_items` extension carries it (and as it is sent back upstream).

    No `id`: with `store: false` the upstream cannot resolve it ("item not found"); the opaque
    `encrypted_content` is what restores the reasoning state.
    """
    summary = item.get("summary")
    return {
        "type": "reasoning",
        "summary": [
            {"type": "summary_text", "text": part["text"]}
            for part in (summary if isinstance(summary, list) else ())
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ],
        "encrypted_content": item["encrypted_content"],
    }


def _reasoning_texts(item: dict[str, Any]) -> list[str]:
    summary = item.get("summary")
    texts = [
        part["text"]
        for part in (summary if isinstance(summary, list) else ())
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]
    ]
    if texts:
        return texts
    content = item.get("content")
    return [
        part["text"]
        for part in (content if isinstance(content, list) else ())
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]
    ]


def _completion(response: dict[str, Any], output: list[Any], *, model: str) -> dict[str, Any]:
    message = message_from_output(output)
    created = response.get("created_at")
    completion: dict[str, Any] = {
        "id": str(response.get("id") or ""),
        "object": "chat.completion",
        "created": created_from(created) or 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason_for(response, has_tool_calls="tool_calls" in message),
            }
        ],
    }
    chat_usage = usage.usage_to_chat(response.get("usage"))
    if chat_usage is not None:
        completion["usage"] = chat_usage
    tier = response.get("service_tier")
    if tier in _SERVICE_TIERS:
        completion["service_tier"] = tier
    return completion


def chat_completion_from_response(response: dict[str, Any], *, model: str) -> FoldResult:
    """An upstream JSON `Response` (non-SSE answer) → chat completion; a failed response → its error."""
    if response.get("status") == "failed" or isinstance(response.get("error"), dict):
        error = errors.error_from_event({"type": "response.failed", "response": response})
        return FoldResult(completion=None, error=error, recovery=NOT_NEEDED, usage=None)
    output = response.get("output")
    items = output if isinstance(output, list) else []
    recovery = NOT_NEEDED if items else RecoveryOutcome(source=None, unrecoverable=True)
    completion = _completion(response, items, model=model)
    return FoldResult(completion=completion, error=None, recovery=recovery, usage=completion.get("usage"))


def fold_chat_completion(events: Iterable[dict[str, Any]], *, model: str) -> FoldResult:
    """Upstream SSE events → one chat completion (spec §2, recovery §2.1); EOF without terminal → 502."""
    collector = OutputCollector()
    feed = collector.feed
    for event in events:
        kind = event.get("type")
        if kind.__class__ is str:
            if kind not in _FOLD_STOPS:
                feed(event)
                continue
        elif kind is not None:
            continue  # a garbage `type` is as unknown as any other
        if kind == "response.completed" or kind == "response.incomplete":
            response = event.get("response")
            if not isinstance(response, dict):
                response = {"status": "incomplete" if kind == "response.incomplete" else "completed"}
            output, recovery = collector.outcome_for(response.get("output"))
            completion = _completion(response, output, model=model)
            return FoldResult(completion=completion, error=None, recovery=recovery, usage=completion.get("usage"))
        if kind is not None or isinstance(event.get("error"), dict):
            return FoldResult(completion=None, error=errors.error_from_event(event), recovery=NOT_NEEDED, usage=None)
    return FoldResult(completion=None, error=errors.stream_truncated_error(), recovery=NOT_NEEDED, usage=None)


# ==== request direction: chat request → Responses request (spec §1) ==========================================

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
    """User (or tool-output) content → Responses input parts (spec §1.3)."""
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
    """Messages → (leading system texts for `instructions`, input items) (spec §1.2)."""
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
    """Chat tool → flat Responses tool; `strict` defaults to false, as in Chat (spec §1.4, §7.8)."""
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
    """`web_search_options` → a `web_search` tool, with chat's nested user location flattened (spec §1.4)."""
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
    """`response_format` → `text.format`; json_schema keeps its `description` (spec §1.5, §7.10)."""
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
    """Provider-neutral mapping of a chat request (spec §1); `shaping` adapts the result per provider."""
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
    body["store"] = store is True  # Chat does not store by default; Responses would (spec §1.1, §7.9).
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
    """A validated chat request → the Responses body for `provider` (spec §1, §5.2). Raises BridgeRequestError."""
    body = map_chat_request(chat_body, upstream_model=upstream_model)
    return shaping.shape_for_provider(body, provider=provider, base_instructions=base_instructions)
