"""A scripted Chat Completions upstream for agent clients: it asks for a shell command, then reads its output.

Agents such as Codex CLI declare their own tools (``exec_command`` with a ``cmd`` string, or ``shell`` with a
``command`` list) and wrap the prompt in context messages, so the simulator's ``#tool`` directive (``{"q": …}``
to the first tool) cannot drive them. This upstream plays a model that follows one rule:

* the last message is a ``tool`` result → a text answer quoting it (``The command printed: …``);
* the last user text contains ``RUN: <command>`` → a call of the shell tool with that command;
* anything else → ``Plain answer: <the last user text>``.

It speaks only Chat Completions (``POST /v1/chat/completions``, stream with usage and ``[DONE]``, or JSON), as a
vLLM or Ollama server would, and records every body it receives.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from aiohttp import web

__all__ = ["ScriptedChat", "running_scripted_chat", "scripted_chat_app", "scripted_key"]

_RUN = "RUN:"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _shell_call(tools: list[Any], command: str) -> tuple[str, str]:
    """(tool name, JSON arguments) for running ``command`` with the shell tool the client declared."""
    names = [tool["function"]["name"] for tool in tools if isinstance(tool, dict) and tool.get("function")]
    if "exec_command" in names:
        return "exec_command", orjson.dumps({"cmd": command}).decode()
    if "shell" in names:
        return "shell", orjson.dumps({"command": ["bash", "-lc", command]}).decode()
    raise AssertionError(f"no shell tool among the declared tools {names}")


class ScriptedChat:
    """The script's state: the bodies received and a counter for ids."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The assistant message for a request (``content`` or ``tool_calls``) and its finish reason."""
        messages = body["messages"]
        last = messages[-1]
        if last["role"] == "tool":
            return {"content": f"The command printed: {_text(last['content']).strip()}", "finish_reason": "stop"}
        user = next(_text(m["content"]) for m in reversed(messages) if m["role"] == "user")
        if _RUN in user:
            command = user.split(_RUN, 1)[1].strip().splitlines()[0]
            name, arguments = _shell_call(body.get("tools") or [], command)
            function = {"name": name, "arguments": arguments}
            call = {"id": f"call_script_{next(self._ids)}", "type": "function", "function": function}
            return {"tool_calls": [call], "finish_reason": "tool_calls"}
        return {"content": f"Plain answer: {user.strip()}", "finish_reason": "stop"}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        answer = self.answer(body)
        finish = answer.pop("finish_reason")
        base = {"id": f"chatcmpl-script-{next(self._ids)}", "created": 1, "model": body["model"]}
        usage = {
            "prompt_tokens": len(body["messages"]),
            "completion_tokens": 5,
            "total_tokens": len(body["messages"]) + 5,
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": None, **answer}
            choice = {"index": 0, "message": message, "finish_reason": finish}
            return web.json_response({**base, "object": "chat.completion", "choices": [choice], "usage": usage})
        chunk = {**base, "object": "chat.completion.chunk"}
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if "content" in answer:
            text = answer["content"]
            middle = len(text) // 2
            deltas += [{"content": text[:middle]}, {"content": text[middle:]}]
        else:
            for index, call in enumerate(answer["tool_calls"]):
                arguments = call["function"]["arguments"]
                head = {**call, "index": index, "function": {"name": call["function"]["name"], "arguments": ""}}
                deltas += [
                    {"tool_calls": [head]},
                    {"tool_calls": [{"index": index, "function": {"arguments": arguments}}]},
                ]
        frames = [{**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
        frames.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            frames.append({**chunk, "choices": [], "usage": usage})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for frame in frames:
            await response.write(b"data: " + orjson.dumps(frame) + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


scripted_key = web.AppKey("scripted", ScriptedChat)


def scripted_chat_app() -> web.Application:
    app = web.Application()
    script = ScriptedChat()
    app[scripted_key] = script
    app.router.add_post("/v1/chat/completions", script.handle)
    return app


@contextmanager
def running_scripted_chat() -> Iterator[tuple[str, ScriptedChat]]:
    """Serve the script on a loopback port from a background thread: (its ``/v1`` base URL, the script)."""
    loop = asyncio.new_event_loop()
    app = scripted_chat_app()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        return int(server.sockets[0].getsockname()[1])

    port = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, name="scripted-chat", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1", app[scripted_key]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.run_until_complete(runner.cleanup())
        loop.close()
