"""A faithful upstream simulator: the OpenAI Responses and Chat Completions APIs, and ChatGPT's codex backend.

It is a real aiohttp app used by ``aliasgate demo``, the end-to-end tests and the benchmarks (where it is
the baseline, so the common path is cheap: one ``orjson`` pass and a single write per answer). Answers are
deterministic functions of the last user text; directives in that text (``#tool``, ``#reason``,
``#refuse``, ``#empty``, ``#incomplete``, ``#fail``, ``#cut``, ``#stall``, ``#garbage``, ``#status:NNN``,
``#slow``, ``#think``) select behaviours, so tests can drive them through the gateway. A fault queue
(:meth:`Simulator.enqueue`, ``POST /_sim/faults``) applies the same behaviours without touching the text.

Routes work under any prefix, so one simulator plays several base URLs: a prefix containing ``/codex``
behaves as ``chatgpt.com/backend-api/codex`` (SSE only, the 400 ``{"detail": ...}`` quirks of the bridge
spec §5.2, 403 on chat completions), any other prefix as ``api.openai.com/v1``.

Usage accounting: ``input_tokens`` is the word count of the last user text, ``output_tokens`` the number of
answer deltas actually sent (text, refusal or tool-argument deltas), ``reasoning_tokens`` 2 with ``#reason``.

Details beyond the directive list: a turn whose input ends with a tool result (``function_call_output`` /
a ``tool`` message) is answered ``Tool said: <output>`` instead of calling the tool again; ``#empty`` and
``empty_output_rate`` act on streams only (a JSON Response has no ``response.completed`` event); on a JSON
(non-stream) answer ``#fail`` gives a Response with status ``failed`` (Responses) or a 500 (Chat), ``#cut``
a truncated body, ``#garbage`` a non-JSON body. ``api-key`` (Azure) is accepted as a credential on non-codex
paths, api.openai.com's ``max_output_tokens >= 16`` rule is enforced, and chat completions under a codex
prefix answer 403 (that backend serves only Responses).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from aiohttp import web

__all__ = [
    "DIRECTIVES",
    "RecordedRequest",
    "Simulator",
    "SimulatorConfig",
    "create_simulator_app",
    "main",
    "simulator_key",
]

DIRECTIVES: Final = frozenset(
    {"tool", "reason", "refuse", "empty", "incomplete", "fail", "cut", "stall", "garbage", "slow", "status", "think"}
)
"""Directive names; ``status`` takes a code (``#status:503``, fault ``"status:503"``)."""

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
"""Body fields the codex backend refuses with ``Unsupported parameter: <p>`` (bridge spec §5.2)."""

REFUSAL_TEXT: Final = "I'm sorry, but I can't help with that."
SUMMARY_TEXTS: Final = ("Reading the question carefully.", "Choosing the shortest correct answer.")
ENCRYPTED_REASONING: Final = "gAAAAABsimulated-opaque-reasoning"


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """How the simulated upstream behaves; every knob has a deterministic default."""

    empty_output_rate: float = 0.0
    """Probability that a codex stream ends with ``response.completed`` whose ``output`` is ``[]`` (1.0 = always)."""
    seed: int | None = None
    """Seed of the random draws (only ``empty_output_rate`` draws)."""
    delta_count: int = 8
    """Deltas per answer (text, refusal or tool arguments)."""
    latency_seconds: float = 0.0
    """Added before answering each request."""
    require_auth: bool = True
    """Codex paths need ``Authorization: Bearer`` and ``ChatGPT-Account-Id``; others a Bearer (or ``api-key``)."""
    upstream_id: str = "sim"
    """Echoed in the ``x-upstream-id`` response header, and part of generated ids."""
    stall_seconds: float = 30.0
    """How long ``#stall`` stops sending mid-stream."""
    slow_interval_seconds: float = 0.05
    """Pause between events with ``#slow``."""
    think_seconds: float = 2.0
    """How long ``#think`` pauses before the first content, as a reasoning model does (after the stream's
    head: ``response.created``/``in_progress``, or the chat role chunk)."""
    record_requests: bool = True
    """Keep every request in :attr:`Simulator.requests` (benchmarks turn it off to keep memory flat)."""
    models: tuple[str, ...] = ("gpt-5.4", "gpt-5.4-mini", "gpt-4.1-mini")
    """Served by ``GET {prefix}/models``."""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the simulator saw it; secrets in headers are redacted."""

    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased names; ``authorization`` is ``"Bearer ***"`` and ``api-key`` is ``"***"``."""
    body: Any
    """Parsed JSON body, or None when there was none or it was not JSON."""

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "headers": self.headers, "body": self.body}


@dataclass(slots=True)
class Simulator:
    """Per-app state: the recorded requests, the fault queue, id counter and random source."""

    config: SimulatorConfig
    requests: list[RecordedRequest] = field(default_factory=list)
    _faults: deque[str] = field(default_factory=deque)
    _counter: int = 0
    _random: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._random = random.Random(self.config.seed)

    def enqueue(self, fault: str, count: int = 1) -> None:
        """Apply ``fault`` (a directive name, e.g. ``"cut"`` or ``"status:503"``) to the next ``count`` requests."""
        parse_fault(fault)
        if count < 1:
            raise ValueError("count must be at least 1")
        self._faults.extend([fault] * count)

    def take_fault(self) -> str | None:
        return self._faults.popleft() if self._faults else None

    def clear(self) -> None:
        """Forget recorded requests and queued faults."""
        self.requests.clear()
        self._faults.clear()

    def next_id(self) -> int:
        self._counter += 1
        return self._counter

    def draw(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        return self._random.random() < rate


simulator_key: Final = web.AppKey("simulator", Simulator)


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


# --------------------------------------------------------------------------------------------------
# Reading requests


@dataclass(frozen=True, slots=True)
class _Turn:
    """What the simulator answers to: the last user text and the behaviours it selects."""

    text: str
    tool_output: str | None
    directives: frozenset[str]
    status: int | None


def _directives(text: str, fault: str | None) -> tuple[frozenset[str], int | None]:
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


def _responses_turn(body: dict[str, Any]) -> tuple[str, str | None]:
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


def _chat_turn(body: dict[str, Any]) -> tuple[str, str | None]:
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


def _tool_to_call(body: dict[str, Any], turn: _Turn) -> str | None:
    """``#tool`` calls the first declared tool, unless the turn already carries that tool's result."""
    if "tool" not in turn.directives or turn.tool_output is not None:
        return None
    return _first_tool_name(body.get("tools"))


def split_deltas(text: str, count: int) -> list[str]:
    """Cut ``text`` into ``count`` non-empty pieces of near-equal length (fewer when the text is shorter)."""
    n = max(1, min(count, len(text)))
    size = len(text)
    return [text[i * size // n : (i + 1) * size // n] for i in range(n)]


# --------------------------------------------------------------------------------------------------
# Wire helpers


_SSE_HEADERS: Final = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
_JSON_CT: Final = "application/json"

_CUT: Final = "cut"
_STALL: Final = "stall"
_THINK: Final = "think"
_GARBAGE: Final = "garbage"
_GARBAGE_FRAME: Final = b"data: {this is not json\n\n"

Step = dict[str, Any] | str
"""An event dict to encode, or one of the markers ``_CUT``, ``_STALL``, ``_THINK``, ``_GARBAGE``."""
Encoder = Callable[[dict[str, Any]], bytes]


def _json_response(payload: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type=_JSON_CT, headers=headers)


_ERROR_TYPES: Final = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    409: ("conflict", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def openai_error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> Any:
    """The OpenAI error envelope for ``status``."""
    error_type, default_code = _ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": error_type, "param": param, "code": code or default_code}}


def _openai_error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> web.Response:
    headers = {"Retry-After": "1"} if status == 429 else None
    return _json_response(openai_error_body(status, message, param=param, code=code), status=status, headers=headers)


def _codex_error(status: int, detail: str) -> web.Response:
    return _json_response({"detail": detail}, status=status)


def _simulated_status(status: int) -> web.Response:
    messages = {
        429: "Rate limit reached for requests (simulated). Please try again in 1s.",
        500: "The server had an error while processing your request. Sorry about that! (simulated)",
        503: "The engine is currently overloaded, please try again later. (simulated)",
    }
    return _openai_error(status, messages.get(status, f"Simulated upstream error {status}."))


@functools.cache
def _event_prefix(event_type: str) -> bytes:
    return b"event: " + event_type.encode() + b"\ndata: "


def _sse_frame(event: dict[str, Any]) -> bytes:
    return _event_prefix(event["type"]) + orjson.dumps(event) + b"\n\n"


def _data_frame(chunk: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


# --------------------------------------------------------------------------------------------------
# The Responses API


def _responses_usage(input_tokens: int, output_tokens: int, reasoning: bool) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 2 if reasoning else 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _echo_tools(tools: Any) -> list[Any]:
    if not isinstance(tools, list):
        return []
    echoed: list[Any] = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "function":
            echoed.append(
                {
                    "type": "function",
                    "name": tool.get("name", ""),
                    "description": tool.get("description"),
                    "parameters": tool.get("parameters"),
                    "strict": tool.get("strict"),
                }
            )
        elif isinstance(tool, dict):
            echoed.append(tool)
    return echoed


class _ResponsesScript:
    """Builds the event sequence (and the final Response object) for one Responses request."""

    def __init__(self, *, sim: Simulator, body: dict[str, Any], turn: _Turn, empty_output: bool) -> None:
        n = sim.next_id()
        uid = sim.config.upstream_id
        self.sim = sim
        self.turn = turn
        self.empty_output = empty_output
        self.delta_count = sim.config.delta_count
        self.response_id = f"resp_{uid}_{n:06d}"
        self.item_prefix = f"{uid}_{n:06d}"
        self.steps: list[Step] = []
        self.output: list[dict[str, Any]] = []
        self.deltas_sent = 0
        self.sequence = 0
        self.stopped = False
        self.base: dict[str, Any] = {
            "id": self.response_id,
            "object": "response",
            "created_at": int(time.time()),
            "status": "in_progress",
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "metadata": body.get("metadata") or {},
            "model": body.get("model", ""),
            "output": [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": (body.get("reasoning") or {}).get("effort"), "summary": None},
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": _echo_tools(body.get("tools")),
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": None,
            "user": body.get("user"),
        }
        include = body.get("include")
        self.encrypted = isinstance(include, list) and "reasoning.encrypted_content" in include
        self.tool_name = _tool_to_call(body, turn)
        self.input_tokens = len(turn.text.split())

    # The sequence --------------------------------------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        event["sequence_number"] = self.sequence
        self.sequence += 1
        self.steps.append(event)

    def _after_delta(self) -> None:
        """Faults that strike mid-stream strike after the second delta."""
        self.deltas_sent += 1
        if self.deltas_sent != 2 and not (self.deltas_sent == 1 and self.delta_count == 1):
            return
        d = self.turn.directives
        if "garbage" in d:
            self.steps.append(_GARBAGE)
        if "stall" in d:
            self.steps.append(_STALL)
        if "cut" in d:
            self.steps.append(_CUT)
            self.stopped = True
        elif "fail" in d:
            self._terminal("response.failed", "failed")
            self.stopped = True

    def build(self) -> list[Step]:
        self._emit({"type": "response.created", "response": dict(self.base)})
        self._emit({"type": "response.in_progress", "response": dict(self.base)})
        if "think" in self.turn.directives:
            self.steps.append(_THINK)
        index = 0
        if "reason" in self.turn.directives:
            self._reasoning(index)
            index += 1
        if self.tool_name is not None:
            self._function_call(index)
        elif "refuse" in self.turn.directives:
            self._message(index, refusal=True)
        else:
            self._message(index, refusal=False)
        if self.stopped:
            return self.steps
        if "incomplete" in self.turn.directives:
            self._terminal("response.incomplete", "incomplete")
        else:
            self._terminal("response.completed", "completed")
        return self.steps

    def _answer_text(self) -> str:
        if self.turn.tool_output is not None:
            return f"Tool said: {self.turn.tool_output}"
        return f"You said: {self.turn.text}"

    def _pieces(self, text: str) -> list[str]:
        pieces = split_deltas(text, self.delta_count)
        if "incomplete" in self.turn.directives:
            pieces = pieces[: max(1, len(pieces) // 2)]
        return pieces

    def _reasoning(self, index: int) -> None:
        item_id = f"rs_{self.item_prefix}"
        self._emit(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {"id": item_id, "type": "reasoning", "summary": []},
            }
        )
        summary = []
        for k, text in enumerate(SUMMARY_TEXTS):
            common = {"item_id": item_id, "output_index": index, "summary_index": k}
            empty_part = {"type": "summary_text", "text": ""}
            self._emit({"type": "response.reasoning_summary_part.added", **common, "part": empty_part})
            self._emit({"type": "response.reasoning_summary_text.delta", **common, "delta": text})
            self._emit({"type": "response.reasoning_summary_text.done", **common, "text": text})
            part = {"type": "summary_text", "text": text}
            self._emit({"type": "response.reasoning_summary_part.done", **common, "part": part})
            summary.append(part)
        item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": summary}
        if self.encrypted:
            item["encrypted_content"] = ENCRYPTED_REASONING
        self._emit({"type": "response.output_item.done", "output_index": index, "item": item})
        self.output.append(item)

    def _message(self, index: int, *, refusal: bool) -> None:
        item_id = f"msg_{self.item_prefix}"
        text = REFUSAL_TEXT if refusal else self._answer_text()
        pieces = self._pieces(text)
        sent = "".join(pieces)
        status = "incomplete" if "incomplete" in self.turn.directives else "completed"
        item_base = {"id": item_id, "type": "message", "role": "assistant"}
        self._emit(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item_base, "status": "in_progress", "content": []},
            }
        )
        common = {"item_id": item_id, "output_index": index, "content_index": 0}
        if refusal:
            empty_part: dict[str, Any] = {"type": "refusal", "refusal": ""}
            part: dict[str, Any] = {"type": "refusal", "refusal": sent}
        else:
            empty_part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": sent}
        self._emit({"type": "response.content_part.added", **common, "part": empty_part})
        for piece in pieces:
            if refusal:
                self._emit({"type": "response.refusal.delta", **common, "delta": piece})
            else:
                self._emit({"type": "response.output_text.delta", **common, "delta": piece, "logprobs": []})
            self._after_delta()
            if self.stopped:
                return
        if refusal:
            self._emit({"type": "response.refusal.done", **common, "refusal": sent})
        else:
            self._emit({"type": "response.output_text.done", **common, "text": sent, "logprobs": []})
        self._emit({"type": "response.content_part.done", **common, "part": part})
        item = {**item_base, "status": status, "content": [part]}
        self._emit({"type": "response.output_item.done", "output_index": index, "item": item})
        self.output.append(item)

    def _function_call(self, index: int) -> None:
        item_id = f"fc_{self.item_prefix}"
        call_id = f"call_{self.item_prefix}"
        arguments = orjson.dumps({"q": self.turn.text}).decode()
        pieces = self._pieces(arguments)
        sent = "".join(pieces)
        item_base = {"id": item_id, "type": "function_call", "call_id": call_id, "name": self.tool_name}
        self._emit(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item_base, "arguments": "", "status": "in_progress"},
            }
        )
        common = {"item_id": item_id, "output_index": index}
        for piece in pieces:
            self._emit({"type": "response.function_call_arguments.delta", **common, "delta": piece})
            self._after_delta()
            if self.stopped:
                return
        self._emit({"type": "response.function_call_arguments.done", **common, "arguments": sent})
        status = "incomplete" if "incomplete" in self.turn.directives else "completed"
        item = {**item_base, "arguments": sent, "status": status}
        self._emit({"type": "response.output_item.done", "output_index": index, "item": item})
        self.output.append(item)

    def _terminal(self, kind: str, status: str) -> None:
        self._emit({"type": kind, "response": self.final_response(status)})

    def final_response(self, status: str) -> dict[str, Any]:
        """The Response object in its terminal state (``output`` emptied when the stream plays codex's quirk)."""
        response = dict(self.base)
        response["status"] = status
        response["output"] = [] if self.empty_output else list(self.output)
        response["usage"] = _responses_usage(self.input_tokens, self.deltas_sent, "reason" in self.turn.directives)
        if status == "completed":
            response["completed_at"] = response["created_at"]
        elif status == "incomplete":
            response["incomplete_details"] = {"reason": "max_output_tokens"}
        elif status == "failed":
            response["error"] = {"code": "server_error", "message": "The model failed to generate a response."}
        return response


# --------------------------------------------------------------------------------------------------
# The Chat Completions API


def _chat_usage(prompt: int, completion: int, reasoning: bool) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 2 if reasoning else 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class _ChatScript:
    """Builds a chat.completion, or its chunk sequence, for one Chat Completions request."""

    def __init__(self, *, sim: Simulator, body: dict[str, Any], turn: _Turn) -> None:
        n = sim.next_id()
        self.turn = turn
        self.delta_count = sim.config.delta_count
        self.completion_id = f"chatcmpl-{sim.config.upstream_id}{n:06d}"
        self.call_id = f"call_{sim.config.upstream_id}_{n:06d}"
        self.created = int(time.time())
        self.model = str(body.get("model", ""))
        self.tool_name = _tool_to_call(body, turn)
        self.prompt_tokens = len(turn.text.split())
        options = body.get("stream_options")
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True
        self.incomplete = "incomplete" in turn.directives
        self.reasoning = "reason" in turn.directives

    def _pieces(self) -> list[str]:
        if self.tool_name is not None:
            text = orjson.dumps({"q": self.turn.text}).decode()
        elif "refuse" in self.turn.directives:
            text = REFUSAL_TEXT
        elif self.turn.tool_output is not None:
            text = f"Tool said: {self.turn.tool_output}"
        else:
            text = f"You said: {self.turn.text}"
        pieces = split_deltas(text, self.delta_count)
        return pieces[: max(1, len(pieces) // 2)] if self.incomplete else pieces

    def _finish_reason(self) -> str:
        if self.incomplete:
            return "length"
        return "tool_calls" if self.tool_name is not None else "stop"

    def completion(self) -> dict[str, Any]:
        pieces = self._pieces()
        joined = "".join(pieces)
        message: dict[str, Any] = {"role": "assistant", "content": joined, "refusal": None, "annotations": []}
        if self.tool_name is not None:
            message["content"] = None
            message["tool_calls"] = [
                {"id": self.call_id, "type": "function", "function": {"name": self.tool_name, "arguments": joined}}
            ]
        elif "refuse" in self.turn.directives:
            message["content"] = None
            message["refusal"] = joined
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": self._finish_reason()}],
            "usage": _chat_usage(self.prompt_tokens, len(pieces), self.reasoning),
            "service_tier": "default",
            "system_fingerprint": None,
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            "service_tier": "default",
            "system_fingerprint": None,
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def chunks(self) -> list[Step]:
        """Chunk dicts and fault markers; the caller appends ``data: [DONE]`` unless cut."""
        pieces = self._pieces()
        steps: list[Step] = [self._chunk({"role": "assistant", "content": "", "refusal": None})]
        directives = self.turn.directives
        if "think" in directives:
            steps.append(_THINK)
        for i, piece in enumerate(pieces):
            if self.tool_name is not None:
                call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
                if i == 0:
                    call = {"index": 0, "id": self.call_id, "type": "function", "function": {"name": self.tool_name}}
                    call["function"]["arguments"] = piece
                steps.append(self._chunk({"tool_calls": [call]}))
            elif "refuse" in directives:
                steps.append(self._chunk({"refusal": piece}))
            else:
                steps.append(self._chunk({"content": piece}))
            if i == min(1, len(pieces) - 1):
                if "garbage" in directives:
                    steps.append(_GARBAGE)
                if "stall" in directives:
                    steps.append(_STALL)
                if "cut" in directives:
                    steps.append(_CUT)
                    return steps
                if "fail" in directives:
                    steps.append(openai_error_body(500, "The model failed to generate a response."))
                    return steps
        steps.append(self._chunk({}, self._finish_reason()))
        if self.include_usage:
            final = self._chunk({})
            final["choices"] = []
            final["usage"] = _chat_usage(self.prompt_tokens, len(pieces), self.reasoning)
            steps.append(final)
        return steps


# --------------------------------------------------------------------------------------------------
# Handlers


def _record(sim: Simulator, request: web.Request, body: Any) -> None:
    if not sim.config.record_requests:
        return
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key == "authorization":
            value = "Bearer ***" if value.lower().startswith("bearer") else "***"
        elif key == "api-key":
            value = "***"
        headers[key] = value
    sim.requests.append(RecordedRequest(method=request.method, path=request.path, headers=headers, body=body))


def _auth_error(request: web.Request, *, codex: bool) -> web.Response | None:
    authorization = request.headers.get("Authorization", "")
    has_bearer = authorization.startswith("Bearer ") and len(authorization) > len("Bearer ")
    if codex:
        if not has_bearer:
            return _codex_error(401, "Unauthorized: missing bearer token")
        if not request.headers.get("ChatGPT-Account-Id"):
            return _codex_error(401, "Unauthorized: missing ChatGPT-Account-Id")
        return None
    if has_bearer or request.headers.get("api-key"):
        return None
    return _openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header "
        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        code=None,
    )


def _codex_body_error(body: dict[str, Any]) -> str | None:
    """The first codex rule ``body`` breaks (bridge spec §5.2), as the backend's ``detail`` string."""
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


def _openai_responses_body_error(body: dict[str, Any]) -> web.Response | None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return _openai_error(
            400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    value = body.get("input")
    if value is not None and not isinstance(value, str | list):
        return _openai_error(400, "Invalid type for 'input': expected a string or an array.", param="input")
    limit = body.get("max_output_tokens")
    if isinstance(limit, int) and limit < 16:
        return _openai_error(
            400,
            f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {limit} "
            "instead.",
            param="max_output_tokens",
            code="integer_below_min_value",
        )
    return None


async def _read_json(request: web.Request) -> tuple[Any, bool]:
    raw = await request.read()
    if not raw:
        return None, False
    try:
        return orjson.loads(raw), True
    except orjson.JSONDecodeError:
        return None, False


async def _play(
    request: web.Request, steps: list[Step], encode: Encoder, tail: bytes, *, slow: float
) -> web.StreamResponse:
    """Send a script that needs pacing or a fault: one write per step, markers acted out."""
    sim = request.app[simulator_key]
    response = web.StreamResponse(headers={**_SSE_HEADERS, "x-upstream-id": sim.config.upstream_id})
    await response.prepare(request)
    for step in steps:
        if step == _CUT:
            # Drop the connection without a terminal event or the chunked trailer.
            if request.transport is not None:
                request.transport.close()
            return response
        if step == _STALL:
            await asyncio.sleep(sim.config.stall_seconds)
            continue
        if step == _THINK:
            await asyncio.sleep(sim.config.think_seconds)
            continue
        if step == _GARBAGE:
            await response.write(_GARBAGE_FRAME)
            continue
        if isinstance(step, dict):
            await response.write(encode(step))
        if slow:
            await asyncio.sleep(slow)
    if tail:
        await response.write(tail)
    await response.write_eof()
    return response


_PACED: Final = frozenset({"slow", "cut", "stall", "garbage", "think"})
"""Directives that need one write per event (the common path writes the whole answer at once)."""


async def _serve_script(
    request: web.Request, steps: list[Step], encode: Encoder, tail: bytes, directives: frozenset[str]
) -> web.StreamResponse:
    sim = request.app[simulator_key]
    slow = "slow" in directives
    if not _PACED.isdisjoint(directives):
        return await _play(request, steps, encode, tail, slow=sim.config.slow_interval_seconds if slow else 0.0)
    body = b"".join([encode(step) for step in steps if isinstance(step, dict)]) + tail
    return web.Response(body=body, headers={**_SSE_HEADERS, "x-upstream-id": sim.config.upstream_id})


async def _begin(request: web.Request, *, codex: bool) -> tuple[Simulator, Any, web.Response | None]:
    """Shared prologue: read and record the body, latency, auth."""
    sim = request.app[simulator_key]
    body, ok = await _read_json(request)
    _record(sim, request, body)
    if sim.config.latency_seconds > 0:
        await asyncio.sleep(sim.config.latency_seconds)
    if sim.config.require_auth:
        denied = _auth_error(request, codex=codex)
        if denied is not None:
            return sim, body, denied
    if not ok or not isinstance(body, dict):
        message = "We could not parse the JSON body of your request."
        return sim, body, _codex_error(400, message) if codex else _openai_error(400, message)
    return sim, body, None


async def _post_responses(request: web.Request, *, codex: bool) -> web.StreamResponse:
    sim, body, early = await _begin(request, codex=codex)
    if early is not None:
        return early
    if codex:
        detail = _codex_body_error(body)
        if detail is not None:
            return _codex_error(400, detail)
    else:
        rejected = _openai_responses_body_error(body)
        if rejected is not None:
            return rejected
    text, tool_output = _responses_turn(body)
    directives, status = _directives(text, sim.take_fault())
    if status is not None:
        return _simulated_status(status)
    turn = _Turn(text=text, tool_output=tool_output, directives=directives, status=status)
    stream = codex or body.get("stream") is True
    empty = stream and ("empty" in directives or (codex and sim.draw(sim.config.empty_output_rate)))
    script = _ResponsesScript(sim=sim, body=body, turn=turn, empty_output=empty)
    steps = script.build()
    if stream:
        return await _serve_script(request, steps, _sse_frame, b"", directives)
    return await _responses_json(request, script, steps)


async def _responses_json(request: web.Request, script: _ResponsesScript, steps: list[Step]) -> web.StreamResponse:
    """Non-stream Responses: the terminal Response object, or the stream's fault acted out on a JSON body."""
    sim = request.app[simulator_key]
    headers = {"x-upstream-id": sim.config.upstream_id}
    directives = script.turn.directives
    if "think" in directives:
        await asyncio.sleep(sim.config.think_seconds)
    if "slow" in directives or "stall" in directives:
        await asyncio.sleep(sim.config.stall_seconds if "stall" in directives else sim.config.slow_interval_seconds)
    if "cut" in directives:
        response = web.StreamResponse(headers={"Content-Type": _JSON_CT, **headers})
        response.content_length = 4096
        await response.prepare(request)
        await response.write(b'{"id": "' + script.response_id.encode())
        if request.transport is not None:
            request.transport.close()
        return response
    if "garbage" in directives:
        return web.Response(body=b"{this is not json", content_type=_JSON_CT, headers=headers)
    terminal = steps[-1]
    assert isinstance(terminal, dict)
    return _json_response(terminal["response"], headers=headers)


async def _post_chat_completions(request: web.Request, *, codex: bool) -> web.StreamResponse:
    if codex:
        # ChatGPT's codex endpoint serves only the Responses API (DESIGN §1: chat requests get 403).
        sim = request.app[simulator_key]
        body, _ = await _read_json(request)
        _record(sim, request, body)
        return _codex_error(403, "Forbidden: this endpoint serves only the Responses API")
    sim, body, early = await _begin(request, codex=False)
    if early is not None:
        return early
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _openai_error(400, "Missing required parameter: 'messages'.", param="messages")
    if not isinstance(body.get("model"), str) or not body["model"]:
        return _openai_error(400, "Missing required parameter: 'model'.", param="model")
    text, tool_output = _chat_turn(body)
    directives, status = _directives(text, sim.take_fault())
    if status is not None:
        return _simulated_status(status)
    turn = _Turn(text=text, tool_output=tool_output, directives=directives, status=status)
    script = _ChatScript(sim=sim, body=body, turn=turn)
    if body.get("stream") is True:
        return await _serve_script(request, script.chunks(), _data_frame, b"data: [DONE]\n\n", directives)
    if "fail" in directives:
        return _openai_error(500, "The model failed to generate a response.")
    if "think" in directives:
        await asyncio.sleep(sim.config.think_seconds)
    if "slow" in directives or "stall" in directives:
        await asyncio.sleep(sim.config.stall_seconds if "stall" in directives else sim.config.slow_interval_seconds)
    if "garbage" in directives:
        return web.Response(body=b"{this is not json", content_type=_JSON_CT)
    if "cut" in directives:
        response = web.StreamResponse(headers={"Content-Type": _JSON_CT})
        response.content_length = 4096
        await response.prepare(request)
        await response.write(b'{"id": "')
        if request.transport is not None:
            request.transport.close()
        return response
    return _json_response(script.completion(), headers={"x-upstream-id": sim.config.upstream_id})


async def _get_models(request: web.Request) -> web.StreamResponse:
    sim = request.app[simulator_key]
    _record(sim, request, None)
    codex = "/codex" in request.path
    if sim.config.require_auth:
        denied = _auth_error(request, codex=codex)
        if denied is not None:
            return denied
    data = [
        {"id": model, "object": "model", "created": 1767225600, "owned_by": "simulator"} for model in sim.config.models
    ]
    return _json_response({"object": "list", "data": data}, headers={"x-upstream-id": sim.config.upstream_id})


async def post_any(request: web.Request) -> web.StreamResponse:
    """``POST {prefix}/responses`` and ``POST {prefix}/chat/completions`` under any prefix."""
    path = request.path.rstrip("/")
    if path.endswith("/responses"):
        return await _post_responses(request, codex="/codex" in path[: -len("/responses")])
    if path.endswith("/chat/completions"):
        return await _post_chat_completions(request, codex="/codex" in path[: -len("/chat/completions")])
    return _openai_error(404, f"Invalid URL (POST {request.path})", code="unknown_url")


async def get_any(request: web.Request) -> web.StreamResponse:
    """``GET {prefix}/models`` under any prefix."""
    if request.path.rstrip("/").endswith("/models"):
        return await _get_models(request)
    return _openai_error(404, f"Invalid URL (GET {request.path})", code="unknown_url")


async def post_sim_faults(request: web.Request) -> web.StreamResponse:
    """Out-of-process fault queue: ``{"fault": "status:503", "count": 2}``."""
    sim = request.app[simulator_key]
    body, ok = await _read_json(request)
    if not ok or not isinstance(body, dict) or not isinstance(body.get("fault"), str):
        return _openai_error(400, 'expected {"fault": "<name>", "count": N}', param="fault")
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool):
        return _openai_error(400, "count must be an integer", param="count")
    try:
        sim.enqueue(body["fault"], count)
    except ValueError as exc:
        return _openai_error(400, str(exc), param="fault")
    return _json_response({"queued": len(sim._faults)})


async def get_sim_requests(request: web.Request) -> web.StreamResponse:
    """Every recorded request, oldest first."""
    return _json_response([recorded.to_json() for recorded in request.app[simulator_key].requests])


async def post_sim_reset(request: web.Request) -> web.StreamResponse:
    """Forget recorded requests and queued faults."""
    request.app[simulator_key].clear()
    return _json_response({"ok": True})


def create_simulator_app(config: SimulatorConfig | None = None) -> web.Application:
    """The simulator as an aiohttp app; its state is ``app[simulator_key]``."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[simulator_key] = Simulator(config or SimulatorConfig())
    app.router.add_routes(
        [
            web.post("/_sim/faults", post_sim_faults, name="sim_faults"),
            web.get("/_sim/requests", get_sim_requests, name="sim_requests"),
            web.post("/_sim/reset", post_sim_reset, name="sim_reset"),
            web.post("/{tail:.*}", post_any, name="post_any"),
            web.get("/{tail:.*}", get_any, name="get_any"),
        ]
    )
    return app


# --------------------------------------------------------------------------------------------------
# Standalone: python -m gateway.simulator


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.simulator",
        description="A local OpenAI Responses / Chat Completions upstream with the ChatGPT codex quirks.",
    )
    parser.add_argument("--listen", type=_host_port, default=("127.0.0.1", 8787), metavar="HOST:PORT")
    parser.add_argument("--empty-output-rate", type=float, default=0.0, metavar="R")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--delta-count", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--no-auth", action="store_true", help="accept requests without credentials")
    parser.add_argument("--no-record", action="store_true", help="do not keep requests (long benchmarks)")
    parser.add_argument("--upstream-id", default="sim")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0.0 <= args.empty_output_rate <= 1.0:
        print("--empty-output-rate must be between 0 and 1", file=sys.stderr)
        return 2
    config = SimulatorConfig(
        empty_output_rate=args.empty_output_rate,
        seed=args.seed,
        delta_count=max(1, args.delta_count),
        latency_seconds=args.latency,
        require_auth=not args.no_auth,
        record_requests=not args.no_record,
        upstream_id=args.upstream_id,
    )
    host, port = args.listen
    print(f"simulator listening on http://{host}:{port} (codex quirks under any path containing /codex)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        web.run_app(create_simulator_app(config), host=host, port=port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
