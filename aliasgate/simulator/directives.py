"""Reading a request: the last user turn, the directives (``#tool``, ``#cut``, …) or queued fault it carries,
and the pieces the answer is sent in. Pure functions over parsed JSON bodies; both APIs use them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "DIRECTIVES",
    "REFUSAL_TEXT",
    "Turn",
    "chat_turn",
    "parse_fault",
    "read_directives",
    "responses_turn",
    "split_deltas",
    "tool_to_call",
]

DIRECTIVES: Final = frozenset(
    {"tool", "reason", "refuse", "empty", "incomplete", "fail", "cut", "stall", "garbage", "slow", "status", "think"}
)
"""Directive names; ``status`` takes a code (``#status:503``, fault ``"status:503"``)."""

REFUSAL_TEXT: Final = "I'm sorry, but I can't help with that."


@dataclass(frozen=True, slots=True)
class Turn:
    """What the simulator answers to: the last user text and the behaviours it selects."""

    text: str
    tool_output: str | None
    directives: frozenset[str]
    status: int | None


def parse_fault(fault: str) -> tuple[str, int | None]:
    """Split ``"status:503"`` into ``("status", 503)``; raise ValueError for unknown names or bad codes."""
    name, _, arg = fault.partition(":")
    if name not in DIRECTIVES:
        raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(DIRECTIVES)}")
    if name == "status":
        if not arg.isdigit() or not 400 <= int(arg) <= 599:
            raise ValueError(f"fault {fault!r} needs an HTTP error status, e.g. status:503")
        return name, int(arg)
    if arg:
        raise ValueError(f"fault {fault!r} takes no argument")
    return name, None


def read_directives(text: str, fault: str | None) -> tuple[frozenset[str], int | None]:
    """The directives named in ``text`` plus the queued ``fault``, and the ``#status:NNN`` code if any."""
    found: set[str] = set()
    status: int | None = None
    if "#" in text:
        for word in text.split():
            if not word.startswith("#"):
                continue
            name, _, arg = word[1:].partition(":")
            if name == "status" and arg[:3].isdigit() and 400 <= int(arg[:3]) <= 599:
                status = int(arg[:3])
                found.add(name)
            elif name in DIRECTIVES and name != "status":
                found.add(name)
    if fault is not None:
        name, code = parse_fault(fault)
        found.add(name)
        if code is not None:
            status = code
    return frozenset(found), status


def _part_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
        return " ".join(texts)
    return ""


def responses_turn(body: dict[str, Any]) -> tuple[str, str | None]:
    """(last user text, tool output when the input ends with a ``function_call_output``)."""
    items = body.get("input")
    if isinstance(items, str):
        return items, None
    if not isinstance(items, list):
        return "", None
    tool_output: str | None = None
    if items and isinstance(items[-1], dict) and items[-1].get("type") == "function_call_output":
        tool_output = _part_text(items[-1].get("output"))
    for item in reversed(items):
        if isinstance(item, dict) and item.get("role") == "user" and item.get("type", "message") == "message":
            return _part_text(item.get("content")), tool_output
    return "", tool_output


def chat_turn(body: dict[str, Any]) -> tuple[str, str | None]:
    """(last user text, tool output when the messages end with a ``tool`` message)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "", None
    tool_output: str | None = None
    if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool":
        tool_output = _part_text(messages[-1].get("content"))
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _part_text(message.get("content")), tool_output
    return "", tool_output


def _first_tool_name(tools: Any) -> str | None:
    """Name of the first declared function tool (Responses flat form or Chat nested form)."""
    if not isinstance(tools, list):
        return None
    for tool in tools:
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        if isinstance(tool.get("name"), str):
            return str(tool["name"])
        function = tool.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    return None


def tool_to_call(body: dict[str, Any], turn: Turn) -> str | None:
    """``#tool`` calls the first declared tool, unless the turn already carries that tool's result."""
    if "tool" not in turn.directives or turn.tool_output is not None:
        return None
    return _first_tool_name(body.get("tools"))


def split_deltas(text: str, count: int) -> list[str]:
    """Cut ``text`` into ``count`` non-empty pieces of near-equal length (fewer when the text is shorter)."""
    n = max(1, min(count, len(text)))
    size = len(text)
    return [text[i * size // n : (i + 1) * size // n] for i in range(n)]
