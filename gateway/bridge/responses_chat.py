"""Reverse bridge, answer side: a `chat.completion` → a Responses `Response` object (pure; no I/O, no clock).

The stream translator (`responses_chat_stream`) builds its items with the same functions, so a streaming
caller and a non-streaming caller receive the same `Response` for the same upstream answer.

Policies (docs/bridge.md, "The reverse direction"):

* Output items, in this order: a `reasoning` item when the backend sent reasoning text (`reasoning_content`,
  or `reasoning` as newer vLLM and Ollama name it), carried as one `summary_text` part because Responses
  clients display summaries; the assistant `message` with an `output_text` part (and a `refusal` part);
  one `function_call` (or `custom_tool_call`) per chat tool call, its `call_id` the chat tool call id.
  An answer with none of these is one message with empty text, so clients always find a message.
* `finish_reason` `length` → `status: "incomplete"`, `incomplete_details.reason: "max_output_tokens"`;
  `content_filter` → incomplete with reason `content_filter`; anything else → `completed`. In an incomplete
  response the last output item (the one being written when the backend stopped) is `incomplete`.
* Identity is the gateway's: `id` and `created_at` come from the `ResponseFrame` the handler creates when
  the request arrives (its clock, honestly; never 0), item ids derive from the response id
  (`msg_<id>_<index>`), so they are stable across the stream and the final object.
* Usage: `usage_from_chat`; `null` when the backend reported none (never invented zeros).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.bridge import errors, usage
from gateway.bridge.responses_chat_tools import ToolNames, call_item

__all__ = [
    "ResponseFrame",
    "ResponseResult",
    "message_item",
    "output_status",
    "reasoning_item",
    "reasoning_text",
    "response_annotation",
    "response_from_chat_completion",
    "usage_from_chat",
]

_ITEM_PREFIX = {"reasoning": "rs", "message": "msg", "function_call": "fc", "custom_tool_call": "ctc"}


def _count(value: object) -> int:
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, float) and value >= 0:
        return int(value)
    return 0


def usage_from_chat(chat_usage: object) -> dict[str, Any] | None:
    """Chat `usage` → Responses `usage` (the inverse of `usage.usage_to_chat`); None when there is none.

    `cached_tokens`, `cache_write_tokens` and `reasoning_tokens` are always present (the SDK's types require
    them); a detail the backend did not report is 0.
    """
    if not isinstance(chat_usage, dict):
        return None
    prompt = _count(chat_usage.get("prompt_tokens"))
    completion = _count(chat_usage.get("completion_tokens"))
    total = chat_usage.get("total_tokens")
    prompt_details = chat_usage.get("prompt_tokens_details")
    completion_details = chat_usage.get("completion_tokens_details")
    if not isinstance(prompt_details, dict):
        prompt_details = {}
    if not isinstance(completion_details, dict):
        completion_details = {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": _count(prompt_details.get("cached_tokens")),
            "cache_write_tokens": _count(prompt_details.get("cache_write_tokens")),
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": _count(completion_details.get("reasoning_tokens"))},
        "total_tokens": total if type(total) is int and total >= 0 else prompt + completion,
    }


@dataclass(frozen=True, slots=True)
class ResponseFrame:
    """What every Response object and event of one request shares: identity, time, the echoed request."""

    id: str
    created_at: int
    model: str
    """The model the caller asked for (the alias), as the forward bridge echoes it too."""
    echo: Mapping[str, Any] = field(default_factory=dict)
    """Request fields a Response repeats (`instructions`, `tools`, `tool_choice`, `temperature`, ...)."""
    tools: ToolNames = field(default_factory=ToolNames)

    @property
    def _suffix(self) -> str:
        return self.id.removeprefix("resp_")

    def item_id(self, item_type: str, output_index: int) -> str:
        return f"{_ITEM_PREFIX.get(item_type, 'item')}_{self._suffix}_{output_index}"

    def call_id(self, chat_index: int) -> str:
        """A call id for a chat tool call that came without one (some backends omit it)."""
        return f"call_{self._suffix}_{chat_index}"

    def response(
        self,
        *,
        status: str,
        output: list[dict[str, Any]],
        usage: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        incomplete_details: dict[str, Any] | None = None,
        service_tier: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": error,
            "incomplete_details": incomplete_details,
            "model": self.model,
            "output": output,
            "usage": usage,
            **self.echo,
        }
        if service_tier is not None:
            body["service_tier"] = service_tier
        return body


@dataclass(frozen=True, slots=True)
class ResponseResult:
    """The answer for a non-streaming caller: a Response, or the error to answer with."""

    response: dict[str, Any] | None
    error: errors.ChatError | None
    usage: dict[str, Any] | None
    """Chat-shaped usage as the gateway's metrics count it (None when the backend reported none)."""


def output_status(finish_reason: object) -> tuple[str, dict[str, Any] | None]:
    """Chat `finish_reason` → (Response `status`, `incomplete_details`)."""
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def reasoning_text(fields: Mapping[str, Any]) -> str:
    """Reasoning text of a chat message or delta: `reasoning_content`, else `reasoning` (never both)."""
    for key in ("reasoning_content", "reasoning"):
        value = fields.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def reasoning_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": text}],
        "status": status,
    }


def text_part(text: str, annotations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}


def refusal_part(refusal: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": refusal}


def message_item(item_id: str, parts: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {"type": "message", "id": item_id, "role": "assistant", "status": status, "content": parts}


def response_annotation(annotation: object) -> dict[str, Any] | None:
    """A chat annotation (`{"type":"url_citation","url_citation":{…}}`) in the flat Responses shape."""
    if not isinstance(annotation, dict) or annotation.get("type") != "url_citation":
        return None
    citation = annotation.get("url_citation")
    if not isinstance(citation, dict):
        return None
    return {
        "type": "url_citation",
        "start_index": _count(citation.get("start_index")),
        "end_index": _count(citation.get("end_index")),
        "title": citation["title"] if isinstance(citation.get("title"), str) else "",
        "url": citation["url"] if isinstance(citation.get("url"), str) else "",
    }


_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority", "fast", "ultrafast"})


def service_tier_of(body: Mapping[str, Any]) -> str | None:
    """The tier the upstream reports having used, when it is one the Responses API knows."""
    tier = body.get("service_tier")
    return tier if isinstance(tier, str) and tier in _SERVICE_TIERS else None


def _first_choice(completion: dict[str, Any]) -> dict[str, Any] | None:
    choices = completion.get("choices")
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            return choice
    return None


def _no_choice_error() -> errors.ChatError:
    return errors.ChatError(502, "The upstream answered without a choice.", "server_error", None, None)


def response_from_chat_completion(completion: dict[str, Any], frame: ResponseFrame) -> ResponseResult:
    """An upstream `chat.completion` → the Response (or, for an error body or no choice, the error)."""
    if completion.get("error"):
        return ResponseResult(None, errors.error_from_event(completion), None)
    choice = _first_choice(completion)
    message = choice.get("message") if choice is not None else None
    if choice is None or not isinstance(message, dict):
        return ResponseResult(None, _no_choice_error(), None)
    status, incomplete = output_status(choice.get("finish_reason"))
    items: list[dict[str, Any]] = []
    reasoning = reasoning_text(message)
    if reasoning:
        items.append(reasoning_item("", reasoning, "completed"))
    parts: list[dict[str, Any]] = []
    content = message.get("content")
    if isinstance(content, str) and content:
        raw = message.get("annotations")
        annotations = [a for a in map(response_annotation, raw if isinstance(raw, list) else ()) if a is not None]
        parts.append(text_part(content, annotations))
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        parts.append(refusal_part(refusal))
    calls = [call for call in message.get("tool_calls") or () if isinstance(call, dict)]
    if parts or (not calls and not reasoning):
        items.append(message_item("", parts or [text_part("", [])], "completed"))
    for chat_index, call in enumerate(calls):
        function = call.get("function")
        if not isinstance(function, dict):
            function = {}
        name = function.get("name")
        arguments = function.get("arguments")
        call_id = call.get("id")
        items.append(
            call_item(
                frame.tools.resolve(name if isinstance(name, str) else ""),
                item_id="",
                call_id=call_id if isinstance(call_id, str) and call_id else frame.call_id(chat_index),
                arguments=arguments if isinstance(arguments, str) else "",
                status="completed",
            )
        )
    for index, item in enumerate(items):
        item["id"] = frame.item_id(item["type"], index)
    if status == "incomplete" and items and "status" in items[-1]:
        items[-1]["status"] = "incomplete"
    output = items
    chat_usage = usage.usage_to_chat(usage_from_chat(completion.get("usage")))
    response = frame.response(
        status=status,
        output=output,
        usage=usage_from_chat(completion.get("usage")),
        incomplete_details=incomplete,
        service_tier=service_tier_of(completion),
    )
    return ResponseResult(response, None, chat_usage)
