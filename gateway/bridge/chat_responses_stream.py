"""Streaming translation: upstream Responses events → `chat.completion.chunk` dicts (spec §3).

Created per request and not thread-safe. The gateway decodes upstream bytes with `gateway.sse.SSEDecoder`,
parses each event's JSON (`events.parse_event_data`), calls `feed(event)` and writes every returned dict with
`gateway.sse.encode_json_frame`, then calls `finish()` at upstream EOF and writes `DONE_FRAME` once.

Rules kept here, in one place:

* The role chunk is deferred until the first chunk that carries something (content, refusal, reasoning, a tool
  call, or the finish chunk), so a failure before any output can still become a plain HTTP error; `started`
  says whether such a chunk was produced.
* Text, refusal and reasoning are tracked per (output_index, content/summary index) as *what we sent*; done
  events (`output_text.done`, `content_part.done`, `refusal.done`, `output_item.done`, and the terminal
  `response.output`) only emit the missing suffix (`unsent_suffix`, the same for text, refusal, reasoning and
  tool arguments), so text that arrives only in done events is still delivered. Items of the terminal
  `response.output` are matched to what was streamed by item id (`OutputCollector.terminal_indices`), by list
  position only without a known id, so a terminal output that omits an item does not re-send the next one.
  Output items without `output_index` take the index the collector resolved for them.
* Tool calls are keyed by output index (or `item_id`), get a sequential chat `index` in order of first
  appearance, and are announced (id + name) exactly once: on `output_item.added`, else on `output_item.done`,
  else at the terminal event with what the argument events told us.
* The finish reason comes from what we observed (announced calls ⇒ `tool_calls`), never from
  `response.output` (empty on codex); `response.incomplete` maps to `length` / `content_filter`.
* Unknown event types produce nothing; there is no prefix matching on type names.
* Separators: `"\\n\\n"` (own chunk) before each further reasoning summary part, and before the text of a
  further message item that carries a codex `phase` (commentary, then final answer). `chat_responses` applies
  the same rules to non-stream answers, so both deliver identical text.
* `response.failed` / `error` produce one `{"error": …}` frame (see `ChatError.body`), no finish chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.bridge import errors, usage
from gateway.bridge.chat_responses import chat_annotation, created_from, finish_reason_for, reasoning_item_for_replay
from gateway.bridge.recovery import NOT_NEEDED, OutputCollector, RecoveryOutcome

__all__ = ["ResponsesToChatStream", "unsent_suffix"]

_SEPARATOR = "\n\n"


def unsent_suffix(full: str, sent: str) -> str:
    """What ``full`` adds to what was already ``sent``: empty when nothing is new, or when ``full`` does not
    continue ``sent`` (a done event that disagrees with the deltas never rewrites what the client has)."""
    if len(full) > len(sent) and full.startswith(sent):
        return full[len(sent) :]
    return ""


Handler = Callable[["ResponsesToChatStream", dict[str, Any]], list[dict[str, Any]]]


class _Call:
    """One tool call as the chat caller sees it."""

    __slots__ = ("announced", "call_id", "index", "kind", "name", "sent")

    def __init__(self) -> None:
        self.index = -1
        self.announced = False
        self.call_id = ""
        self.name = ""
        self.kind = "function_call"
        self.sent = ""
        """Arguments sent so far (before announcement: arguments collected so far)."""


class ResponsesToChatStream:
    """Per-stream state machine: `feed(event) -> chunks`, `finish() -> chunks` at upstream EOF."""

    __slots__ = (
        "_ann_sent",
        "_calls",
        "_collector",
        "_content_len",
        "_created",
        "_done",
        "_error",
        "_finish_reason",
        "_id",
        "_include_usage",
        "_last_reasoning",
        "_last_text_item",
        "_model",
        "_next_index",
        "_part_start",
        "_phases",
        "_reasoning_sent",
        "_recovery",
        "_refusal_sent",
        "_replay",
        "_role_sent",
        "_started",
        "_summarised",
        "_text_sent",
        "_usage",
    )

    def __init__(self, *, model: str, include_usage: bool, fallback_id: str = "resp_unknown", created: int = 0) -> None:
        """``created``: the `created` of every chunk when the upstream sends no `created_at` (the gateway passes
        the time it received the request, as for the non-stream answer)."""
        self._model = model
        self._include_usage = include_usage
        self._id = fallback_id
        self._created = created
        self._collector = OutputCollector()
        self._role_sent = False
        self._started = False
        self._done = False
        self._error: errors.ChatError | None = None
        self._recovery = NOT_NEEDED
        self._usage: dict[str, Any] | None = None
        self._finish_reason: str | None = None
        self._text_sent: dict[tuple[int, int], str] = {}
        self._refusal_sent: dict[tuple[int, int], str] = {}
        self._reasoning_sent: dict[tuple[int, int, int], str] = {}
        self._ann_sent: dict[tuple[int, int], int] = {}
        self._part_start: dict[tuple[int, int], int] = {}
        self._content_len = 0
        self._last_text_item: int | None = None
        self._last_reasoning: tuple[int, int, int] | None = None
        self._summarised: set[int] = set()
        self._phases: dict[int, str] = {}
        self._replay: dict[int, dict[str, Any]] = {}
        self._calls: dict[int, _Call] = {}
        self._next_index = 0

    # ---- public surface ------------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """A content-bearing chunk (content, refusal, reasoning or tool call) has been produced."""
        return self._started

    @property
    def done(self) -> bool:
        """A terminal event (or an error) has been seen; further events are ignored."""
        return self._done

    @property
    def error(self) -> errors.ChatError | None:
        return self._error

    @property
    def recovery(self) -> RecoveryOutcome:
        return self._recovery

    @property
    def usage(self) -> dict[str, Any] | None:
        """Chat-shaped usage from the terminal event."""
        return self._usage

    @property
    def finish_reason(self) -> str | None:
        return self._finish_reason

    @property
    def reasoning_items(self) -> list[dict[str, Any]]:
        """Reasoning items for replay (encrypted content), in output order; chat deltas have no field for them."""
        return [self._replay[index] for index in sorted(self._replay)]

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Chunks (or one final `{"error": …}` frame) for one parsed upstream event."""
        if self._done:
            return []
        kind = event.get("type")
        handler = _DISPATCH.get(kind) if isinstance(kind, str) else None
        if handler is None:
            if kind is None and isinstance(event.get("error"), dict):
                return self._failed(event)
            return []
        self._collector.feed(event)
        return handler(self, event)

    def finish(self) -> list[dict[str, Any]]:
        """Call at upstream EOF: without a terminal event the stream was truncated (502-class error frame)."""
        if self._done:
            return []
        return self._fail(errors.stream_truncated_error())

    # ---- chunk building ------------------------------------------------------------------------------------

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if self._include_usage:
            chunk["usage"] = None
        return chunk

    def _emit(self, out: list[dict[str, Any]], delta: dict[str, Any]) -> None:
        if not self._role_sent:
            self._role_sent = True
            out.append(self._chunk({"role": "assistant", "content": "", "refusal": None}))
        self._started = True
        out.append(self._chunk(delta))

    # ---- lifecycle -----------------------------------------------------------------------------------------

    def _lifecycle(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        self._adopt_envelope(event.get("response"))
        return []

    def _adopt_envelope(self, response: object) -> None:
        if not isinstance(response, dict) or self._role_sent:
            return
        response_id = response.get("id")
        if isinstance(response_id, str) and response_id:
            self._id = response_id
        created = created_from(response.get("created_at"))
        if created is not None:
            self._created = created

    def _terminal(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        response = event.get("response")
        if not isinstance(response, dict):
            response = {"status": "incomplete" if event.get("type") == "response.incomplete" else "completed"}
        self._adopt_envelope(response)
        out: list[dict[str, Any]] = []
        output = response.get("output")
        _, self._recovery = self._collector.outcome_for(output)
        if isinstance(output, list):
            for index, item in zip(self._collector.terminal_indices(output), output, strict=True):
                if isinstance(item, dict):
                    out.extend(self._reconcile_item(index, item))
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call.announced:
                self._announce(out, index, call, {})
        self._finish_reason = finish_reason_for(response, has_tool_calls=bool(self._calls))
        if not self._role_sent:
            self._role_sent = True
            out.append(self._chunk({"role": "assistant", "content": "", "refusal": None}))
        out.append(self._chunk({}, self._finish_reason))
        self._usage = usage.usage_to_chat(response.get("usage"))
        if self._include_usage:
            # `usage: null` when the upstream reported none, as the non-stream answer then has no usage: a
            # chunk of zeros would tell the caller the request cost nothing.
            out.append(
                {
                    "id": self._id,
                    "object": "chat.completion.chunk",
                    "created": self._created,
                    "model": self._model,
                    "choices": [],
                    "usage": self._usage,
                }
            )
        self._done = True
        return out

    def _failed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return self._fail(errors.error_from_event(event))

    def _fail(self, error: errors.ChatError) -> list[dict[str, Any]]:
        self._error = error
        self._done = True
        return [error.body()]

    # ---- items ---------------------------------------------------------------------------------------------

    def _item_added(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        item = event.get("item")
        if not isinstance(item, dict):
            return []
        index = self._collector.item_index
        kind = item.get("type")
        if kind in ("function_call", "custom_tool_call"):
            call = self._calls.get(index)
            if call is None:
                call = self._calls[index] = _Call()
            if not call.announced:
                out: list[dict[str, Any]] = []
                self._announce(out, index, call, item)
                return out
        elif kind == "message":
            phase = item.get("phase")
            if isinstance(phase, str):
                self._phases[index] = phase
        return []

    def _item_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        item = event.get("item")
        if not isinstance(item, dict):
            return []
        return self._reconcile_item(self._collector.item_index, item)

    def _reconcile_item(self, index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
        """Emit whatever a complete item holds that we have not sent yet."""
        kind = item.get("type")
        out: list[dict[str, Any]] = []
        if kind == "message":
            phase = item.get("phase")
            if isinstance(phase, str):
                self._phases.setdefault(index, phase)
            content = item.get("content")
            if isinstance(content, list):
                for ci, part in enumerate(content):
                    if not isinstance(part, dict):
                        continue
                    part_type = part.get("type")
                    if part_type == "output_text":
                        text = part.get("text")
                        if isinstance(text, str):
                            self._sync_text(out, (index, ci), text)
                        annotations = part.get("annotations")
                        if isinstance(annotations, list):
                            self._sync_annotations(out, (index, ci), annotations)
                    elif part_type == "refusal":
                        refusal = part.get("refusal")
                        if isinstance(refusal, str):
                            self._sync_refusal(out, (index, ci), refusal)
        elif kind in ("function_call", "custom_tool_call"):
            call = self._calls.get(index)
            if call is None:
                call = self._calls[index] = _Call()
            final = item.get("arguments") if kind == "function_call" else item.get("input")
            if not call.announced:
                if isinstance(final, str) and final:
                    call.sent = final
                self._announce(out, index, call, item)
            elif isinstance(final, str):
                self._sync_args(out, call, final)
        elif kind == "reasoning":
            if isinstance(item.get("encrypted_content"), str):
                self._replay[index] = reasoning_item_for_replay(item)
            summary = item.get("summary")
            texts = [p.get("text") for p in summary if isinstance(p, dict)] if isinstance(summary, list) else []
            if any(isinstance(text, str) and text for text in texts):
                for si, text in enumerate(texts):
                    if isinstance(text, str):
                        self._sync_reasoning(out, (index, 0, si), text)
            elif index not in self._summarised:
                content = item.get("content")
                if isinstance(content, list):
                    for ci, part in enumerate(content):
                        if isinstance(part, dict) and isinstance(part.get("text"), str):
                            self._sync_reasoning(out, (index, 1, ci), part["text"])
        return out

    # ---- text and refusal ----------------------------------------------------------------------------------

    def _text_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        key = self._key(event)
        out: list[dict[str, Any]] = []
        self._send_text(out, key, delta)
        return out

    def _text_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        text = event.get("text")
        if not isinstance(text, str):
            return []
        out: list[dict[str, Any]] = []
        self._sync_text(out, self._key(event), text)
        return out

    def _part_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        part = event.get("part")
        if not isinstance(part, dict):
            return []
        out: list[dict[str, Any]] = []
        kind = part.get("type")
        if kind == "output_text" and isinstance(part.get("text"), str):
            self._sync_text(out, self._key(event), part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            self._sync_refusal(out, self._key(event), part["refusal"])
        return out

    def _key(self, event: dict[str, Any], field: str = "content_index") -> tuple[int, int]:
        index = event.get("output_index")
        sub = event.get(field)
        return (
            index if type(index) is int else self._collector.index_of(event),
            sub if type(sub) is int else 0,
        )

    def _send_text(self, out: list[dict[str, Any]], key: tuple[int, int], text: str) -> None:
        sent = self._text_sent.get(key)
        if sent is None:
            item = key[0]
            if self._last_text_item != item:
                if self._content_len and item in self._phases:
                    self._emit(out, {"content": _SEPARATOR})
                    self._content_len += len(_SEPARATOR)
                self._last_text_item = item
            self._part_start[key] = self._content_len
            sent = ""
        self._text_sent[key] = sent + text
        self._content_len += len(text)
        self._emit(out, {"content": text})

    def _sync_text(self, out: list[dict[str, Any]], key: tuple[int, int], text: str) -> None:
        suffix = unsent_suffix(text, self._text_sent.get(key, ""))
        if suffix:
            self._send_text(out, key, suffix)

    def _annotation(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        annotation = event.get("annotation")
        if not isinstance(annotation, dict):
            return []
        key = self._key(event)
        self._ann_sent[key] = self._ann_sent.get(key, 0) + 1
        converted = chat_annotation(annotation, self._part_start.get(key, self._content_len))
        if converted is None:
            return []
        out: list[dict[str, Any]] = []
        self._emit(out, {"annotations": [converted]})
        return out

    def _sync_annotations(self, out: list[dict[str, Any]], key: tuple[int, int], annotations: list[Any]) -> None:
        sent = self._ann_sent.get(key, 0)
        if len(annotations) <= sent:
            return
        self._ann_sent[key] = len(annotations)
        offset = self._part_start.get(key, self._content_len)
        converted = [
            found
            for annotation in annotations[sent:]
            if isinstance(annotation, dict) and (found := chat_annotation(annotation, offset)) is not None
        ]
        if converted:
            self._emit(out, {"annotations": converted})

    def _refusal_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        out: list[dict[str, Any]] = []
        self._send_refusal(out, self._key(event), delta)
        return out

    def _refusal_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        refusal = event.get("refusal")
        if not isinstance(refusal, str):
            return []
        out: list[dict[str, Any]] = []
        self._sync_refusal(out, self._key(event), refusal)
        return out

    def _send_refusal(self, out: list[dict[str, Any]], key: tuple[int, int], text: str) -> None:
        self._refusal_sent[key] = self._refusal_sent.get(key, "") + text
        self._emit(out, {"refusal": text})

    def _sync_refusal(self, out: list[dict[str, Any]], key: tuple[int, int], refusal: str) -> None:
        suffix = unsent_suffix(refusal, self._refusal_sent.get(key, ""))
        if suffix:
            self._send_refusal(out, key, suffix)

    # ---- reasoning -----------------------------------------------------------------------------------------

    def _summary_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        index, si = self._key(event, "summary_index")
        self._summarised.add(index)
        out: list[dict[str, Any]] = []
        self._send_reasoning(out, (index, 0, si), delta)
        return out

    def _summary_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        text = event.get("text")
        if not isinstance(text, str):
            return []
        index, si = self._key(event, "summary_index")
        if text:
            self._summarised.add(index)
        out: list[dict[str, Any]] = []
        self._sync_reasoning(out, (index, 0, si), text)
        return out

    def _thinking_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        index, ci = self._key(event)
        if index in self._summarised:
            return []
        out: list[dict[str, Any]] = []
        self._send_reasoning(out, (index, 1, ci), delta)
        return out

    def _thinking_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        text = event.get("text")
        if not isinstance(text, str):
            return []
        index, ci = self._key(event)
        if index in self._summarised:
            return []
        out: list[dict[str, Any]] = []
        self._sync_reasoning(out, (index, 1, ci), text)
        return out

    def _send_reasoning(self, out: list[dict[str, Any]], key: tuple[int, int, int], text: str) -> None:
        sent = self._reasoning_sent.get(key)
        if sent is None:
            if self._last_reasoning is not None:
                self._emit(out, {"reasoning_content": _SEPARATOR})
            self._last_reasoning = key
            sent = ""
        self._reasoning_sent[key] = sent + text
        self._emit(out, {"reasoning_content": text})

    def _sync_reasoning(self, out: list[dict[str, Any]], key: tuple[int, int, int], text: str) -> None:
        suffix = unsent_suffix(text, self._reasoning_sent.get(key, ""))
        if suffix:
            self._send_reasoning(out, key, suffix)

    # ---- tool calls ----------------------------------------------------------------------------------------

    def _call_for(self, event: dict[str, Any]) -> tuple[int, _Call]:
        index = event.get("output_index")
        if type(index) is not int:
            index = self._collector.index_of(event)
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = _Call()
        return index, call

    def _args_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        _, call = self._call_for(event)
        call.sent += delta
        if not call.announced:
            return []
        out: list[dict[str, Any]] = []
        self._emit(out, {"tool_calls": [{"index": call.index, "function": {"arguments": delta}}]})
        return out

    def _args_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return self._final_args(event, event.get("arguments"))

    def _input_done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return self._final_args(event, event.get("input"))

    def _final_args(self, event: dict[str, Any], final: object) -> list[dict[str, Any]]:
        if not isinstance(final, str):
            return []
        _, call = self._call_for(event)
        if not call.announced:
            call.sent = final
            name = event.get("name")
            if isinstance(name, str) and name:
                call.name = name
            return []
        out: list[dict[str, Any]] = []
        self._sync_args(out, call, final)
        return out

    def _sync_args(self, out: list[dict[str, Any]], call: _Call, final: str) -> None:
        suffix = unsent_suffix(final, call.sent)
        if suffix:
            call.sent = final
            self._emit(out, {"tool_calls": [{"index": call.index, "function": {"arguments": suffix}}]})

    def _announce(self, out: list[dict[str, Any]], index: int, call: _Call, item: dict[str, Any]) -> None:
        """First chunk of a call: chat id (= Responses `call_id`), name, and any arguments known so far."""
        call.announced = True
        call.index = self._next_index
        self._next_index += 1
        item_id = item.get("id") or self._collector.item_id(index) or f"fc_{index}"
        call.call_id = str(item.get("call_id") or item_id)
        call.name = str(item.get("name") or call.name)
        if not call.sent:
            initial = item.get("arguments") if item.get("type") != "custom_tool_call" else item.get("input")
            if isinstance(initial, str):
                call.sent = initial
        self._emit(
            out,
            {
                "tool_calls": [
                    {
                        "index": call.index,
                        "id": call.call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.sent},
                    }
                ]
            },
        )


_DISPATCH: dict[str, Handler] = {
    "response.created": ResponsesToChatStream._lifecycle,
    "response.in_progress": ResponsesToChatStream._lifecycle,
    "response.queued": ResponsesToChatStream._lifecycle,
    "response.output_item.added": ResponsesToChatStream._item_added,
    "response.output_item.done": ResponsesToChatStream._item_done,
    "response.content_part.done": ResponsesToChatStream._part_done,
    "response.output_text.delta": ResponsesToChatStream._text_delta,
    "response.output_text.done": ResponsesToChatStream._text_done,
    "response.output_text.annotation.added": ResponsesToChatStream._annotation,
    "response.refusal.delta": ResponsesToChatStream._refusal_delta,
    "response.refusal.done": ResponsesToChatStream._refusal_done,
    "response.function_call_arguments.delta": ResponsesToChatStream._args_delta,
    "response.function_call_arguments.done": ResponsesToChatStream._args_done,
    "response.custom_tool_call_input.delta": ResponsesToChatStream._args_delta,
    "response.custom_tool_call_input.done": ResponsesToChatStream._input_done,
    "response.reasoning_summary_text.delta": ResponsesToChatStream._summary_delta,
    "response.reasoning_summary_text.done": ResponsesToChatStream._summary_done,
    "response.reasoning_text.delta": ResponsesToChatStream._thinking_delta,
    "response.reasoning_text.done": ResponsesToChatStream._thinking_done,
    "response.completed": ResponsesToChatStream._terminal,
    "response.incomplete": ResponsesToChatStream._terminal,
    "response.failed": ResponsesToChatStream._failed,
    "error": ResponsesToChatStream._failed,
}
"""Event type → the translator's handler, one table for every stream (not a dict of bound methods per request)."""
