"""Serve an aiohttp app on a loopback port from a background thread, for synchronous clients.

The openai SDK's sync client blocks the thread it runs in, so the server cannot share the test's event
loop; it gets its own loop in a daemon thread. Async tests use pytest-aiohttp's ``aiohttp_server`` instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiohttp import web


@contextmanager
def serve_in_thread(make_app: Callable[[], web.Application], *, host: str = "127.0.0.1") -> Iterator[str]:
    """Run ``make_app()`` on ``host`` (a free port) until the block exits; yields the base URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, object] = {}

    async def start() -> web.AppRunner:
        runner = web.AppRunner(make_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        state["port"] = server.sockets[0].getsockname()[1]
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            state["runner"] = loop.run_until_complete(start())
        except BaseException as exc:
            state["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        runner = state["runner"]
        assert isinstance(runner, web.AppRunner)
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="served-app", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the app did not start within 10 s")
    if "error" in state:
        raise RuntimeError("the app failed to start") from state["error"]  # type: ignore[misc]
    try:
        yield f"http://{host}:{state['port']}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
