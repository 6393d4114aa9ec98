"""`OutputCollector` matches a terminal `response.output` to what the stream showed by item id, by list position
only for items without an id the stream named, and puts back streamed items the terminal output omits."""

from __future__ import annotations

from typing import Any

from gateway.bridge.recovery import NOT_NEEDED, OutputCollector, RecoveryOutcome


def _message(item_id: str | None, text: str) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}
    if item_id is not None:
        item["id"] = item_id
    return item


def _delta(item_id: str, index: int, text: str) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "item_id": item_id,
        "output_index": index,
        "content_index": 0,
        "delta": text,
    }


def _collector(*events: dict[str, Any]) -> OutputCollector:
    collector = OutputCollector()
    for event in events:
        collector.feed(event)
    return collector


def test_terminal_items_are_placed_where_their_id_was_streamed() -> None:
    collector = _collector(_delta("msg_a", 0, "A"), _delta("msg_c", 2, "C"))
    output = [_message("msg_a", "A"), _message("msg_c", "C")]
    assert collector.terminal_indices(output) == [0, 2]


def test_terminal_items_without_a_streamed_id_fall_back_to_their_position() -> None:
    collector = _collector(_delta("msg_rotating_1", 0, "A"), _delta("msg_b", 1, "B"))
    output = [_message(None, "A"), _message("msg_rotating_9", "X"), _message("msg_b", "B")]
    assert collector.terminal_indices(output) == [0, 1, 1]


def test_output_items_without_index_or_id_take_the_next_free_slot() -> None:
    collector = OutputCollector()
    slots = []
    for text in ("one", "two", "three"):
        collector.feed({"type": "response.output_item.done", "item": _message(None, text)})
        slots.append(collector.item_index)
    assert slots == [0, 1, 2]
    collector.feed({"type": "response.output_item.added", "output_index": 7, "item": _message("msg_h", "")})
    assert collector.item_index == 7


def test_a_terminal_output_holding_every_streamed_item_is_used_as_it_is() -> None:
    collector = _collector(_delta("msg_a", 0, "A"), _delta("msg_b", 1, "B"))
    output = [_message("msg_a", "A"), _message("msg_b", "B")]
    items, outcome = collector.outcome_for(output)
    assert items is output
    assert outcome == NOT_NEEDED


def test_streamed_items_the_terminal_output_omits_are_put_back_in_stream_order() -> None:
    done = {"type": "response.output_item.done", "output_index": 1, "item": _message("msg_b", "B!")}
    collector = _collector(_delta("msg_a", 0, "A"), _delta("msg_b", 1, "B"), done, _delta("msg_c", 2, "C"))
    output = [_message("msg_a", "A"), _message("msg_c", "C")]
    items, outcome = collector.outcome_for(output)
    assert [item["id"] for item in items] == ["msg_a", "msg_b", "msg_c"]
    assert items[1] == done["item"], "the strongest evidence of the omitted item wins"
    assert outcome == RecoveryOutcome(source="output_item_done")


def test_an_omitted_item_known_only_from_deltas_is_rebuilt_from_them() -> None:
    collector = _collector(_delta("msg_a", 0, "A"), _delta("msg_b", 1, "B"), _delta("msg_b", 1, "b"))
    items, outcome = collector.outcome_for([_message("msg_a", "A")])
    assert [item["id"] for item in items] == ["msg_a", "msg_b"]
    assert items[1]["content"][0]["text"] == "Bb"
    assert outcome == RecoveryOutcome(source="deltas")


def test_nothing_is_put_back_when_an_output_id_was_never_streamed() -> None:
    collector = _collector(_delta("msg_1", 0, "A"), _delta("msg_2", 1, "B"))
    output = [_message("msg_1", "A"), _message("msg_elsewhere", "B")]
    items, outcome = collector.outcome_for(output)
    assert items is output
    assert outcome == NOT_NEEDED
