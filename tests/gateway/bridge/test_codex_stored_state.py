"""The codex backend stores nothing (`store: false`) and answers an opaque 404 for what it would have to look up:
`prepare_responses_request` refuses those requests first with a 400 that says to send the whole conversation."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.bridge import BridgeRequestError, prepare_responses_request

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
REASONING_WITH_CONTENT = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "again", "previous_response_id": "resp_1"}, "previous_response_id"),
        ({"input": [USER, {"type": "item_reference", "id": "msg_1"}]}, "input[1]"),
        ({"input": [{"id": "fc_1"}, USER]}, "input[0]"),
        ({"input": [USER, {"type": "reasoning", "id": "rs_1", "summary": []}, USER]}, "input[1]"),
        ({"input": [USER, {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": None}]}, "input[1]"),
    ],
)
def test_stored_state_is_a_clear_400_for_codex(body: dict[str, Any], param: str) -> None:
    with pytest.raises(BridgeRequestError) as caught:
        prepare_responses_request(body, upstream_model="gpt-5.4", provider="chatgpt")
    error = caught.value.error
    assert (error.status, error.type, error.code, error.param) == (
        400,
        "invalid_request_error",
        "unsupported_parameter",
        param,
    )
    assert "send the whole conversation in `input`" in error.message
    assert "store: false" in error.message


def test_what_needs_no_lookup_is_sent_to_codex() -> None:
    body = {"input": [USER, REASONING_WITH_CONTENT, USER], "previous_response_id": None}
    prepared, _ = prepare_responses_request(body, upstream_model="gpt-5.4", provider="chatgpt")
    assert REASONING_WITH_CONTENT in prepared["input"]


@pytest.mark.parametrize("provider", ["openai", "azure-openai", "openai-compatible"])
def test_other_providers_may_keep_state_and_are_not_second_guessed(provider: str) -> None:
    body = {"input": [USER, {"type": "item_reference", "id": "msg_1"}], "previous_response_id": "resp_1"}
    prepared, _ = prepare_responses_request(body, upstream_model="m", provider=provider)
    assert prepared["previous_response_id"] == "resp_1"
