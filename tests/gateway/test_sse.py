"""`gateway.sse`: the decoder's WHATWG rules and the encoders' framing."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import sse


def _decode(*chunks: bytes) -> list[sse.SSEEvent]:
    decoder = sse.SSEDecoder()
    events: list[sse.SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.close()


def test_event_and_data_lines_make_one_event() -> None:
    assert _decode(b"event: ping\ndata: {}\n\n") == [sse.SSEEvent("ping", "{}")]


def test_data_only_framing_has_no_event_name() -> None:
    assert _decode(b"data: a\n\ndata: b\n\n") == [sse.SSEEvent(None, "a"), sse.SSEEvent(None, "b")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert _decode(b"data: one\ndata: two\ndata:three\n\n") == [sse.SSEEvent(None, "one\ntwo\nthree")]


def test_only_one_leading_space_is_stripped_from_a_value() -> None:
    assert _decode(b"data:  padded\n\n") == [sse.SSEEvent(None, " padded")]


def test_comments_and_retry_lines_are_ignored() -> None:
    raw = b": comment\nretry: 10\n\n: keepalive\n\nevent: x\n: inside\ndata: y\n\n"
    assert _decode(raw) == [sse.SSEEvent("x", "y")]


def test_an_event_without_data_is_not_dispatched_and_its_name_does_not_leak() -> None:
    assert _decode(b"event: lonely\n\ndata: next\n\n") == [sse.SSEEvent(None, "next")]


def test_last_event_id_persists_across_events() -> None:
    assert _decode(b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n") == [
        sse.SSEEvent(None, "a", "7"),
        sse.SSEEvent(None, "b", "7"),
        sse.SSEEvent(None, "c", None),
    ]


def test_a_field_without_colon_counts_with_an_empty_value() -> None:
    assert _decode(b"data\ndata\n\n") == [sse.SSEEvent(None, "\n")]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_all_three_line_endings_are_accepted(ending: bytes) -> None:
    raw = b"event: e" + ending + b"data: d" + ending + ending
    assert _decode(raw) == [sse.SSEEvent("e", "d")]


def test_crlf_split_between_cr_and_lf_does_not_make_a_blank_line() -> None:
    assert _decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [sse.SSEEvent(None, "a\nb")]


def test_a_multibyte_character_split_across_chunks_survives() -> None:
    raw = "data: 3 \u00d7 0.6 \u2248 1.9\n\n".encode()
    for offset in range(1, len(raw)):
        assert _decode(raw[:offset], raw[offset:]) == [sse.SSEEvent(None, "3 \u00d7 0.6 \u2248 1.9")]


def test_a_leading_byte_order_mark_is_skipped() -> None:
    assert _decode(b"\xef\xbb\xbfdata: x\n\n") == [sse.SSEEvent(None, "x")]


def test_close_flushes_an_unterminated_final_event() -> None:
    assert _decode(b"data: [DONE]") == [sse.SSEEvent(None, "[DONE]")]
    assert _decode(b"data: a\n") == [sse.SSEEvent(None, "a")]


def test_close_on_an_empty_stream_returns_nothing() -> None:
    assert _decode() == []
    assert _decode(b"", b": only a comment\n") == []


def test_feed_returns_events_as_soon_as_their_blank_line_arrives() -> None:
    decoder = sse.SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [sse.SSEEvent(None, "a")]


def test_json_frames_are_one_data_line() -> None:
    frame = sse.encode_json_frame({"text": "line\nbreak", "n": 1})
    assert frame == b'data: {"text":"line\\nbreak","n":1}\n\n'
    assert orjson.loads(frame[6:-2]) == {"text": "line\nbreak", "n": 1}


def test_constant_frames() -> None:
    assert sse.DONE_FRAME == b"data: [DONE]\n\n"
    assert sse.KEEPALIVE_FRAME == b": keepalive\n\n"
    assert _decode(sse.KEEPALIVE_FRAME) == []


def test_encode_event_splits_lines_so_data_cannot_inject_another_event() -> None:
    frame = sse.encode_event("a\n\ndata: injected\r\nb", event="x\ny", id="1")
    assert frame == b"event: x y\nid: 1\ndata: a\ndata: \ndata: data: injected\ndata: b\n\n"
    assert _decode(frame) == [sse.SSEEvent("x y", "a\n\ndata: injected\nb", "1")]


_LINES = st.sampled_from(
    ["event: response.output_text.delta", "event:x", "data: {\"a\":1}", "data:{}", "data:  two spaces", "data",
     "id: 7", "id", ": comment", "retry: 5", "", "event: ", "data: [DONE]", "weird line", "data: é✓"]
)  # fmt: skip
_SIMPLE = st.sampled_from([["event: e", "data: d"], ["data: {}"], ["event:  spaced", "data:  twice"], ["data: "]])
_ENDINGS = st.sampled_from([b"\n", b"\r\n", b"\r"])
_UNITS = st.lists(st.one_of(_SIMPLE, st.lists(_LINES, max_size=4)), max_size=12)


@given(_UNITS, _ENDINGS, st.lists(st.integers(1, 40), max_size=30))
def test_any_chunking_decodes_like_one_byte_at_a_time(units: list[list[str]], ending: bytes, cuts: list[int]) -> None:
    """A read that ends on an event boundary takes a shortcut (whole simple events); one byte at a time never
    does. Reads of one event each, reads cut anywhere and single bytes must all give the same events."""
    feeds = [b"".join(line.encode() + ending for line in unit) + ending for unit in units]
    raw = b"".join(feeds)
    slow = sse.SSEDecoder()
    expected = [event for byte in range(len(raw)) for event in slow.feed(raw[byte : byte + 1])] + slow.close()
    per_event = sse.SSEDecoder()
    assert [event for feed in feeds for event in per_event.feed(feed)] + per_event.close() == expected
    fast = sse.SSEDecoder()
    got: list[sse.SSEEvent] = []
    position = 0
    for cut in [*cuts, len(raw)]:
        got += fast.feed(raw[position : position + cut])
        position += cut
    got += fast.close()
    assert got == expected


def test_whole_simple_events_in_one_read() -> None:
    decoder = sse.SSEDecoder()
    raw = b'event: a\ndata: 1\n\ndata: 2\n\nevent: b\ndata: {"x": 3}\n\n'
    assert decoder.feed(raw) == [sse.SSEEvent("a", "1"), sse.SSEEvent(None, "2"), sse.SSEEvent("b", '{"x": 3}')]
