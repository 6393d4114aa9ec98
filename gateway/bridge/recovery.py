"""Rebuild `response.output` when the terminal event carries none (spec §2.1 step 3, §5.4; codex sends `output: []`).

`OutputCollector` is fed every upstream event once, as it passes, by all four consumers: the non-stream fold
(`chat_responses`), the stream translator (`chat_responses_stream`), and the `/v1/responses` pass-through helpers
(`folding.ResponseFolder`, `folding.ResponsesStreamRecovery`). Nothing re-parses a logged copy of the stream.

Per output index, the best evidence wins:

1. `response.output_item.done` → the item as sent (source `output_item_done`);
2. otherwise the item is synthesised from done events: `output_text.done` / `content_part.done` /
   `refusal.done` for message parts, `function_call_arguments.done` / `custom_tool_call_input.done` for calls,
   `reasoning_summary_text.done` / `reasoning_text.done` for reasoning (source `output_text_done`);
3. otherwise from deltas concatenated per (output_index, content_index), with call ids and names taken from
   `output_item.added` (source `deltas`).

`RecoveryOutcome.source` names the *weakest* evidence any recovered item needed, so the
`aliasgate_bridge_recoveries_total{source}` metric shows how degraded the stream was. `unrecoverable` is True
when the terminal output was empty and nothing at all could be rebuilt (whether or not the stream showed
output events): the bridge translates an empty assistant turn, which the gateway refuses to pass on as a
success for a completed answer (``empty_upstream_response``), and operators get a counter.

A terminal output that is not empty is matched to what the stream showed **by item id**
(`terminal_indices`), by list position only for an item without an id or with one the stream never named
(some proxies rotate ids on every event). When every terminal item's id was streamed and the stream showed
further items that the terminal output omits, those are rebuilt and put back at their streamed place, so a
non-streaming answer holds what a streaming caller was already sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["NOT_NEEDED", "OutputCollector", "RecoveryOutcome", "RecoverySource"]

RecoverySource = Literal["output_item_done", "output_text_done", "deltas"]

_SOURCES: tuple[RecoverySource | None, ...] = (None, "output_item_done", "output_text_done", "deltas")
_MAX_CONTENT_INDEX = 1024
"""Cap on a synthetic message's content index, so a hostile index cannot make us allocate millions of parts."""

Key = tuple[int, int]


@dataclass(frozen=True, slots=True)
class RecoveryOutcome:
    """Whether, and from what, the output had to be rebuilt."""

    source: RecoverySource | None = None
    """None when the terminal event carried its own output (or nothing could be recovered)."""
    unrecoverable: bool = False
    """True when the terminal output was empty and nothing could be rebuilt from the stream."""


NOT_NEEDED = RecoveryOutcome()


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


class OutputCollector:
    """One-pass accumulator of everything needed to rebuild output items; `feed` every event, `rebuild` at the end."""

    __slots__ = (
        "_args_deltas",
        "_args_done",
        "_done_names",
        "_index_by_id",
        "_item_ids",
        "annotations",
        "item_index",
        "items_added",
        "items_done",
        "refusal_deltas",
        "refusal_done",
        "summary_deltas",
        "summary_done",
        "text_deltas",
        "text_done",
        "thinking_deltas",
        "thinking_done",
    )

    def __init__(self) -> None:
        self.items_done: dict[int, dict[str, Any]] = {}
        self.items_added: dict[int, dict[str, Any]] = {}
        self.text_done: dict[Key, str] = {}
        self.text_deltas: dict[Key, list[str]] = {}
        self.refusal_done: dict[Key, str] = {}
        self.refusal_deltas: dict[Key, list[str]] = {}
        self.annotations: dict[Key, list[dict[str, Any]]] = {}
        self.summary_done: dict[Key, str] = {}
        self.summary_deltas: dict[Key, list[str]] = {}
        self.thinking_done: dict[Key, str] = {}
        self.thinking_deltas: dict[Key, list[str]] = {}
        self._args_done: dict[int, str] = {}
        self._args_deltas: dict[int, list[str]] = {}
        self._done_names: dict[int, str] = {}
        self._index_by_id: dict[str, int] = {}
        self._item_ids: dict[int, str] = {}
        self.item_index = 0
        """Output index of the last `output_item.added`/`.done` fed (its own, or the one resolved for it)."""

    # ---- feeding -------------------------------------------------------------------------------------------

    def feed(self, event: dict[str, Any]) -> None:
        """Record what `event` tells about the output; events of other types are ignored."""
        kind = event.get("type")
        handler = _DISPATCH.get(kind) if kind.__class__ is str else None
        if handler is not None:
            handler(self, event)

    def index_of(self, event: dict[str, Any]) -> int:
        """The event's output index: its own field, else the index its `item_id` was first seen at, else 0."""
        index = event.get("output_index")
        if type(index) is int:
            item_id = event.get("item_id")
            if isinstance(item_id, str) and item_id not in self._index_by_id:
                self._index_by_id[item_id] = index
                self._item_ids[index] = item_id
            return index
        item_id = event.get("item_id")
        if isinstance(item_id, str):
            known = self._index_by_id.get(item_id)
            if known is not None:
                return known
        return 0

    def item_id(self, index: int) -> str | None:
        """The upstream item id first seen at `index`, if any event named one."""
        return self._item_ids.get(index)

    def _item_index(self, event: dict[str, Any], item: dict[str, Any], table: dict[int, dict[str, Any]]) -> int:
        index = event.get("output_index")
        item_id = item.get("id")
        if type(index) is not int:
            known = self._index_by_id.get(item_id) if isinstance(item_id, str) else None
            if known is not None:
                index = known
            else:
                index = 0
                while index in table:
                    index += 1
        if isinstance(item_id, str):
            self._index_by_id.setdefault(item_id, index)
            self._item_ids.setdefault(index, item_id)
        return index

    def _item_added(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        if isinstance(item, dict):
            self.item_index = index = self._item_index(event, item, self.items_added)
            self.items_added[index] = item

    def _item_done(self, event: dict[str, Any]) -> None:
        item = event.get("item")
        if isinstance(item, dict):
            self.item_index = index = self._item_index(event, item, self.items_done)
            self.items_done[index] = item

    def _key(self, event: dict[str, Any], field: str = "content_index") -> Key:
        sub = event.get(field)
        return (self.index_of(event), sub if type(sub) is int else 0)

    def _text_delta(self, event: dict[str, Any]) -> None:
        # The hot path of every fold: keep it to a few dict operations.
        delta = event.get("delta")
        if delta.__class__ is not str or not delta:
            return
        index = event.get("output_index")
        sub = event.get("content_index")
        key = (index if index.__class__ is int else self.index_of(event), sub if sub.__class__ is int else 0)
        pieces = self.text_deltas.get(key)
        if pieces is None:
            self.index_of(event)  # remember the item id of a new part
            self.text_deltas[key] = [delta]
        else:
            pieces.append(delta)

    def _text_done(self, event: dict[str, Any]) -> None:
        text = event.get("text")
        if isinstance(text, str):
            self.text_done[self._key(event)] = text

    def _part_done(self, event: dict[str, Any]) -> None:
        part = event.get("part")
        if not isinstance(part, dict):
            return
        kind = part.get("type")
        if kind == "output_text" and isinstance(part.get("text"), str):
            self.text_done.setdefault(self._key(event), part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            self.refusal_done.setdefault(self._key(event), part["refusal"])

    def _refusal_delta(self, event: dict[str, Any]) -> None:
        delta = event.get("delta")
        if isinstance(delta, str) and delta:
            self.refusal_deltas.setdefault(self._key(event), []).append(delta)

    def _refusal_done(self, event: dict[str, Any]) -> None:
        refusal = event.get("refusal")
        if isinstance(refusal, str):
            self.refusal_done[self._key(event)] = refusal

    def _annotation(self, event: dict[str, Any]) -> None:
        annotation = event.get("annotation")
        if isinstance(annotation, dict):
            self.annotations.setdefault(self._key(event), []).append(annotation)

    def _args_delta(self, event: dict[str, Any]) -> None:
        delta = event.get("delta")
        if isinstance(delta, str) and delta:
            self._args_deltas.setdefault(self.index_of(event), []).append(delta)

    def _args_done_event(self, event: dict[str, Any]) -> None:
        arguments = event.get("arguments")
        index = self.index_of(event)
        if isinstance(arguments, str):
            self._args_done[index] = arguments
        name = event.get("name")
        if isinstance(name, str) and name:
            self._done_names[index] = name

    def _input_delta(self, event: dict[str, Any]) -> None:
        delta = event.get("delta")
        if isinstance(delta, str) and delta:
            self._args_deltas.setdefault(self.index_of(event), []).append(delta)

    def _input_done(self, event: dict[str, Any]) -> None:
        value = event.get("input")
        if isinstance(value, str):
            self._args_done[self.index_of(event)] = value

    def _summary_delta(self, event: dict[str, Any]) -> None:
        delta = event.get("delta")
        if isinstance(delta, str) and delta:
            self.summary_deltas.setdefault(self._key(event, "summary_index"), []).append(delta)

    def _summary_done(self, event: dict[str, Any]) -> None:
        text = event.get("text")
        if isinstance(text, str):
            self.summary_done[self._key(event, "summary_index")] = text

    def _thinking_delta(self, event: dict[str, Any]) -> None:
        delta = event.get("delta")
        if isinstance(delta, str) and delta:
            self.thinking_deltas.setdefault(self._key(event), []).append(delta)

    def _thinking_done(self, event: dict[str, Any]) -> None:
        text = event.get("text")
        if isinstance(text, str):
            self.thinking_done[self._key(event)] = text

    # ---- rebuilding ----------------------------------------------------------------------------------------

    def terminal_indices(self, output: list[Any]) -> list[int]:
        """The streamed output index of each terminal output item: where its id was seen, else its position."""
        known = self._index_by_id
        indices = []
        for position, item in enumerate(output):
            item_id = item.get("id") if isinstance(item, dict) else None
            index = known.get(item_id) if isinstance(item_id, str) else None
            indices.append(position if index is None else index)
        return indices

    def outcome_for(self, output: object) -> tuple[list[Any], RecoveryOutcome]:
        """The output to use for a terminal `response.output`: itself (with any streamed items it omits put
        back, see the module doc) when non-empty, else the rebuilt items."""
        if isinstance(output, list) and output:
            return self._completed(output)
        items, source = self.rebuild()
        return items, RecoveryOutcome(source=source, unrecoverable=not items)

    def _completed(self, output: list[Any]) -> tuple[list[Any], RecoveryOutcome]:
        known = self._index_by_id
        matched: list[int] = []
        for item in output:
            item_id = item.get("id") if isinstance(item, dict) else None
            index = known.get(item_id) if isinstance(item_id, str) else None
            if index is None:
                return output, NOT_NEEDED  # ids are no guide here: the output stands as it is
            matched.append(index)
        missing = self._streamed_indices().difference(matched)
        if not missing:
            return output, NOT_NEEDED
        rebuilt, source = self._build(sorted(missing))
        if not rebuilt:
            return output, NOT_NEEDED
        placed = sorted([*zip(matched, output, strict=True), *rebuilt], key=lambda pair: pair[0])
        return [item for _, item in placed], RecoveryOutcome(source=source)

    def _streamed_indices(self) -> set[int]:
        indices = set(self.items_done) | set(self.items_added) | set(self._args_done) | set(self._args_deltas)
        for table in (
            self.text_done,
            self.text_deltas,
            self.refusal_done,
            self.refusal_deltas,
            self.summary_done,
            self.summary_deltas,
            self.thinking_done,
            self.thinking_deltas,
        ):
            indices.update(oi for oi, _ in table)
        return indices

    def rebuild(self) -> tuple[list[dict[str, Any]], RecoverySource | None]:
        """Items ordered by output index, and the weakest source any of them needed."""
        built, source = self._build(sorted(self._streamed_indices()))
        return [item for _, item in built], source

    def _build(self, indices: list[int]) -> tuple[list[tuple[int, dict[str, Any]]], RecoverySource | None]:
        """The best item for each of `indices` (ascending) that has one, and the weakest source used."""
        parts: dict[int, set[int]] = {}
        for table in (self.text_done, self.text_deltas, self.refusal_done, self.refusal_deltas):
            for oi, ci in table:
                parts.setdefault(oi, set()).add(ci)
        thoughts: dict[int, set[int]] = {}
        for table in (self.summary_done, self.summary_deltas):
            for oi, si in table:
                thoughts.setdefault(oi, set()).add(si)
        raw: dict[int, set[int]] = {}
        for table in (self.thinking_done, self.thinking_deltas):
            for oi, ci in table:
                raw.setdefault(oi, set()).add(ci)
        calls = set(self._args_done) | set(self._args_deltas)
        rank = 0
        items: list[tuple[int, dict[str, Any]]] = []
        for oi in indices:
            done = self.items_done.get(oi)
            if done is not None:
                items.append((oi, done))
                rank = max(rank, 1)
                continue
            added = self.items_added.get(oi) or {}
            kind = added.get("type")
            built: tuple[dict[str, Any], int] | None = None
            if kind == "message" or (kind is None and oi in parts):
                built = self._message(oi, added, parts.get(oi, set()))
            elif kind in ("function_call", "custom_tool_call") or (kind is None and oi in calls):
                built = self._call(oi, added)
            elif kind == "reasoning" or (kind is None and (oi in thoughts or oi in raw)):
                built = self._reasoning(oi, added, thoughts.get(oi, set()), raw.get(oi, set()))
            if built is not None:
                items.append((oi, built[0]))
                rank = max(rank, built[1])
        return items, _SOURCES[rank]

    def _message(self, oi: int, added: dict[str, Any], indices: set[int]) -> tuple[dict[str, Any], int] | None:
        indices = {ci for ci in indices if 0 <= ci <= _MAX_CONTENT_INDEX}
        if not indices:
            return None
        rank = 2
        content: list[dict[str, Any]] = []
        for ci in range(max(indices) + 1):
            key = (oi, ci)
            refusal = self.refusal_done.get(key)
            if refusal is None and key in self.refusal_deltas:
                refusal, rank = "".join(self.refusal_deltas[key]), 3
            if refusal is not None:
                content.append({"type": "refusal", "refusal": refusal})
                continue
            text = self.text_done.get(key)
            if text is None and key in self.text_deltas:
                text, rank = "".join(self.text_deltas[key]), 3
            part = _text_part(text or "")
            if key in self.annotations:
                part["annotations"] = list(self.annotations[key])
            content.append(part)
        item: dict[str, Any] = {
            "type": "message",
            "id": added.get("id") or self._item_ids.get(oi) or f"msg_{oi}",
            "role": "assistant",
            "status": "completed",
            "content": content,
        }
        if "phase" in added:
            item["phase"] = added["phase"]
        return item, rank

    def _call(self, oi: int, added: dict[str, Any]) -> tuple[dict[str, Any], int]:
        item_id = added.get("id") or self._item_ids.get(oi) or f"fc_{oi}"
        arguments = self._args_done.get(oi)
        rank = 2
        if arguments is None:
            rank = 3
            pieces = self._args_deltas.get(oi)
            arguments = "".join(pieces) if pieces else str(added.get("arguments") or added.get("input") or "")
        name = added.get("name") or self._done_names.get(oi) or ""
        call_id = added.get("call_id") or item_id
        if added.get("type") == "custom_tool_call":
            return {
                "type": "custom_tool_call",
                "id": item_id,
                "call_id": call_id,
                "name": name,
                "input": arguments,
                "status": "completed",
            }, rank
        return {
            "type": "function_call",
            "id": item_id,
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
            "status": "completed",
        }, rank

    def _reasoning(
        self, oi: int, added: dict[str, Any], summary_indices: set[int], raw_indices: set[int]
    ) -> tuple[dict[str, Any], int] | None:
        if not summary_indices and not raw_indices:
            return None
        rank = 2
        summary: list[dict[str, Any]] = []
        for si in sorted(summary_indices):
            text = self.summary_done.get((oi, si))
            if text is None:
                text, rank = "".join(self.summary_deltas.get((oi, si), ())), 3
            summary.append({"type": "summary_text", "text": text})
        item: dict[str, Any] = {
            "type": "reasoning",
            "id": added.get("id") or self._item_ids.get(oi) or f"rs_{oi}",
            "summary": summary,
        }
        if raw_indices:
            content: list[dict[str, Any]] = []
            for ci in sorted(raw_indices):
                text = self.thinking_done.get((oi, ci))
                if text is None:
                    text, rank = "".join(self.thinking_deltas.get((oi, ci), ())), 3
                content.append({"type": "reasoning_text", "text": text})
            item["content"] = content
        return item, rank


_DISPATCH: dict[str, Callable[[OutputCollector, dict[str, Any]], None]] = {
    "response.output_item.added": OutputCollector._item_added,
    "response.output_item.done": OutputCollector._item_done,
    "response.output_text.delta": OutputCollector._text_delta,
    "response.output_text.done": OutputCollector._text_done,
    "response.content_part.done": OutputCollector._part_done,
    "response.refusal.delta": OutputCollector._refusal_delta,
    "response.refusal.done": OutputCollector._refusal_done,
    "response.output_text.annotation.added": OutputCollector._annotation,
    "response.function_call_arguments.delta": OutputCollector._args_delta,
    "response.function_call_arguments.done": OutputCollector._args_done_event,
    "response.custom_tool_call_input.delta": OutputCollector._input_delta,
    "response.custom_tool_call_input.done": OutputCollector._input_done,
    "response.reasoning_summary_text.delta": OutputCollector._summary_delta,
    "response.reasoning_summary_text.done": OutputCollector._summary_done,
    "response.reasoning_text.delta": OutputCollector._thinking_delta,
    "response.reasoning_text.done": OutputCollector._thinking_done,
}
"""Event type → the collector's handler: one table for every collector (built per collector, it cost more than
the folding of a short answer)."""
