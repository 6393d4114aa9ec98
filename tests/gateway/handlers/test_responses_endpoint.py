"""POST /v1/responses: pass-through with input normalisation, folding for codex, stream recovery."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import openai
import orjson
import pytest

from tests.gateway.conftest import Gateway

CODEX = "chatgpt/gpt-5.4"


def _events(raw: bytes) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for block in raw.split(b"\n\n"):
        for line in block.split(b"\n"):
            if line.startswith(b"data: "):
                events.append(orjson.loads(line[6:]))
    return events


@pytest.mark.parametrize("alias", [CODEX, "team/responses"])
async def test_string_input_is_normalised_and_answered(gateway: Gateway, alias: str) -> None:
    async with gateway.sdk() as sdk:
        response = await sdk.responses.create(model=alias, input="hello there")
    assert response.output_text == "You said: hello there"
    [seen] = gateway.sim.requests
    assert seen.body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello there"}]}
    ]
    assert gateway.metric("aliasgate_input_normalized_total", alias=alias) == 1
    assert gateway.metric("aliasgate_requests_total", alias=alias, mode="responses", stream="false", code="200") == 1
    assert gateway.metric("aliasgate_tokens_total", alias=alias, type="completion") == 8


async def test_codex_non_stream_caller_gets_a_folded_response(gateway: Gateway) -> None:
    async with gateway.sdk() as sdk:
        response = await sdk.responses.create(
            model=CODEX, input=[{"role": "user", "content": "fold me #empty"}], instructions="be brief"
        )
    assert response.status == "completed"
    assert response.output_text == "You said: fold me #empty"
    [seen] = gateway.sim.requests
    assert seen.body["stream"] is True
    assert seen.body["store"] is False
    assert gateway.metric("aliasgate_input_normalized_total", alias=CODEX) == 0
    recovered = sum(
        gateway.metric("aliasgate_bridge_recoveries_total", alias=CODEX, source=s)
        for s in ("output_item_done", "output_text_done", "deltas")
    )
    assert recovered == 1


async def test_a_folded_answer_counts_its_first_token_when_the_fold_is_done(
    gateway: Gateway, captured_logs: list[MutableMapping[str, Any]]
) -> None:
    # #slow: 8 deltas 50 ms apart, so the fold takes ~0.4 s after the upstream's headers.
    async with gateway.sdk() as sdk:
        response = await sdk.responses.create(model=CODEX, input="take your time #slow")
    assert response.status == "completed"
    (logged,) = [e for e in captured_logs if e.get("event") == "request_completed"]
    assert logged["ttft_seconds"] >= 0.3  # the caller's first byte came after the whole fold
    assert logged["ttft_seconds"] <= logged["duration_seconds"]


async def test_streaming_caller_sees_completed_output_recovered(gateway: Gateway) -> None:
    async with gateway.sdk() as sdk:
        stream = await sdk.responses.create(model=CODEX, input="stream #empty", stream=True)
        kinds: list[str] = []
        completed = None
        async for event in stream:
            kinds.append(event.type)
            if event.type == "response.completed":
                completed = event.response
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert completed is not None
    assert completed.output_text == "You said: stream #empty"
    assert gateway.metric("aliasgate_requests_total", alias=CODEX, mode="responses", stream="true", code="200") == 1
    assert gateway.metric("aliasgate_time_to_first_token_seconds_count", alias=CODEX) == 1


async def test_tools_pass_through_the_responses_endpoint(gateway: Gateway) -> None:
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]
    async with gateway.sdk() as sdk:
        response = await sdk.responses.create(model=CODEX, input="find #tool", tools=tools)  # type: ignore[arg-type]
    calls = [item for item in response.output if item.type == "function_call"]
    assert len(calls) == 1
    assert calls[0].name == "lookup"
    assert orjson.loads(calls[0].arguments) == {"q": "find #tool"}


async def test_chat_mode_alias_is_served_through_the_reverse_bridge(gateway: Gateway) -> None:
    # Formerly a 400 unsupported_endpoint; the reverse bridge's own tests are in test_responses_over_chat.py.
    resp = await gateway.client.post("/v1/responses", json={"model": "team/chat", "input": "x"})
    assert resp.status == 200
    body = await resp.json()
    assert body["object"] == "response"
    assert body["output"][0]["content"][0]["text"] == "You said: x"
    assert [r.path for r in gateway.sim.requests] == ["/v1/chat/completions"]


async def test_failure_mid_stream_is_forwarded_and_cut_becomes_an_error_event(gateway: Gateway) -> None:
    resp = await gateway.client.post("/v1/responses", json={"model": CODEX, "input": "x #fail", "stream": True})
    assert resp.status == 200
    events = _events(await resp.read())
    assert events[-1]["type"] == "response.failed"
    resp = await gateway.client.post("/v1/responses", json={"model": CODEX, "input": "x #cut", "stream": True})
    assert resp.status == 200
    events = _events(await resp.read())
    assert events[-1]["type"] == "error"
    assert events[-1]["code"] is None or isinstance(events[-1]["code"], str)
    assert "broke" in str(events[-1]["message"])
    assert any(e["type"] == "response.output_text.delta" for e in events)


async def test_upstream_503_before_streaming_is_retried(gateway: Gateway) -> None:
    gateway.sim.enqueue("status:503")
    resp = await gateway.client.post("/v1/responses", json={"model": CODEX, "input": "retry me", "stream": True})
    assert resp.status == 200
    events = _events(await resp.read())
    assert events[-1]["type"] == "response.completed"
    assert len(gateway.sim.requests) == 2


async def test_codex_rejection_is_passed_on_as_a_400(gateway: Gateway) -> None:
    resp = await gateway.client.post("/v1/responses", json={"model": CODEX, "input": 42})
    assert resp.status == 400
    body = await resp.json()
    assert body["error"]["param"] == "input"
    assert gateway.sim.requests == []


async def test_stored_state_on_the_codex_backend_is_a_400_before_anything_is_sent(gateway: Gateway) -> None:
    async with gateway.sdk() as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.responses.create(model=CODEX, input="and then?", previous_response_id="resp_earlier")
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["param"] == "previous_response_id"
    assert "send the whole conversation" in caught.value.body["message"]
    assert gateway.sim.requests == []
