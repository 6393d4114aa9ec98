"""The Responses API as the simulator plays it: the full event sequence of one answer (reasoning item,
message or function call, refusal; faults struck after the second delta) and the terminal Response object.

Pure: builds event dicts; :mod:`aliasgate.simulator.playing` sends them.
"""

from __future__ import annotations

import time
from typing import Any, Final

import orjson

from aliasgate.simulator.directives import REFUSAL_TEXT, Turn, split_deltas, tool_to_call
from aliasgate.simulator.state import Simulator
from aliasgate.simulator.wire import CUT, GARBAGE, STALL, THINK, Step

__all__ = ["ENCRYPTED_REASONING", "SUMMARY_TEXTS", "ResponsesScript"]

SUMMARY_TEXTS: Final = ("Reading the question carefully.", "Choosing the shortest correct answer.")
ENCRYPTED_REASONING: Final = "gAAAAABsimulated-opaque-reasoning"


def _responses_usage(input_tokens: int, output_tokens: int, reasoning: bool) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 2 if reasoning else 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _echo_tools(tools: Any) -> list[Any]:
    if not isinstance(tools, list):
        return []
    echoed: list[Any] = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "function":
            echoed.append(
                {
                    "type": "function",
                    "name": tool.get("name", ""),
                    "description": tool.get("description"),
                    "parameters": tool.get("parameters"),
                    "strict": tool.get("strict"),
                }
            )
        elif isinstance(tool, dict):
            echoed.append(tool)
    return echoed


class ResponsesScript:
    """Builds the event sequence (and the final Response object) for one Responses request."""

    def __init__(self, *, sim: Simulator, body: dict[str, Any], turn: Turn, empty_output: bool) -> None:
        n = sim.next_id()
        uid = sim.config.upstream_id
        self.sim = sim
        self.turn = turn
        self.empty_output = empty_output
        self.delta_count = sim.config.delta_count
        self.response_id = f"resp_{uid}_{n:06d}"
        self.item_prefix = f"{uid}_{n:06d}"
        self.steps: list[Step] = []
        self.output: list[dict[str, Any]] = []
        self.deltas_sent = 0
        self.sequence = 0
        self.stopped = False
        self.base: dict[str, Any] = {
            "id": self.response_id,
            "object": "response",
            "created_at": int(time.time()),
            "status": "in_progress",
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "metadata": body.get("metadata") or {},
            "model": body.get("model", ""),
            "output": [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": (body.get("reasoning") or {}).get("effort"), "summary": None},
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": _echo_tools(body.get("tools")),
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": None,
            "user": body.get("user"),
        }
        include = body.get("include")
        self.encrypted = isinstance(include, list) and "reasoning.encrypted_content" in include
        self.tool_name = tool_to_call(body, turn)
        self.input_tokens = len(turn.text.split())

    # The sequence --------------------------------------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        event["sequence_number"] = self.sequence
        self.sequence += 1
        self.steps.append(event)

    def _after_delta(self) -> None:
        """Faults that strike mid-stream strike after the second delta."""
        self.deltas_sent += 1
        if self.deltas_sent != 2 and not (self.deltas_sent == 1 and self.delta_count == 1):
            return
        d = self.turn.directives
        if "garbage" in d:
            self.steps.append(GARBAGE)
        if "stall" in d:
            self.steps.append(STALL)
        if "cut" in d:
            self.steps.append(CUT)
            self.stopped = True
        elif "fail" in d:
            self._terminal("response.failed", "failed")
            self.stopped = True

    def build(self) -> list[Step]:
        self._emit({"type": "response.created", "response": dict(self.base)})
        self._emit({"type": "response.in_progress", "response": dict(self.base)})
        if "think" in self.turn.directives:
            self.steps.append(THINK)
        index = 0
        if "reason" in self.turn.directives:
            self._reasoning(index)
            index += 1
        if self.tool_name is not None:
            self._function_call(index)
        elif "refuse" in self.turn.directives:
            self._message(index, refusal=True)
        else:
            self._message(index, refusal=False)
        if self.stopped:
            return self.steps
        if "incomplete" in self.turn.directives:
            self._terminal("response.incomplete", "incomplete")
        else:
            self._terminal("response.completed", "completed")
        return self.steps

    def _answer_text(self) -> str:
        if self.turn.tool_output is not None:
            return f"Tool said: {self.turn.tool_output}"
        return f"You said: {self.turn.text}"

    def _pieces(self, text: str) -> list[str]:
        pieces = split_deltas(text, self.delta_count)
        if "incomplete" in self.turn.directives:
            pieces = pieces[: max(1, len(pieces) // 2)]
        return pieces

    def _reasoning(self, index: int) -> None:
        item_id = f"rs_{self.item_prefix}"
        self._emit(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {"id": item_id, "type": "reasoning", "summary": []},
            }
        )
        summary = []
        for k, text in enumerate(SUMMARY_TEXTS):
            common = {"item_id": item_id, "output_index": index, "summary_index": k}
            empty_part = {"type": "summary_text", "text": ""}
            self._emit({"type": "response.reasoning_summary_part.added", **common, "part": empty_part})
            self._emit({"type": "response.reasoning_summary_text.delta", **common, "delta": text})
            self._emit({"type": "response.reasoning_summary_text.done", **common, "text": text})
            part = {"type": "summary_text", "text": text}
            self._emit({"type": "response.reasoning_summary_part.done", **common, "part": part})
            summary.append(part)
        item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": summary}
        if self.encrypted:
            item["encrypted_content"] = ENCRYPTED_REASONING
        self._emit({"type": "response.output_item.done", "output_index": index, "item": item})
        self.output.append(item)

    def _message(self, index: int, *, refusal: bool) -> None:
        item_id = f"msg_{self.item_prefix}"
        text = REFUSAL_TEXT if refusal else self._answer_text()
        pieces = self._pieces(text)
        sent = "".join(pieces)
        status = "incomplete" if "incomplete" in self.turn.directives else "completed"
        item_base = {"id": item_id, "type": "message", "role": "assistant"}
        self._emit(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item_base, "status": "in_progress", "content": []},
            }
        )
        common = {"item_id": item_id, "output_index": index, "content_index": 0}
        if refusal:
            empty_part: dict[str, Any] = {"type": "refusal", "refusal": ""}
            part: dict[str, Any] = {"type": "refusal", "refusal": sent}
        else:
            empty_part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": sent}
        self._emit({"type": "response.content_part.added", **common, "part": empty_part})
        for piece in pieces:
            if refusal:
                self._emit({"type": "response.refusal.delta", **common, "delta": piece})
            else:
                self._emit({"type": "response.output_text.delta", **common, "delta": piece, "logprobs": []})
            self._after_delta()
            if self.stopped:
                return
        if refusal:
            self._emit({"type": "response.refusal.done", **common, "refusal": sent})
        else:
            self._emit({"type": "response.output_text.done", **common, "text": sent, "logprobs": []})
        self._emit({"type": "response.content_part.done", **common, "part": part})
        item = {**item_base, "status": status, "content": [part]}
        self._emit({"type": "response.output_item.done", "output_index": index, "item": item})
        self.output.append(item)

    def _function_call(self, index: int) -> None:
        item_id = f"fc_{self.item_prefix}"
        call_id = f"call_{self.item_prefix}"
        arguments = orjson.dumps({"q": self.turn.text}).decode()
        pieces = self._pieces(arguments)
        sent = "".join(pieces)
        item_base = {"id": item_id, "type": "function_call", "call_id": call_id, "name": self.tool_name}
        self._emit(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": {**item_base, "arguments": "", "status": "in_progress"},
            }
        )
        common = {"item_id": item_id, "output_index": index}
        for piece in pieces:
            self._emit({"type": "response.function_call_arguments.delta", **common, "delta": piece})
            self._after_delta()
            if self.stopped:
                return
        self._emit({"type": "response.function_call_arguments.done", **common, "arguments": sent})
        status = "incomplete" if "incomplete" in self.turn.directives else "completed"
        item = {**item_base, "arguments": sent, "status": status}
        self._emit({"type": "response.output_item.done", "output_index": index, "item": item})
        self.output.append(item)

    def _terminal(self, kind: str, status: str) -> None:
        self._emit({"type": kind, "response": self.final_response(status)})

    def final_response(self, status: str) -> dict[str, Any]:
        """The Response object in its terminal state (``output`` emptied when the stream plays codex's quirk)."""
        response = dict(self.base)
        response["status"] = status
        response["output"] = [] if self.empty_output else list(self.output)
        response["usage"] = _responses_usage(self.input_tokens, self.deltas_sent, "reason" in self.turn.directives)
        if status == "completed":
            response["completed_at"] = response["created_at"]
        elif status == "incomplete":
            response["incomplete_details"] = {"reason": "max_output_tokens"}
        elif status == "failed":
            response["error"] = {"code": "server_error", "message": "The model failed to generate a response."}
        return response
