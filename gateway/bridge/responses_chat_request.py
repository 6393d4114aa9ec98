"""Reverse bridge, request side: a Responses request → a Chat Completions request (pure; no I/O).

Used by `POST /v1/responses` on chat-mode routes. The policies, parameter by parameter, are in
docs/bridge.md ("The reverse direction"); in short:

* Nothing is dropped silently. A parameter whose effect a chat backend cannot produce is a 400
  `invalid_request_error` whose `param` names it (a path such as `input[3].content[1].type` for nested
  values); unknown parameters too. Values that ask for nothing beyond the default are accepted.
* State: aliasgate keeps no responses (it is stateless across replicas), so `previous_response_id`,
  `conversation`, `item_reference` items, `store: true`, `background: true` and stored `prompt`s get a 400
  telling the caller to send the whole conversation. A reference to a reasoning item (`rs_…`) is the one
  exception: reasoning history is not sent to chat backends anyway (see below), so it is skipped exactly as
  the full item would be.
* `instructions` and the leading run of `system`/`developer` text messages become one system message (joined
  with blank lines, as the forward bridge joins leading system messages into `instructions`). Later
  `developer` messages become `system` messages for OpenAI-compatible servers, which rarely know the role.
* Assistant history (message items, `function_call` / `custom_tool_call` items) between two other messages
  becomes one assistant message with `tool_calls`; `function_call_output` items become `tool` messages.
* Reasoning items are dropped by default: chat backends do not read reasoning back (their encrypted content
  is meaningless to them). `reasoning_history="reasoning_content"` replays the summary text as the
  assistant message's `reasoning_content` for backends that accept it.
* Hints that steer OpenAI's platform and cannot change an answer (`user`, `safety_identifier`,
  `prompt_cache_key`, `prompt_cache_retention`, `service_tier`) are forwarded to `openai` and `azure-openai`
  backends and not sent to `openai-compatible` ones, which may reject unknown fields. `metadata` is echoed
  in the Response and never sent upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gateway.bridge import errors
from gateway.bridge.responses_chat import ResponseFrame
from gateway.bridge.responses_chat_tools import ToolName, ToolNames, chat_tool_choice, chat_tools, history_arguments

__all__ = ["ChatRequestPlan", "ReasoningHistory", "to_chat_request"]

ReasoningHistory = Literal["drop", "reasoning_content"]

_OPENAI_PROVIDERS = frozenset({"openai", "azure-openai"})
_SEPARATOR = "\n\n"

_SEND_FULL_CONVERSATION = (
    "aliasgate does not store responses (it is stateless across replicas), so it cannot resolve earlier "
    "responses or items: send the whole conversation in `input` instead"
)

# Parameters the mapping reads. Anything else is "Unrecognized request argument supplied".
_KNOWN = frozenset(
    {
        "model",
        "input",
        "instructions",
        "stream",
        "stream_options",
        "store",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "temperature",
        "top_p",
        "reasoning",
        "text",
        "include",
        "user",
        "metadata",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "service_tier",
        "truncation",
        "client_metadata",
    }
)

_HINTS = ("user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "service_tier")

# Parameters that need state aliasgate does not keep; any non-inert value is a 400.
_STATEFUL = {
    "previous_response_id": "`previous_response_id` refers to a stored response",
    "conversation": "`conversation` refers to a stored conversation",
    "prompt": "`prompt` refers to a prompt template stored on the OpenAI platform",
    "background": "`background: true` needs the response to be stored and polled",
}

# Parameters a chat backend cannot honour; any non-inert value is a 400.
_UNSUPPORTED = {
    "top_logprobs": "log probabilities are not translated by the chat bridge",
    "max_tool_calls": "chat backends cannot cap the number of tool calls",
    "context_management": "chat backends do not manage or compact context",
    "prompt_cache_options": "prompt cache options are specific to the OpenAI platform",
    "moderation": "moderation settings are specific to the OpenAI platform",
    "image": "image generation options are not supported by chat backends",
    "access_programs": "access programs are specific to the OpenAI platform",
    "background_options": "background responses are not supported",
}

# `include` values: harmless ones ask for fields of items a chat backend never produces (hosted tools, encrypted
# reasoning) or echo input; the logprobs one would need the mapping of log probabilities, which is not done.
_INERT_INCLUDES = frozenset(
    {
        "reasoning.encrypted_content",
        "message.input_image.image_url",
        "file_search_call.results",
        "web_search_call.results",
        "web_search_call.action.sources",
        "computer_call_output.output.image_url",
        "code_interpreter_call.outputs",
    }
)


@dataclass(frozen=True, slots=True)
class ChatRequestPlan:
    """A Responses request, translated: the chat body to send and what the answer needs to look right."""

    body: dict[str, Any]
    """The Chat Completions request for the upstream."""
    stream: bool
    echo: dict[str, Any]
    """Response fields that repeat the request."""
    tools: ToolNames

    def frame(self, *, response_id: str, created_at: int, model: str) -> ResponseFrame:
        """The frame every Response object and event of this request shares (ids and time from the gateway)."""
        return ResponseFrame(id=response_id, created_at=created_at, model=model, echo=self.echo, tools=self.tools)


def _invalid(param: str, message: str) -> errors.BridgeRequestError:
    return errors.BridgeRequestError(
        errors.ChatError(400, f"{message} (parameter `{param}`)", "invalid_request_error", param, "invalid_value")
    )


def _unsupported(param: str, message: str) -> errors.BridgeRequestError:
    if f"`{param}`" not in message:
        message = f"{message} (parameter `{param}`)"
    return errors.BridgeRequestError.for_param(param, message)


def _stateful(param: str, what: str) -> errors.BridgeRequestError:
    return errors.BridgeRequestError.for_param(param, f"{what}; {_SEND_FULL_CONVERSATION} (parameter `{param}`).")


def _is_inert(param: str, value: object) -> bool:
    if value is None:
        return True
    if param in ("background", "store"):
        return value is False
    if param == "top_logprobs":
        return value == 0 and value is not False
    if param in ("context_management", "prompt_cache_options", "access_programs"):
        return value in ([], {})
    return False


# ---- content -------------------------------------------------------------------------------------------------


def _text_parts(content: object, param: str, *, allowed: tuple[str, ...]) -> list[str]:
    """Texts of a string or of parts whose type is in `allowed`; anything else is a 400."""
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        raise _invalid(param, "Message content must be a string or a list of content parts.")
    texts: list[str] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            raise _unsupported(f"{param}[{j}].type", f"Content part type {kind!r} is not allowed here")
        assert isinstance(part, dict)
        text = part.get("text")
        if not isinstance(text, str):
            raise _invalid(f"{param}[{j}].text", "A text part needs a string `text`.")
        texts.append(text)
    return texts


def _is_text_only(content: object) -> bool:
    if isinstance(content, str):
        return True
    return isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "input_text" and isinstance(part.get("text"), str)
        for part in content
    )


def _image_part(part: dict[str, Any], param: str) -> dict[str, Any]:
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        if part.get("file_id") is not None:
            raise _unsupported(
                f"{param}.file_id", "Images by `file_id` live in the OpenAI file store, which chat backends cannot read"
            )
        raise _invalid(f"{param}.image_url", "An image part needs an `image_url`.")
    image: dict[str, Any] = {"url": url}
    if part.get("detail") is not None:
        image["detail"] = part["detail"]
    return {"type": "image_url", "image_url": image}


def _file_part(part: dict[str, Any], param: str) -> dict[str, Any]:
    if part.get("file_url") is not None:
        raise _unsupported(f"{param}.file_url", "Files by URL are not supported by chat backends")
    file = {key: part[key] for key in ("file_id", "file_data", "filename") if part.get(key) is not None}
    if not file:
        raise _invalid(param, "A file part needs one of `file_id`, `file_data`, `filename`.")
    return {"type": "file", "file": file}


def _user_content(content: object, param: str) -> str | list[dict[str, Any]]:
    """User content → chat content: one text stays a plain string; other parts map one to one."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _invalid(param, "Message content must be a string or a list of content parts.")
    parts: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if not isinstance(part, dict):
            raise _invalid(where, "A content part must be an object.")
        kind = part.get("type")
        if kind == "input_text":
            text = part.get("text")
            if not isinstance(text, str):
                raise _invalid(f"{where}.text", "A text part needs a string `text`.")
            parts.append({"type": "text", "text": text})
        elif kind == "input_image":
            parts.append(_image_part(part, where))
        elif kind == "input_file":
            parts.append(_file_part(part, where))
        elif kind == "input_audio":
            audio = part.get("input_audio")
            if not isinstance(audio, dict):
                raise _invalid(f"{where}.input_audio", "An audio part needs an `input_audio` object.")
            parts.append({"type": "input_audio", "input_audio": dict(audio)})
        else:
            raise _unsupported(f"{where}.type", f"Content part type {kind!r} is not supported in a user message")
    if len(parts) == 1 and parts[0]["type"] == "text":
        return str(parts[0]["text"])
    return parts


def _tool_output(output: object, param: str) -> str | list[dict[str, Any]]:
    """A call output → `tool` message content; chat tool messages carry text only."""
    if isinstance(output, str):
        return output
    if not isinstance(output, list):
        raise _invalid(param, "A call output must be a string or a list of content parts.")
    texts = _text_parts(output, param, allowed=("input_text", "output_text"))
    return texts[0] if len(texts) == 1 else [{"type": "text", "text": text} for text in texts]


# ---- conversation ------------------------------------------------------------------------------------------


class _AssistantTurn:
    """Consecutive assistant items (messages, calls, reasoning) collected into one chat assistant message."""

    __slots__ = ("calls", "reasoning", "refusals", "text", "text_items")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.text_items = 0
        self.refusals: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.reasoning: list[str] = []

    def add_message(self, item: dict[str, Any], param: str) -> None:
        content = item.get("content")
        if isinstance(content, str):
            content = [{"type": "output_text", "text": content}]
        if not isinstance(content, list):
            raise _invalid(f"{param}.content", "Message content must be a string or a list of content parts.")
        texts: list[str] = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            where = f"{param}.content[{j}]"
            if kind in ("output_text", "input_text") and isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "refusal" and isinstance(part, dict) and isinstance(part.get("refusal"), str):
                self.refusals.append(part["refusal"])
            else:
                raise _unsupported(f"{where}.type", f"Content part type {kind!r} is not supported in assistant history")
        joined = "".join(texts)
        if joined:
            # The forward bridge's rule: a message carrying a codex `phase` starts a new paragraph.
            if self.text_items and isinstance(item.get("phase"), str):
                self.text.append(_SEPARATOR)
            self.text.append(joined)
            self.text_items += 1

    def add_call(self, item: dict[str, Any], param: str, kind: str) -> None:
        call_id = item.get("call_id")
        name = item.get("name")
        if not isinstance(call_id, str) or not call_id:
            raise _invalid(f"{param}.call_id", "A call item needs a string `call_id`.")
        if not isinstance(name, str) or not name:
            raise _invalid(f"{param}.name", "A call item needs a string `name`.")
        namespace = item.get("namespace")
        tool = ToolName(
            "custom" if kind == "custom_tool_call" else "function",
            name,
            namespace if isinstance(namespace, str) and namespace else None,
        )
        value = item.get("input" if kind == "custom_tool_call" else "arguments")
        if value is not None and not isinstance(value, str):
            raise _invalid(f"{param}.{'input' if kind == 'custom_tool_call' else 'arguments'}", "Must be a string.")
        self.calls.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": tool.chat_name, "arguments": history_arguments(tool, value or "")},
            }
        )

    def add_reasoning(self, item: dict[str, Any]) -> None:
        texts: list[str] = []
        for key in ("summary", "content"):  # the summary when there is one, else the raw reasoning text
            parts = item.get(key)
            if isinstance(parts, list) and not texts:
                texts = [
                    part["text"]
                    for part in parts
                    if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]
                ]
        if texts:
            self.reasoning.append(_SEPARATOR.join(texts))

    def message(self) -> dict[str, Any] | None:
        """The chat assistant message; reasoning alone is not a turn (a chat assistant message needs content)."""
        if not (self.text or self.calls or self.refusals):
            return None
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) if self.text else None}
        if self.refusals:
            message["refusal"] = "".join(self.refusals)
        if self.calls:
            message["tool_calls"] = self.calls
        if self.reasoning:
            message["reasoning_content"] = _SEPARATOR.join(self.reasoning)
        return message


def _item_kind(item: dict[str, Any]) -> object:
    kind = item.get("type")
    if kind is None:
        if "role" in item:
            return "message"
        if "id" in item:
            return "item_reference"
    return kind


def _conversation(body: dict[str, Any], *, provider: str, reasoning_history: ReasoningHistory) -> list[dict[str, Any]]:
    """`instructions` + `input` → chat messages."""
    system: list[str] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise _invalid("instructions", "`instructions` must be a string.")
        if instructions:
            system.append(instructions)
    raw = body.get("input")
    if isinstance(raw, str):
        items: list[object] = [{"type": "message", "role": "user", "content": raw}]
    elif isinstance(raw, list):
        items = list(raw)
    elif raw is None:
        raise _invalid("input", "`input` is required: send the whole conversation.")
    else:
        raise _invalid("input", "`input` must be a string or a list of items.")
    if not items:
        raise _invalid("input", "`input` must contain at least one item.")
    developer_role = "developer" if provider in _OPENAI_PROVIDERS else "system"
    messages: list[dict[str, Any]] = []
    turn: _AssistantTurn | None = None
    leading = True

    def flush() -> None:
        nonlocal turn
        if turn is not None:
            message = turn.message()
            if message is not None:
                messages.append(message)
            turn = None

    for i, raw_item in enumerate(items):
        param = f"input[{i}]"
        if not isinstance(raw_item, dict):
            raise _invalid(param, "An input item must be an object.")
        item = raw_item
        kind = _item_kind(item)
        role = item.get("role")
        if kind == "message" and role in ("system", "developer"):
            if leading and _is_text_only(item.get("content")):
                system.append("".join(_text_parts(item.get("content"), f"{param}.content", allowed=("input_text",))))
                continue
            flush()
            texts = _text_parts(item.get("content"), f"{param}.content", allowed=("input_text",))
            messages.append({"role": "system" if role == "system" else developer_role, "content": "".join(texts)})
        elif kind == "message" and role == "user":
            flush()
            messages.append({"role": "user", "content": _user_content(item.get("content"), f"{param}.content")})
        elif kind == "message" and role == "assistant":
            turn = turn or _AssistantTurn()
            turn.add_message(item, param)
        elif kind == "message":
            raise _invalid(f"{param}.role", f"Unknown message role {role!r}.")
        elif kind in ("function_call", "custom_tool_call"):
            turn = turn or _AssistantTurn()
            turn.add_call(item, param, str(kind))
        elif kind == "reasoning":
            if reasoning_history == "reasoning_content":
                turn = turn or _AssistantTurn()
                turn.add_reasoning(item)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            flush()
            call_id = item.get("call_id")
            if not isinstance(call_id, str) or not call_id:
                raise _invalid(f"{param}.call_id", "A call output needs a string `call_id`.")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": _tool_output(item.get("output"), f"{param}.output"),
                }
            )
        elif kind == "item_reference":
            reference = item.get("id")
            if not (reasoning_history == "drop" and isinstance(reference, str) and reference.startswith("rs_")):
                raise _stateful(param, "An `item_reference` refers to a stored item")
        elif isinstance(kind, str):
            raise _unsupported(f"{param}.type", f"Input item type {kind!r} belongs to a tool chat backends cannot run")
        else:
            raise _invalid(f"{param}.type", "An input item needs a `type` (or a `role`).")
        leading = False
    flush()
    if system:
        messages.insert(0, {"role": "system", "content": _SEPARATOR.join(system)})
    if not any(message["role"] != "system" for message in messages):
        raise _invalid("input", "`input` must contain at least one message besides system and developer text.")
    return messages


# ---- parameters ----------------------------------------------------------------------------------------------


def _response_format(fmt: object) -> dict[str, Any] | None:
    """`text.format` → chat `response_format` (None for plain text, the default)."""
    if not isinstance(fmt, dict):
        raise _invalid("text.format", "`text.format` must be an object.")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        name = fmt.get("name")
        schema = fmt.get("schema")
        if not isinstance(name, str) or not name:
            raise _invalid("text.format.name", "A json_schema format needs a `name`.")
        if not isinstance(schema, dict):
            raise _invalid("text.format.schema", "A json_schema format needs a `schema` object.")
        json_schema: dict[str, Any] = {"name": name, "schema": schema}
        for key in ("description", "strict"):
            if fmt.get(key) is not None:
                json_schema[key] = fmt[key]
        return {"type": "json_schema", "json_schema": json_schema}
    raise _invalid("text.format.type", f"Unknown text format type {kind!r}.")


def _text_options(text: object, chat: dict[str, Any]) -> dict[str, Any]:
    """`text` → chat `response_format` / `verbosity`; returns the `text` the Response echoes."""
    if text is None:
        return {"format": {"type": "text"}}
    if not isinstance(text, dict):
        raise _invalid("text", "`text` must be an object.")
    for key in text:
        if key not in ("format", "verbosity"):
            raise _unsupported(f"text.{key}", f"Unrecognized request argument supplied: text.{key}")
    echo: dict[str, Any] = {"format": {"type": "text"}}
    if text.get("format") is not None:
        response_format = _response_format(text["format"])
        if response_format is not None:
            chat["response_format"] = response_format
        echo["format"] = text["format"]
    if text.get("verbosity") is not None:
        chat["verbosity"] = text["verbosity"]
        echo["verbosity"] = text["verbosity"]
    return echo


def _reasoning(reasoning: object, chat: dict[str, Any]) -> dict[str, Any]:
    """`reasoning.effort` → `reasoning_effort`. `summary` is accepted: chat backends return reasoning text
    when they reason, and the answer carries it as a summary whatever level was asked for."""
    if reasoning is None:
        return {"effort": None, "summary": None}
    if not isinstance(reasoning, dict):
        raise _invalid("reasoning", "`reasoning` must be an object.")
    for key, value in reasoning.items():
        if key in ("effort", "summary", "generate_summary") or value is None:
            continue
        if (key, value) in (("mode", "standard"), ("context", "auto")):
            continue
        raise _unsupported(f"reasoning.{key}", f"`reasoning.{key}` = {value!r} cannot be passed to a chat backend")
    effort = reasoning.get("effort")
    if effort is not None:
        if not isinstance(effort, str):
            raise _invalid("reasoning.effort", "`reasoning.effort` must be a string.")
        chat["reasoning_effort"] = effort
    summary = reasoning.get("summary", reasoning.get("generate_summary"))
    return {"effort": effort, "summary": summary}


def _include(include: object) -> None:
    if include is None:
        return
    if not isinstance(include, list):
        raise _invalid("include", "`include` must be a list.")
    for j, value in enumerate(include):
        if not (isinstance(value, str) and value in _INERT_INCLUDES):
            if value == "message.output_text.logprobs":
                raise _unsupported(f"include[{j}]", "Log probabilities are not translated by the chat bridge")
            raise _invalid(f"include[{j}]", f"Unknown `include` value {value!r}.")


def _max_output_tokens(value: object) -> int:
    if type(value) is not int or value < 1:
        raise _invalid("max_output_tokens", "`max_output_tokens` must be a positive integer.")
    return value


def to_chat_request(
    body: dict[str, Any],
    *,
    upstream_model: str,
    provider: str,
    reasoning_history: ReasoningHistory = "drop",
) -> ChatRequestPlan:
    """Translate a Responses request for a chat backend of `provider`. Raises `BridgeRequestError` (400)."""
    for param, value in body.items():
        if param in _STATEFUL:
            if not _is_inert(param, value):
                raise _stateful(param, _STATEFUL[param])
        elif param in _UNSUPPORTED:
            if not _is_inert(param, value):
                raise _unsupported(param, f"Unsupported parameter `{param}`: {_UNSUPPORTED[param]}.")
        elif param not in _KNOWN:
            raise _unsupported(param, f"Unrecognized request argument supplied: {param}.")
    if body.get("store") is True:
        raise _stateful("store", "`store: true` asks aliasgate to keep the response")
    if body.get("store") not in (None, False):
        raise _invalid("store", "`store` must be a boolean.")
    if body.get("truncation") not in (None, "disabled"):
        raise _unsupported("truncation", 'Only `truncation: "disabled"` is supported: chat backends do not truncate')
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _invalid("stream", "`stream` must be a boolean.")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise _invalid("stream_options", "`stream_options` must be an object.")
    _include(body.get("include"))

    chat: dict[str, Any] = {
        "model": upstream_model,
        "messages": _conversation(body, provider=provider, reasoning_history=reasoning_history),
    }
    echo: dict[str, Any] = {"instructions": body.get("instructions")}

    raw_tools = body.get("tools")
    tools, names = chat_tools(raw_tools) if raw_tools is not None else ([], ToolNames())
    choice = body.get("tool_choice")
    if choice is not None:
        chat_choice, tools = chat_tool_choice(choice, tools, names)
        if tools:
            chat["tool_choice"] = chat_choice
        elif chat_choice == "required":
            raise _invalid("tool_choice", '`tool_choice: "required"` needs at least one tool.')
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise _invalid("parallel_tool_calls", "`parallel_tool_calls` must be a boolean.")
    if tools:
        chat["tools"] = tools
        if parallel is not None:
            chat["parallel_tool_calls"] = parallel

    if body.get("max_output_tokens") is not None:
        limit = _max_output_tokens(body["max_output_tokens"])
        chat["max_completion_tokens" if provider in _OPENAI_PROVIDERS else "max_tokens"] = limit
    for param in ("temperature", "top_p"):
        value = body.get(param)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _invalid(param, f"`{param}` must be a number.")
            chat[param] = value
    reasoning_echo = _reasoning(body.get("reasoning"), chat)
    text_echo = _text_options(body.get("text"), chat)
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _invalid("metadata", "`metadata` must be an object.")
    if provider in _OPENAI_PROVIDERS:
        for param in _HINTS:
            if body.get(param) is not None:
                chat[param] = body[param]
    chat["stream"] = bool(stream)
    if stream:
        chat["stream_options"] = {"include_usage": True}

    echo.update(
        {
            "max_output_tokens": body.get("max_output_tokens"),
            "metadata": metadata or {},
            "parallel_tool_calls": True if parallel is None else parallel,
            "previous_response_id": None,
            "reasoning": reasoning_echo,
            "store": False,
            "temperature": body.get("temperature"),
            "text": text_echo,
            "tool_choice": choice if choice is not None else "auto",
            "tools": raw_tools if raw_tools is not None else [],
            "top_p": body.get("top_p"),
            "truncation": "disabled",
            "user": body.get("user"),
            "background": False,
        }
    )
    for param in ("safety_identifier", "prompt_cache_key"):
        if body.get(param) is not None:
            echo[param] = body[param]
    return ChatRequestPlan(body=chat, stream=bool(stream), echo=echo, tools=names)
