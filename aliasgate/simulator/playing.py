"""Sending a built script: the common path writes the whole answer in one response body (cheap, so the
simulator is a fair benchmark baseline); paced directives and faults get one write per step, with the
markers acted out (cut the connection, stall, think, send a non-JSON frame)."""

from __future__ import annotations

import asyncio
from typing import Final

from aiohttp import web

from aliasgate.simulator.state import simulator_key
from aliasgate.simulator.wire import CUT, GARBAGE, GARBAGE_FRAME, SSE_HEADERS, STALL, THINK, Encoder, Step

__all__ = ["PACED", "serve_script"]

PACED: Final = frozenset({"slow", "cut", "stall", "garbage", "think"})
"""Directives that need one write per event (the common path writes the whole answer at once)."""


async def _play(
    request: web.Request, steps: list[Step], encode: Encoder, tail: bytes, *, slow: float
) -> web.StreamResponse:
    """Send a script that needs pacing or a fault: one write per step, markers acted out."""
    sim = request.app[simulator_key]
    response = web.StreamResponse(headers={**SSE_HEADERS, "x-upstream-id": sim.config.upstream_id})
    await response.prepare(request)
    for step in steps:
        if step == CUT:
            # Drop the connection without a terminal event or the chunked trailer.
            if request.transport is not None:
                request.transport.close()
            return response
        if step == STALL:
            await asyncio.sleep(sim.config.stall_seconds)
            continue
        if step == THINK:
            await asyncio.sleep(sim.config.think_seconds)
            continue
        if step == GARBAGE:
            await response.write(GARBAGE_FRAME)
            continue
        if isinstance(step, dict):
            await response.write(encode(step))
        if slow:
            await asyncio.sleep(slow)
    if tail:
        await response.write(tail)
    await response.write_eof()
    return response


async def serve_script(
    request: web.Request, steps: list[Step], encode: Encoder, tail: bytes, directives: frozenset[str]
) -> web.StreamResponse:
    """Send ``steps`` encoded with ``encode``, then ``tail`` (``data: [DONE]`` for chat)."""
    sim = request.app[simulator_key]
    slow = "slow" in directives
    if not PACED.isdisjoint(directives):
        return await _play(request, steps, encode, tail, slow=sim.config.slow_interval_seconds if slow else 0.0)
    body = b"".join([encode(step) for step in steps if isinstance(step, dict)]) + tail
    return web.Response(body=body, headers={**SSE_HEADERS, "x-upstream-id": sim.config.upstream_id})
