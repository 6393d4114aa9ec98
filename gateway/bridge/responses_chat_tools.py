"""Responses tools as chat functions, and chat tool calls back as Responses call items (reverse bridge).

A chat backend knows only functions. Three Responses tool shapes can be expressed as one:

* `function` tools map one to one (`strict` and `parameters` as given; omitted stays omitted, so the chat
  backend's own default applies).
* `namespace` tools (Codex CLI groups its sub-agent functions in one) become one function per member, named
  `<namespace>__<name>`; a call to that name comes back as a `function_call` carrying `namespace`.
* `custom` tools (free-form text input) become a function with one required string argument, `input`; a
  `regex` grammar becomes that argument's JSON-schema `pattern`. A call comes back as a `custom_tool_call`
  whose `input` is that argument. A `lark` grammar has no JSON-schema equivalent: 400.

Every other tool type (hosted tools such as `web_search`, `file_search`, `computer_use_preview`, `mcp`,
`local_shell`, ...) needs the Responses platform to run it: 400 naming the type. `ToolNames` is the table from
chat function names back to Responses tools; both directions of the bridge use it, so a name means the same
thing in the request, the non-stream answer and the stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from gateway.bridge import errors

__all__ = [
    "CUSTOM_INPUT_ARGUMENT",
    "NAMESPACE_SEPARATOR",
    "ToolName",
    "ToolNames",
    "call_item",
    "chat_tool_choice",
    "chat_tools",
    "custom_input",
]

NAMESPACE_SEPARATOR = "__"
"""Between a namespace and a member name in a chat function name (chat names allow only `[A-Za-z0-9_-]`)."""

CUSTOM_INPUT_ARGUMENT = "input"
"""The one string argument a custom tool's chat function takes."""

ToolKind = Literal["function", "custom"]


@dataclass(frozen=True, slots=True)
class ToolName:
    """A Responses tool as a chat function name stands for it."""

    kind: ToolKind
    name: str
    namespace: str | None = None

    @property
    def chat_name(self) -> str:
        if self.namespace is None:
            return self.name
        return f"{self.namespace}{NAMESPACE_SEPARATOR}{self.name}"


@dataclass(frozen=True, slots=True)
class ToolNames:
    """Chat function names → Responses tools, for the tools one request declared."""

    by_chat_name: Mapping[str, ToolName] = field(default_factory=dict)

    def resolve(self, chat_name: str) -> ToolName:
        """The Responses tool a chat call names; an undeclared name is a plain function of that name."""
        found = self.by_chat_name.get(chat_name)
        return found if found is not None else ToolName("function", chat_name)


def _invalid(param: str, message: str) -> errors.BridgeRequestError:
    return errors.BridgeRequestError(
        errors.ChatError(400, f"{message} (parameter `{param}`)", "invalid_request_error", param, "invalid_value")
    )


def _unsupported(param: str, message: str) -> errors.BridgeRequestError:
    return errors.BridgeRequestError.for_param(param, f"{message} (parameter `{param}`)")


def _function(tool: dict[str, Any], param: str, chat_name: str) -> dict[str, Any]:
    function: dict[str, Any] = {"name": chat_name}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    if "parameters" in function and not isinstance(function["parameters"], dict):
        raise _invalid(f"{param}.parameters", "A function's `parameters` must be a JSON schema object.")
    return {"type": "function", "function": function}


def _custom(tool: dict[str, Any], param: str) -> dict[str, Any]:
    argument: dict[str, Any] = {"type": "string"}
    fmt = tool.get("format")
    if fmt is not None:
        if not isinstance(fmt, dict):
            raise _invalid(f"{param}.format", "A custom tool's `format` must be an object.")
        kind = fmt.get("type")
        if kind == "grammar":
            syntax = fmt.get("syntax")
            definition = fmt.get("definition")
            if syntax != "regex" or not isinstance(definition, str):
                raise _unsupported(
                    f"{param}.format",
                    f"Custom tool {tool['name']!r} uses a {syntax!r} grammar, which a chat backend cannot enforce "
                    "(only `text` and `regex` formats can be expressed as a function argument)",
                )
            argument["pattern"] = definition
        elif kind != "text":
            raise _invalid(f"{param}.format.type", f"Unknown custom tool format {kind!r}.")
    function: dict[str, Any] = {
        "name": tool["name"],
        "parameters": {
            "type": "object",
            "properties": {CUSTOM_INPUT_ARGUMENT: argument},
            "required": [CUSTOM_INPUT_ARGUMENT],
            "additionalProperties": False,
        },
    }
    if tool.get("description") is not None:
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _named(tool: object, param: str) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise _invalid(param, "A tool must be an object.")
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise _invalid(f"{param}.name", "A tool needs a non-empty string `name`.")
    return tool


def chat_tools(tools: object) -> tuple[list[dict[str, Any]], ToolNames]:
    """Responses `tools` → chat `tools` and the name table; 400 for a tool type a chat backend cannot run."""
    if not isinstance(tools, list):
        raise _invalid("tools", "`tools` must be a list.")
    mapped: list[dict[str, Any]] = []
    names: dict[str, ToolName] = {}

    def add(chat_tool: dict[str, Any], name: ToolName, param: str) -> None:
        if name.chat_name in names:
            raise _invalid(param, f"Two tools map to the same chat function name {name.chat_name!r}.")
        names[name.chat_name] = name
        mapped.append(chat_tool)

    for i, raw in enumerate(tools):
        param = f"tools[{i}]"
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "function":
            tool = _named(raw, param)
            add(_function(tool, param, tool["name"]), ToolName("function", tool["name"]), param)
        elif kind == "custom":
            tool = _named(raw, param)
            add(_custom(tool, param), ToolName("custom", tool["name"]), param)
        elif kind == "namespace":
            tool = _named(raw, param)
            members = tool.get("tools")
            if not isinstance(members, list):
                raise _invalid(f"{param}.tools", "A namespace tool needs a `tools` list.")
            for j, raw_member in enumerate(members):
                where = f"{param}.tools[{j}]"
                member_kind = raw_member.get("type") if isinstance(raw_member, dict) else None
                if member_kind not in ("function", "custom"):
                    raise _unsupported(
                        f"{where}.type",
                        f"Tool type {member_kind!r} inside a namespace is not supported by chat backends",
                    )
                member = _named(raw_member, where)
                name = ToolName(member_kind, member["name"], tool["name"])
                chat_tool = (
                    _function(member, where, name.chat_name) if member_kind == "function" else _custom(member, where)
                )
                chat_tool["function"]["name"] = name.chat_name
                add(chat_tool, name, where)
        elif isinstance(kind, str):
            hint = ' (Codex CLI: set `web_search = "disabled"`)' if kind.startswith("web_search") else ""
            raise _unsupported(
                f"{param}.type",
                f"Tool type {kind!r} needs the OpenAI platform to run it and cannot be served by a chat-completions "
                f"backend; only `function`, `custom` and `namespace` tools are supported: remove it from `tools`{hint}",
            )
        else:
            raise _invalid(f"{param}.type", "A tool needs a string `type`.")
    return mapped, ToolNames(names)


def _choice_name(entry: object, names: ToolNames, param: str) -> str:
    """A named tool choice (`{"type": "function"|"custom", "name": …}`) → its chat function name."""
    if isinstance(entry, dict) and entry.get("type") in ("function", "custom") and isinstance(entry.get("name"), str):
        namespace = entry.get("namespace")
        chat_name = ToolName(entry["type"], entry["name"], namespace if isinstance(namespace, str) else None).chat_name
        if chat_name not in names.by_chat_name:
            raise _invalid(f"{param}.name", f"Tool choice names {chat_name!r}, which is not among `tools`.")
        return chat_name
    kind = entry.get("type") if isinstance(entry, dict) else None
    if isinstance(kind, str):
        raise _unsupported(f"{param}.type", f"Tool choice type {kind!r} is not supported by chat backends")
    raise _invalid(param, "A tool choice must be `auto`, `none`, `required` or a named tool.")


def chat_tool_choice(
    choice: object, tools: list[dict[str, Any]], names: ToolNames
) -> tuple[object, list[dict[str, Any]]]:
    """Responses `tool_choice` → (chat `tool_choice`, chat tools to send).

    `allowed_tools` is expressed by sending only the allowed tools with `mode` (`auto`/`required`) as the
    choice: the model can call exactly those, which is what it asks for, and every chat backend understands it.
    """
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise _invalid("tool_choice", f"Unknown tool_choice {choice!r}.")
        return choice, tools
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        mode = choice.get("mode", "auto")
        if mode not in ("auto", "required"):
            raise _invalid("tool_choice.mode", f"Unknown allowed_tools mode {mode!r}.")
        listed = choice.get("tools")
        if not isinstance(listed, list):
            raise _invalid("tool_choice.tools", "`allowed_tools` needs a `tools` list.")
        allowed = {_choice_name(entry, names, f"tool_choice.tools[{j}]") for j, entry in enumerate(listed)}
        return mode, [tool for tool in tools if tool["function"]["name"] in allowed]
    return {"type": "function", "function": {"name": _choice_name(choice, names, "tool_choice")}}, tools


def custom_input(arguments: str) -> str:
    """A custom tool's input from its chat arguments; arguments that are not the expected object stay verbatim."""
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(parsed, dict) and isinstance(parsed.get(CUSTOM_INPUT_ARGUMENT), str):
        return str(parsed[CUSTOM_INPUT_ARGUMENT])
    return arguments


def call_item(tool: ToolName, *, item_id: str, call_id: str, arguments: str, status: str) -> dict[str, Any]:
    """A finished chat tool call as a Responses output item (`function_call` or `custom_tool_call`)."""
    if tool.kind == "custom":
        item: dict[str, Any] = {
            "type": "custom_tool_call",
            "id": item_id,
            "call_id": call_id,
            "name": tool.name,
            "input": custom_input(arguments),
        }
    else:
        item = {
            "type": "function_call",
            "id": item_id,
            "call_id": call_id,
            "name": tool.name,
            "arguments": arguments,
            "status": status,
        }
    if tool.namespace is not None:
        item["namespace"] = tool.namespace
    return item


def history_arguments(tool: ToolName, value: str) -> str:
    """The chat `arguments` for a call item of the conversation history (`arguments`, or a custom `input`)."""
    if tool.kind == "custom":
        return orjson.dumps({CUSTOM_INPUT_ARGUMENT: value}).decode()
    return value
