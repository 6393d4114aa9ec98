"""Read a simulator's raw SSE body into (event name, parsed data) pairs, independently of gateway code."""

from __future__ import annotations

from typing import Any

import orjson


def parse_sse(raw: bytes) -> list[tuple[str | None, Any]]:
    """Split on blank lines; ``[DONE]`` and non-JSON data stay as strings."""
    frames: list[tuple[str | None, Any]] = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        if not block.strip():
            continue
        name: str | None = None
        data: list[str] = []
        for line in block.decode().split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        text = "\n".join(data)
        try:
            frames.append((name, orjson.loads(text)))
        except orjson.JSONDecodeError:
            frames.append((name, text))
    return frames
