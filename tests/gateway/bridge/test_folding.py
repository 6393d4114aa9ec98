"""`/v1/responses` pass-through helpers: ResponseFolder, ResponsesStreamRecovery, input normalisation and
`prepare_responses_request` (codex shaping of a Responses body)."""

from __future__ import annotations

import copy

import pytest

from gateway.bridge import (
    CODEX_BASE_INSTRUCTIONS,
    BridgeRequestError,
    ResponseFolder,
    ResponsesStreamRecovery,
    normalize_input,
    prepare_responses_request,
    probe_request,
)
from tests.gateway.bridge import harness

BY_NAME = {vector.name: vector for vector in harness.load_vectors()}


def _fold(name: str, model: str | None = None) -> ResponseFolder:
    folder = ResponseFolder(model=model)
    for event in harness.events_of(BY_NAME[name].raw):
        folder.feed(event)
    return folder


def test_folder_rebuilds_an_empty_codex_output_from_item_done_events() -> None:
    result = _fold("09_codex_empty_output_item_done", model="alias-model").result()
    assert result.error is None
    assert result.response is not None
    assert [item["id"] for item in result.response["output"]] == ["rs_v09_a", "msg_v09_a", "fc_v09_a"]
    assert result.response["output"][0]["encrypted_content"] == "gAAAAABv09-opaque", "reasoning kept for replay"
    assert result.response["model"] == "alias-model"
    assert result.response["status"] == "completed"
    assert result.recovery.source == "output_item_done"


def test_folder_synthesises_a_message_from_output_text_done() -> None:
    result = _fold("24_text_done_only_recovery").result()
    assert result.response is not None
    assert result.response["output"] == [
        {
            "type": "message",
            "id": "msg_v24",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Paris is the capital of France.", "annotations": []}],
        }
    ]
    assert result.response["model"] == "gpt-5.4"
    assert result.recovery.source == "output_text_done"


def test_folder_keeps_a_non_empty_output_untouched() -> None:
    result = _fold("05_reasoning_then_text").result()
    completed = harness.events_of(BY_NAME["05_reasoning_then_text"].raw)[-1]
    assert result.response == completed["response"]
    assert result.recovery.source is None
    assert not result.recovery.unrecoverable


def test_folder_reports_failures_and_truncation() -> None:
    failed = _fold("08_failed_mid_stream").result()
    assert failed.response is None
    assert failed.error is not None
    assert failed.error.status == 500
    truncated = _fold("33_eof_without_terminal").result()
    assert truncated.error is not None
    assert truncated.error.status == 502


def test_stream_recovery_rewrites_only_an_empty_terminal_output() -> None:
    events = harness.events_of(BY_NAME["31_codex_commentary_and_final_answer"].raw)
    originals = copy.deepcopy(events)
    recovery = ResponsesStreamRecovery()
    forwarded = [recovery.feed(event) for event in events]
    assert forwarded[:-1] == originals[:-1]
    assert events == originals, "input events are never mutated"
    output = forwarded[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["reasoning", "message", "message"]
    assert [item.get("phase") for item in output[1:]] == ["commentary", "final_answer"]
    assert recovery.recovery.source == "output_item_done"


def test_stream_recovery_passes_a_full_terminal_event_through() -> None:
    events = harness.events_of(BY_NAME["01_plain_text"].raw)
    recovery = ResponsesStreamRecovery()
    assert [recovery.feed(event) for event in events] == events
    assert recovery.recovery.source is None


def test_stream_recovery_flags_an_unrecoverable_empty_answer() -> None:
    recovery = ResponsesStreamRecovery()
    for event in harness.events_of(BY_NAME["36_empty_output_nothing_to_recover"].raw):
        forwarded = recovery.feed(event)
    assert forwarded["response"]["output"] == []
    assert recovery.recovery.unrecoverable


def test_string_input_is_normalised_to_a_typed_list_without_mutating() -> None:
    body = {"model": "m", "input": "hello"}
    normalised, changed = normalize_input(body)
    assert changed
    assert normalised["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}
    ]
    assert body == {"model": "m", "input": "hello"}
    same, unchanged = normalize_input(normalised)
    assert same is normalised
    assert not unchanged


def test_prepare_for_codex_forces_its_constraints() -> None:
    body = {
        "model": "alias",
        "input": "test",
        "instructions": "Be brief.",
        "max_output_tokens": 32,
        "temperature": 1,
        "store": True,
        "stream": False,
        "include": ["file_search_call.results"],
        "prompt_cache_key": "k",
    }
    prepared, normalised = prepare_responses_request(body, upstream_model="gpt-5.4", provider="chatgpt")
    assert normalised
    assert prepared == {
        "model": "gpt-5.4",
        "instructions": CODEX_BASE_INSTRUCTIONS,
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "test"}]},
        ],
        "store": False,
        "stream": True,
        "include": ["file_search_call.results", "reasoning.encrypted_content"],
        "prompt_cache_key": "k",
    }


def test_prepare_for_codex_rewrites_system_items_and_keeps_the_canonical_prompt_once() -> None:
    body = {
        "input": [{"role": "system", "content": "sys"}, {"type": "message", "role": "user", "content": "hi"}],
        "instructions": CODEX_BASE_INSTRUCTIONS,
    }
    prepared, normalised = prepare_responses_request(body, upstream_model="m", provider="chatgpt")
    assert not normalised
    assert prepared["input"] == [
        {"role": "developer", "content": "sys"},
        {"type": "message", "role": "user", "content": "hi"},
    ]
    assert prepared["instructions"] == CODEX_BASE_INSTRUCTIONS


def test_prepare_for_openai_only_sets_model_and_normalises() -> None:
    prepared, normalised = prepare_responses_request(
        {"model": "alias", "input": "x", "store": True}, upstream_model="gpt-5.4", provider="openai"
    )
    assert normalised
    assert prepared == {
        "model": "gpt-5.4",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}],
        "store": True,
    }


@pytest.mark.parametrize("bad", [42, {"text": "x"}, True])
def test_prepare_rejects_an_input_of_the_wrong_type(bad: object) -> None:
    with pytest.raises(BridgeRequestError) as raised:
        prepare_responses_request({"input": bad}, upstream_model="m", provider="openai")
    assert raised.value.error.status == 400
    assert raised.value.error.param == "input"


def test_health_probe_bodies_are_well_formed_per_provider() -> None:
    typed = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ping"}]}]
    assert probe_request(upstream_model="gpt-5.4", provider="chatgpt") == {
        "model": "gpt-5.4",
        "input": typed,
        "instructions": CODEX_BASE_INSTRUCTIONS,
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
    }
    assert probe_request(upstream_model="gpt-5.4", provider="openai") == {
        "model": "gpt-5.4",
        "input": typed,
        "store": False,
        "stream": False,
        "max_output_tokens": 64,
    }


def test_folder_and_stream_recovery_put_back_a_streamed_item_the_terminal_output_omits() -> None:
    events = harness.events_of(BY_NAME["65_terminal_output_omits_a_streamed_call"].raw)
    result = _fold("65_terminal_output_omits_a_streamed_call").result()
    assert result.response is not None
    assert [item["id"] for item in result.response["output"]] == ["msg_v65", "fc_v65"]
    assert result.recovery.source == "output_item_done"
    recovery = ResponsesStreamRecovery()
    forwarded = [recovery.feed(event) for event in events]
    assert forwarded[:-1] == events[:-1]
    assert [item["id"] for item in forwarded[-1]["response"]["output"]] == ["msg_v65", "fc_v65"]
    assert recovery.recovery == result.recovery


def test_folder_keeps_an_output_whose_ids_the_stream_never_named() -> None:
    events = harness.events_of(BY_NAME["67_rotating_item_ids"].raw)
    result = _fold("67_rotating_item_ids").result()
    assert result.response == events[-1]["response"]
    assert result.recovery.source is None
