"""The real `openai` SDK reads what the bridge writes: its own SSE stream parser over our exact bytes, and
`ChatCompletion` for non-stream answers. An in-stream error frame must surface as `openai.APIError`."""

from __future__ import annotations

import httpx2 as httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.gateway.bridge import harness

VECTORS = harness.load_vectors()
IDS = [vector.name for vector in VECTORS]


def _sdk_stream(body: bytes) -> openai.Stream[ChatCompletionChunk]:
    client = openai.OpenAI(api_key="test-key", base_url="http://127.0.0.1:9/v1")
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body, request=request)
    return openai.Stream(cast_to=ChatCompletionChunk, response=response, client=client)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_the_sdk_stream_parser_reads_our_chat_stream(vector: harness.Vector) -> None:
    chunks = harness.translate(vector.raw)
    stream = _sdk_stream(harness.encode(chunks))
    if vector.expected["http_status"] != 200:
        with pytest.raises(openai.APIError) as raised:
            list(stream)
        assert raised.value.message == vector.expected["body"]["error"]["message"]
        return
    parsed = list(stream)
    assert len(parsed) == len(chunks)
    content = "".join(c.choices[0].delta.content or "" for c in parsed if c.choices)
    completion = harness.fold(vector.raw).completion
    assert completion is not None
    assert content == (completion["choices"][0]["message"]["content"] or "")
    finishes = [c.choices[0].finish_reason for c in parsed if c.choices and c.choices[0].finish_reason]
    assert finishes == [vector.expected["body"]["choices"][0]["finish_reason"]]
    assert parsed[-1].choices == []
    usage = parsed[-1].usage
    assert (usage and usage.model_dump(exclude_none=True)) == completion.get("usage"), "same usage as non-stream"


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_the_sdk_parses_every_non_stream_answer(vector: harness.Vector) -> None:
    status, body = harness.answer(harness.fold(vector.raw))
    if status != 200:
        assert set(body) == {"error"}
        assert set(body["error"]) == {"message", "type", "param", "code"}
        return
    completion = ChatCompletion.model_validate(body)
    assert completion.id == vector.expected["body"]["id"]
    assert completion.choices[0].finish_reason == vector.expected["body"]["choices"][0]["finish_reason"]
