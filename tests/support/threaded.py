"""Serve aiohttp apps on loopback ports from a background thread, for synchronous clients.

The openai SDK's sync client blocks the thread it runs in, so the servers cannot share the test's event loop;
they get their own loop in a daemon thread. Async tests use pytest-aiohttp's ``aiohttp_server`` instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aiohttp import web

__all__ = ["loop_in_thread", "serve_in_thread", "start_site"]

T = TypeVar("T")


async def start_site(
    app: web.Application, *, host: str = "127.0.0.1", shutdown_timeout: float = 60.0
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host`` at a free port; its runner (to clean up) and the port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    return runner, int(server.sockets[0].getsockname()[1])


@contextmanager
def loop_in_thread(
    start: Callable[[], Awaitable[T]],
    stop: Callable[[T], Awaitable[None]],
    *,
    name: str,
    timeout: float,
) -> Iterator[tuple[T, asyncio.AbstractEventLoop]]:
    """Run ``start()`` on a new loop in a daemon thread and keep that loop running until the block exits, then
    ``stop`` what it returned; yields that and the loop. A failure to start (or ``timeout`` seconds without
    one) is raised here, in the caller's thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            box["started"] = loop.run_until_complete(start())
        except BaseException as exc:
            box["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(stop(box["started"]))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if not ready.wait(timeout):
        raise RuntimeError(f"{name} did not start within {timeout:g} s")
    if "error" in box:
        raise RuntimeError(f"{name} failed to start") from box["error"]
    try:
        yield box["started"], loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)


@contextmanager
def serve_in_thread(make_app: Callable[[], web.Application], *, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``make_app()`` on ``host`` (a free port) until the block exits; yields the base URL."""

    async def start() -> tuple[web.AppRunner, int]:
        return await start_site(make_app(), host=host)

    async def stop(started: tuple[web.AppRunner, int]) -> None:
        await started[0].cleanup()

    with loop_in_thread(start, stop, name="served-app", timeout=10) as ((_, port), _loop):
        yield f"http://{host}:{port}"
