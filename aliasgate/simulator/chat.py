"""The Chat Completions API as the simulator plays it: a ``chat.completion`` or its chunk sequence (role
chunk, content/refusal/tool-call deltas, finish chunk, optional usage chunk; faults after the second delta).

Pure: builds chunk dicts; :mod:`aliasgate.simulator.playing` sends them.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from aliasgate.simulator.directives import REFUSAL_TEXT, Turn, split_deltas, tool_to_call
from aliasgate.simulator.state import Simulator
from aliasgate.simulator.wire import CUT, GARBAGE, STALL, THINK, Step, openai_error_body

__all__ = ["ChatScript"]


def _chat_usage(prompt: int, completion: int, reasoning: bool) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 2 if reasoning else 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class ChatScript:
    """Builds a chat.completion, or its chunk sequence, for one Chat Completions request."""

    def __init__(self, *, sim: Simulator, body: dict[str, Any], turn: Turn) -> None:
        n = sim.next_id()
        self.turn = turn
        self.delta_count = sim.config.delta_count
        self.completion_id = f"chatcmpl-{sim.config.upstream_id}{n:06d}"
        self.call_id = f"call_{sim.config.upstream_id}_{n:06d}"
        self.created = int(time.time())
        self.model = str(body.get("model", ""))
        self.tool_name = tool_to_call(body, turn)
        self.prompt_tokens = len(turn.text.split())
        options = body.get("stream_options")
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True
        self.incomplete = "incomplete" in turn.directives
        self.reasoning = "reason" in turn.directives

    def _pieces(self) -> list[str]:
        if self.tool_name is not None:
            text = orjson.dumps({"q": self.turn.text}).decode()
        elif "refuse" in self.turn.directives:
            text = REFUSAL_TEXT
        elif self.turn.tool_output is not None:
            text = f"Tool said: {self.turn.tool_output}"
        else:
            text = f"You said: {self.turn.text}"
        pieces = split_deltas(text, self.delta_count)
        return pieces[: max(1, len(pieces) // 2)] if self.incomplete else pieces

    def _finish_reason(self) -> str:
        if self.incomplete:
            return "length"
        return "tool_calls" if self.tool_name is not None else "stop"

    def completion(self) -> dict[str, Any]:
        pieces = self._pieces()
        joined = "".join(pieces)
        message: dict[str, Any] = {"role": "assistant", "content": joined, "refusal": None, "annotations": []}
        if self.tool_name is not None:
            message["content"] = None
            message["tool_calls"] = [
                {"id": self.call_id, "type": "function", "function": {"name": self.tool_name, "arguments": joined}}
            ]
        elif "refuse" in self.turn.directives:
            message["content"] = None
            message["refusal"] = joined
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": self._finish_reason()}],
            "usage": _chat_usage(self.prompt_tokens, len(pieces), self.reasoning),
            "service_tier": "default",
            "system_fingerprint": None,
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            "service_tier": "default",
            "system_fingerprint": None,
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def chunks(self) -> list[Step]:
        """Chunk dicts and fault markers; the caller appends ``data: [DONE]`` unless cut."""
        pieces = self._pieces()
        steps: list[Step] = [self._chunk({"role": "assistant", "content": "", "refusal": None})]
        directives = self.turn.directives
        if "think" in directives:
            steps.append(THINK)
        for i, piece in enumerate(pieces):
            if self.tool_name is not None:
                call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
                if i == 0:
                    call = {"index": 0, "id": self.call_id, "type": "function", "function": {"name": self.tool_name}}
                    call["function"]["arguments"] = piece
                steps.append(self._chunk({"tool_calls": [call]}))
            elif "refuse" in directives:
                steps.append(self._chunk({"refusal": piece}))
            else:
                steps.append(self._chunk({"content": piece}))
            if i == min(1, len(pieces) - 1):
                if "garbage" in directives:
                    steps.append(GARBAGE)
                if "stall" in directives:
                    steps.append(STALL)
                if "cut" in directives:
                    steps.append(CUT)
                    return steps
                if "fail" in directives:
                    steps.append(openai_error_body(500, "The model failed to generate a response."))
                    return steps
        steps.append(self._chunk({}, self._finish_reason()))
        if self.include_usage:
            final = self._chunk({})
            final["choices"] = []
            final["usage"] = _chat_usage(self.prompt_tokens, len(pieces), self.reasoning)
            steps.append(final)
        return steps
