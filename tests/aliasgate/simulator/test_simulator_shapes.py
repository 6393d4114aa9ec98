"""Every JSON body and chunk the simulator answers validates against the openai SDK 3.57 models."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response

from tests.aliasgate.simulator.conftest import StartSimulator, base_url
from tests.aliasgate.simulator.sse_reading import parse_sse

AUTH = {"Authorization": "Bearer sk-test"}
TEXTS = ["plain", "#tool x", "#reason x", "#refuse x", "#incomplete x", "#reason #tool x", "#fail x"]
RESPONSES_TOOL = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}
CHAT_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


async def post(url: str, body: dict[str, Any]) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=AUTH) as resp:
        return resp.status, await resp.read()


@pytest.mark.parametrize("text", TEXTS)
async def test_json_responses_validate(start_simulator: StartSimulator, text: str) -> None:
    server, _ = await start_simulator()
    status, raw = await post(base_url(server) + "/responses", {"model": "m", "input": text, "tools": [RESPONSES_TOOL]})
    assert status == 200
    response = Response.model_validate_json(raw)
    assert response.status == {"#incomplete x": "incomplete", "#fail x": "failed"}.get(text, "completed")
    assert response.usage is not None


@pytest.mark.parametrize("text", TEXTS)
async def test_chat_completions_and_chunks_validate(start_simulator: StartSimulator, text: str) -> None:
    server, _ = await start_simulator()
    url = base_url(server) + "/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": text}], "tools": [CHAT_TOOL]}
    status, raw = await post(url, body)
    if text == "#fail x":
        assert status == 500
    else:
        assert status == 200
        ChatCompletion.model_validate_json(raw)
    status, raw = await post(url, {**body, "stream": True, "stream_options": {"include_usage": True}})
    assert status == 200
    frames = [data for _, data in parse_sse(raw)]
    assert frames[-1] == "[DONE]"
    for frame in frames[:-1]:
        if "error" in frame:
            assert text == "#fail x"
            continue
        ChatCompletionChunk.model_validate(frame)
