"""Reverse bridge, stream side: `chat.completion.chunk`s → Responses stream events (pure; no I/O, no clock).

Created per request from the request's `ResponseFrame`; not thread-safe. The gateway decodes upstream bytes
with `gateway.sse.SSEDecoder`, passes each event's data to `feed_data` (or parsed chunks to `feed`), writes
every returned event (`gateway.sse.encode_event(data, event=event["type"])`), and calls `finish()` at
upstream EOF. Every event carries `sequence_number`, counting from 0.

The event sequence is the one the OpenAI API sends and Responses clients (the `openai` SDK's stream
accumulator, Codex CLI, the Agents SDK) rely on:

* `response.created`, `response.in_progress` (status `in_progress`, no output) before anything else;
* per output item: `response.output_item.added`, its content events, `response.output_item.done` with the
  finished item. Reasoning text (`reasoning_content` / `reasoning` deltas) is one `reasoning` item with one
  summary part (`reasoning_summary_part.added`, `reasoning_summary_text.delta`…`.done`,
  `reasoning_summary_part.done`); text is a `message` item with an `output_text` part
  (`content_part.added`, `output_text.delta`…`.done`, `content_part.done`), a refusal a `refusal` part;
  each chat tool call a `function_call` item (`function_call_arguments.delta`…`.done`) or, for a custom
  tool, a `custom_tool_call` item whose input (decoded from the chat arguments at the end) is sent as one
  `custom_tool_call_input.delta` and `.done`;
* `response.completed` (or `response.incomplete` for `length` / `content_filter`) carrying the whole Response:
  the same object `responses_chat.response_from_chat_completion` builds for a non-streaming caller.

A reasoning or message item ends when an item of another kind starts; tool calls stay open until the finish
reason, since chat backends may interleave their argument deltas (keyed by the chat `index`). A call is
announced once its name is known. The terminal event is sent on the usage-only chunk that follows the finish
reason, on `[DONE]`, or at EOF after the finish reason (the usage is then whatever arrived, or null).

Failures end the stream with one `response.failed` whose `response.error` carries the upstream's code (or,
when it gave none, `rate_limit_exceeded` / `invalid_prompt` / `server_error` by status) and message:
an upstream error frame, an unparseable frame, EOF before any finish reason (502-class), or a failure the
gateway met reading the upstream (a stall, a broken connection), passed to `fail`. `started` says
whether anything beyond the prelude was sent, so the gateway can still answer a plain HTTP error instead.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.bridge import errors, usage
from gateway.bridge.responses_chat import (
    ResponseFrame,
    message_item,
    output_status,
    reasoning_item,
    reasoning_text,
    refusal_part,
    response_annotation,
    service_tier_of,
    text_part,
    usage_from_chat,
)
from gateway.bridge.responses_chat_tools import ToolName, call_item, custom_input
from gateway.schemas.responses import EventType

__all__ = ["ChatToResponsesStream", "response_error"]

_PRELUDE: frozenset[str] = frozenset({"response.created", "response.in_progress"})


def response_error(error: errors.ChatError) -> dict[str, str]:
    """`Response.error` for a failure: the upstream's code when it gave one (clients such as Codex CLI read
    `context_length_exceeded`, `insufficient_quota`, ...), else a code the Responses API defines, by status."""
    code = error.code
    if code is None:
        code = (
            "rate_limit_exceeded" if error.status == 429 else "invalid_prompt" if error.status < 500 else "server_error"
        )
    return {"code": code, "message": error.message}


def _bad_frame_error() -> errors.ChatError:
    return errors.ChatError(
        502, "The upstream sent a stream event that is not a JSON object.", "server_error", None, None
    )


class _Reasoning:
    __slots__ = ("closed", "id", "index", "text")

    def __init__(self, index: int, item_id: str) -> None:
        self.index = index
        self.id = item_id
        self.text = ""
        self.closed: str | None = None
        """The status the item was closed with (None while open)."""

    def final(self, status: str) -> dict[str, Any]:
        return reasoning_item(self.id, self.text, status)


class _Part:
    __slots__ = ("annotations", "kind", "text")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.text = ""
        self.annotations: list[dict[str, Any]] = []

    def final(self) -> dict[str, Any]:
        return text_part(self.text, list(self.annotations)) if self.kind == "output_text" else refusal_part(self.text)


class _Message:
    __slots__ = ("closed", "id", "index", "parts")

    def __init__(self, index: int, item_id: str) -> None:
        self.index = index
        self.id = item_id
        self.parts: list[_Part] = []
        self.closed: str | None = None
        """The status the item was closed with (None while open)."""

    def part(self, kind: str) -> tuple[int, _Part, bool]:
        """(content index, part, whether it is new) for the message's part of `kind`."""
        for content_index, part in enumerate(self.parts):
            if part.kind == kind:
                return content_index, part, False
        self.parts.append(_Part(kind))
        return len(self.parts) - 1, self.parts[-1], True

    def final(self, status: str) -> dict[str, Any]:
        return message_item(self.id, [part.final() for part in self.parts], status)


class _Call:
    __slots__ = ("arguments", "call_id", "chat_index", "closed", "id", "index", "name", "tool")

    def __init__(self, chat_index: int) -> None:
        self.chat_index = chat_index
        self.index = -1
        self.id = ""
        self.call_id = ""
        self.name = ""
        self.arguments = ""
        self.tool: ToolName | None = None
        self.closed: str | None = None
        """The status the item was closed with (None while open)."""

    @property
    def announced(self) -> bool:
        return self.tool is not None

    def final(self, status: str) -> dict[str, Any]:
        assert self.tool is not None
        return call_item(self.tool, item_id=self.id, call_id=self.call_id, arguments=self.arguments, status=status)


_Item = _Reasoning | _Message | _Call


class ChatToResponsesStream:
    """Per-stream state machine: `feed(chunk) -> events`, `feed_data(data) -> events`, `finish() -> events`."""

    __slots__ = (
        "_calls",
        "_done",
        "_error",
        "_finish_reason",
        "_frame",
        "_items",
        "_message",
        "_opened",
        "_reasoning",
        "_response",
        "_sequence",
        "_started",
        "_tier",
        "_usage",
    )

    def __init__(self, frame: ResponseFrame) -> None:
        self._frame = frame
        self._sequence = 0
        self._opened = False
        self._started = False
        self._done = False
        self._error: errors.ChatError | None = None
        self._response: dict[str, Any] | None = None
        self._usage: dict[str, Any] | None = None
        self._tier: str | None = None
        self._finish_reason: str | None = None
        self._items: list[_Item] = []
        self._reasoning: _Reasoning | None = None
        self._message: _Message | None = None
        self._calls: dict[int, _Call] = {}

    # ---- public surface ------------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """An event beyond `response.created` / `response.in_progress` has been produced (not counting a failure)."""
        return self._started

    @property
    def done(self) -> bool:
        """The terminal event has been produced; further input is ignored."""
        return self._done

    @property
    def error(self) -> errors.ChatError | None:
        """The failure the stream ended with (also the plain HTTP error to answer when not `started`)."""
        return self._error

    @property
    def response(self) -> dict[str, Any] | None:
        """The final Response (completed or incomplete), once sent."""
        return self._response

    @property
    def usage(self) -> dict[str, Any] | None:
        """Chat-shaped usage as the upstream reported it, for the gateway's token metrics."""
        return usage.usage_to_chat(usage_from_chat(self._usage))

    def feed_data(self, data: str) -> list[dict[str, Any]]:
        """One upstream SSE `data` payload: a chunk, `[DONE]`, or garbage (which fails the stream)."""
        if self._done:
            return []
        if data == "[DONE]":
            out: list[dict[str, Any]] = []
            self._open(out)
            if self._finish_reason is None:
                self._finish(out, "stop")
            self._complete(out)
            return out
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            chunk = None
        if not isinstance(chunk, dict):
            out = []
            self._open(out)
            self._fail(out, _bad_frame_error())
            return out
        return self.feed(chunk)

    def feed(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        """Events for one parsed upstream chunk."""
        if self._done:
            return []
        out: list[dict[str, Any]] = []
        self._open(out)
        if chunk.get("error"):
            self._fail(out, errors.error_from_event(chunk))
            return out
        chunk_usage = chunk.get("usage")
        if isinstance(chunk_usage, dict):
            self._usage = chunk_usage
        tier = service_tier_of(chunk)
        if tier is not None:
            self._tier = tier
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if not isinstance(choice, dict) or choice.get("index", 0) != 0 or self._finish_reason is not None:
                    continue
                delta = choice.get("delta")
                if isinstance(delta, dict):
                    self._delta(out, delta)
                reason = choice.get("finish_reason")
                if isinstance(reason, str) and reason:
                    self._finish(out, reason)
        if self._finish_reason is not None and not choices and isinstance(chunk_usage, dict):
            self._complete(out)
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Call at upstream EOF: complete after a finish reason, else fail as truncated (502-class)."""
        if self._done:
            return []
        out: list[dict[str, Any]] = []
        self._open(out)
        if self._finish_reason is None:
            self._fail(out, errors.stream_truncated_error())
        else:
            self._complete(out)
        return out

    def fail(self, error: errors.ChatError) -> list[dict[str, Any]]:
        """End the stream with `error` (an upstream that stalled or broke off mid-stream, as the gateway saw it):
        one `response.failed`, like a failure the chunks themselves carried."""
        if self._done:
            return []
        out: list[dict[str, Any]] = []
        self._open(out)
        self._fail(out, error)
        return out

    # ---- events --------------------------------------------------------------------------------------------

    def _emit(self, out: list[dict[str, Any]], kind: EventType, **fields: Any) -> None:
        out.append({"type": kind, "sequence_number": self._sequence, **fields})
        self._sequence += 1
        if kind not in _PRELUDE:
            self._started = True

    def _open(self, out: list[dict[str, Any]]) -> None:
        if self._opened:
            return
        self._opened = True
        self._emit(out, "response.created", response=self._frame.response(status="in_progress", output=[]))
        self._emit(out, "response.in_progress", response=self._frame.response(status="in_progress", output=[]))

    def _complete(self, out: list[dict[str, Any]]) -> None:
        status, details = output_status(self._finish_reason)
        response = self._frame.response(
            status=status,
            output=self._output(status),
            usage=usage_from_chat(self._usage),
            incomplete_details=details,
            service_tier=self._tier,
        )
        self._response = response
        self._done = True
        self._emit(out, "response.incomplete" if status == "incomplete" else "response.completed", response=response)

    def _fail(self, out: list[dict[str, Any]], error: errors.ChatError) -> None:
        started = self._started
        self._error = error
        self._done = True
        response = self._frame.response(
            status="failed", output=self._output("incomplete"), error=response_error(error), service_tier=self._tier
        )
        self._emit(out, "response.failed", response=response)
        self._started = started

    def _output(self, status: str) -> list[dict[str, Any]]:
        """The items so far, each with the status it was closed with; one still open (a failure cut it short)
        is given `status`."""
        return [item.final(item.closed or status) for item in self._items if _announced(item)]

    # ---- deltas --------------------------------------------------------------------------------------------

    def _delta(self, out: list[dict[str, Any]], delta: dict[str, Any]) -> None:
        reasoning = reasoning_text(delta)
        if reasoning:
            self._reasoning_delta(out, reasoning)
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._part_delta(out, "output_text", content)
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self._part_delta(out, "refusal", refusal)
        annotations = delta.get("annotations")
        if isinstance(annotations, list):
            for annotation in annotations:
                converted = response_annotation(annotation)
                if converted is not None:
                    self._annotation(out, converted)
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for entry in calls:
                if isinstance(entry, dict):
                    self._call_delta(out, entry)

    def _new_index(self) -> int:
        return len(self._items)

    def _reasoning_delta(self, out: list[dict[str, Any]], text: str) -> None:
        item = self._reasoning
        if item is None:
            self._close_message(out, "completed")
            index = self._new_index()
            item = self._reasoning = _Reasoning(index, self._frame.item_id("reasoning", index))
            self._items.append(item)
            self._emit(
                out,
                "response.output_item.added",
                output_index=index,
                item={"type": "reasoning", "id": item.id, "summary": [], "status": "in_progress"},
            )
            self._emit(
                out,
                "response.reasoning_summary_part.added",
                item_id=item.id,
                output_index=index,
                summary_index=0,
                part={"type": "summary_text", "text": ""},
            )
        item.text += text
        self._emit(
            out,
            "response.reasoning_summary_text.delta",
            item_id=item.id,
            output_index=item.index,
            summary_index=0,
            delta=text,
        )

    def _open_message(self, out: list[dict[str, Any]]) -> _Message:
        message = self._message
        if message is None:
            self._close_reasoning(out, "completed")
            index = self._new_index()
            message = self._message = _Message(index, self._frame.item_id("message", index))
            self._items.append(message)
            self._emit(
                out, "response.output_item.added", output_index=index, item=message_item(message.id, [], "in_progress")
            )
        return message

    def _open_part(self, out: list[dict[str, Any]], kind: str) -> tuple[_Message, int, _Part]:
        message = self._open_message(out)
        content_index, part, new = message.part(kind)
        if new:
            empty = text_part("", []) if kind == "output_text" else refusal_part("")
            self._emit(
                out,
                "response.content_part.added",
                item_id=message.id,
                output_index=message.index,
                content_index=content_index,
                part=empty,
            )
        return message, content_index, part

    def _part_delta(self, out: list[dict[str, Any]], kind: str, text: str) -> None:
        message, content_index, part = self._open_part(out, kind)
        part.text += text
        where = {"item_id": message.id, "output_index": message.index, "content_index": content_index}
        if kind == "output_text":
            self._emit(out, "response.output_text.delta", **where, delta=text, logprobs=[])
        else:
            self._emit(out, "response.refusal.delta", **where, delta=text)

    def _annotation(self, out: list[dict[str, Any]], annotation: dict[str, Any]) -> None:
        message, content_index, part = self._open_part(out, "output_text")
        part.annotations.append(annotation)
        self._emit(
            out,
            "response.output_text.annotation.added",
            item_id=message.id,
            output_index=message.index,
            content_index=content_index,
            annotation_index=len(part.annotations) - 1,
            annotation=annotation,
        )

    def _call_for(self, entry: dict[str, Any]) -> _Call:
        """The call a tool-call delta belongs to: by chat `index`; without one, by id (a new id is a new call),
        else the latest call (a continuation)."""
        chat_index = entry.get("index")
        if type(chat_index) is not int:
            call_id = entry.get("id")
            if isinstance(call_id, str) and call_id:
                for known in self._calls.values():
                    if known.call_id == call_id:
                        return known
                chat_index = max(self._calls, default=-1) + 1
            elif self._calls:
                return self._calls[max(self._calls)]
            else:
                chat_index = 0
        found = self._calls.get(chat_index)
        if found is None:
            found = self._calls[chat_index] = _Call(chat_index)
        return found

    def _call_delta(self, out: list[dict[str, Any]], entry: dict[str, Any]) -> None:
        call = self._call_for(entry)
        call_id = entry.get("id")
        if isinstance(call_id, str) and call_id and not call.call_id:
            call.call_id = call_id
        function = entry.get("function")
        if not isinstance(function, dict):
            return
        name = function.get("name")
        if isinstance(name, str) and name and not call.name:
            call.name = name
        arguments = function.get("arguments")
        if not call.announced:
            if isinstance(arguments, str):
                call.arguments += arguments
            if call.name:
                self._announce(out, call)
            return
        if isinstance(arguments, str) and arguments:
            call.arguments += arguments
            self._arguments_delta(out, call, arguments)

    def _announce(self, out: list[dict[str, Any]], call: _Call) -> None:
        self._close_reasoning(out, "completed")
        self._close_message(out, "completed")
        index = self._new_index()
        tool = self._frame.tools.resolve(call.name)
        kind = "custom_tool_call" if tool.kind == "custom" else "function_call"
        call.index = index
        call.tool = tool
        call.id = self._frame.item_id(kind, index)
        call.call_id = call.call_id or self._frame.call_id(call.chat_index)
        self._items.append(call)
        added = call_item(tool, item_id=call.id, call_id=call.call_id, arguments="", status="in_progress")
        self._emit(out, "response.output_item.added", output_index=index, item=added)
        if call.arguments:
            self._arguments_delta(out, call, call.arguments)

    def _arguments_delta(self, out: list[dict[str, Any]], call: _Call, text: str) -> None:
        if call.tool is not None and call.tool.kind == "function":
            self._emit(
                out, "response.function_call_arguments.delta", item_id=call.id, output_index=call.index, delta=text
            )

    # ---- closing -------------------------------------------------------------------------------------------

    def _close_reasoning(self, out: list[dict[str, Any]], status: str) -> None:
        item = self._reasoning
        if item is None:
            return
        self._reasoning = None
        item.closed = status
        where = {"item_id": item.id, "output_index": item.index, "summary_index": 0}
        self._emit(out, "response.reasoning_summary_text.done", **where, text=item.text)
        self._emit(
            out, "response.reasoning_summary_part.done", **where, part={"type": "summary_text", "text": item.text}
        )
        self._emit(out, "response.output_item.done", output_index=item.index, item=item.final(status))

    def _close_message(self, out: list[dict[str, Any]], status: str) -> None:
        message = self._message
        if message is None:
            return
        self._message = None
        message.closed = status
        for content_index, part in enumerate(message.parts):
            where = {"item_id": message.id, "output_index": message.index, "content_index": content_index}
            if part.kind == "output_text":
                self._emit(out, "response.output_text.done", **where, text=part.text, logprobs=[])
            else:
                self._emit(out, "response.refusal.done", **where, refusal=part.text)
            self._emit(out, "response.content_part.done", **where, part=part.final())
        self._emit(out, "response.output_item.done", output_index=message.index, item=message.final(status))

    def _close_call(self, out: list[dict[str, Any]], call: _Call, status: str) -> None:
        call.closed = status
        where = {"item_id": call.id, "output_index": call.index}
        if call.tool is not None and call.tool.kind == "custom":
            value = custom_input(call.arguments)
            if value:
                self._emit(out, "response.custom_tool_call_input.delta", **where, delta=value)
            self._emit(out, "response.custom_tool_call_input.done", **where, input=value)
        else:
            self._emit(out, "response.function_call_arguments.done", **where, arguments=call.arguments)
        self._emit(out, "response.output_item.done", output_index=call.index, item=call.final(status))

    def _finish(self, out: list[dict[str, Any]], reason: str) -> None:
        """The finish reason closes every open item, in output order; an incomplete answer's last item is
        `incomplete`. An answer with no item at all gets one empty message, as the non-stream mapping does."""
        self._finish_reason = reason
        for chat_index in sorted(self._calls):
            call = self._calls[chat_index]
            if not call.announced:
                self._announce(out, call)
        if not self._items:
            self._open_part(out, "output_text")
        status, _ = output_status(reason)
        last = len(self._items) - 1
        for item in list(self._items):
            if item.closed:
                continue
            item_status = status if item.index == last else "completed"
            if isinstance(item, _Reasoning):
                self._close_reasoning(out, item_status)
            elif isinstance(item, _Message):
                self._close_message(out, item_status)
            else:
                self._close_call(out, item, item_status)


def _announced(item: _Item) -> bool:
    return not isinstance(item, _Call) or item.announced
