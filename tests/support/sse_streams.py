"""Reading a chat stream the way a client sees it, to judge how it ended: complete, cut with an error frame, or
broken off (the one ending a client must never see)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

__all__ = ["ChatStream", "read_chat_stream"]


@dataclass
class ChatStream:
    """What one client received: the text, every ``data:`` payload in order, and how the body ended."""

    status: int = 0
    text: str = ""
    payloads: list[Any] = field(default_factory=list)
    broken: bool = False
    """The body ended without a proper end (a cut connection or a truncated chunked body)."""
    ended_at: float = 0.0
    """``time.monotonic()`` when the body ended."""
    error_at: float | None = None
    """``time.monotonic()`` when an error frame arrived."""

    @property
    def error(self) -> dict[str, Any] | None:
        for payload in self.payloads:
            error = payload.get("error") if isinstance(payload, dict) else None
            if isinstance(error, dict):
                return error
        return None

    @property
    def complete(self) -> bool:
        """Ended with ``[DONE]`` and no error frame."""
        return not self.broken and self.error is None and self.payloads[-1:] == ["[DONE]"]

    @property
    def cut_at_shutdown(self) -> bool:
        """Ended with the shutdown's error frame followed by ``[DONE]``, and nothing after."""
        last = self.payloads[-2:]
        return (
            not self.broken
            and len(last) == 2
            and last[1] == "[DONE]"
            and isinstance(last[0], dict)
            and last[0].get("error", {}).get("code") == "server_shutting_down"
            and last[0]["error"].get("type") == "server_error"
        )


async def read_chat_stream(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], first_content: asyncio.Event | None = None
) -> ChatStream:
    """POST a streaming chat request and read it to its end; ``first_content`` is set at the first text."""
    result = ChatStream()
    try:
        async with session.post(url, json=body) as resp:
            result.status = resp.status
            async for line in resp.content:
                if not line.startswith(b"data: "):
                    continue
                data = line[6:].strip()
                if data == b"[DONE]":
                    result.payloads.append("[DONE]")
                    continue
                chunk = orjson.loads(data)
                result.payloads.append(chunk)
                if isinstance(chunk.get("error"), dict):
                    result.error_at = time.monotonic()
                for choice in chunk.get("choices") or []:
                    result.text += choice.get("delta", {}).get("content") or ""
                if result.text and first_content is not None:
                    first_content.set()
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
        result.broken = True
    result.ended_at = time.monotonic()
    return result
