"""Real child processes for tests and benchmarks: wait until one serves HTTP, stop it the way Kubernetes does.

Kubernetes stops a pod with SIGTERM and, after the grace period, SIGKILL; :func:`stop` and
:func:`stop_sync` do the same, so a test sees the shutdown path a pod goes through. The waits poll an
HTTP endpoint until it answers 200 (``/readyz`` of the gateway or the controller).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

__all__ = ["stop", "stop_sync", "wait_for_output", "wait_http_ok", "wait_http_ok_sync"]


async def stop(process: asyncio.subprocess.Process, *, grace_seconds: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after ``grace_seconds``; returns the exit code (negative when killed)."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=grace_seconds)
        except TimeoutError:
            process.kill()
            await process.wait()
    code = process.returncode
    assert code is not None
    return code


def stop_sync(process: subprocess.Popen[bytes], *, grace_seconds: float = 10.0) -> int:
    """:func:`stop` for a :class:`subprocess.Popen` child."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return process.returncode


async def wait_http_ok(
    url: str, *, timeout_seconds: float = 30.0, session: aiohttp.ClientSession | None = None
) -> None:
    """Poll ``url`` until it answers 200; TimeoutError after ``timeout_seconds``."""
    async with contextlib.AsyncExitStack() as stack:
        client = session if session is not None else await stack.enter_async_context(aiohttp.ClientSession())
        async with asyncio.timeout(timeout_seconds):
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with client.get(url) as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.05)


def wait_http_ok_sync(
    url: str, *, timeout_seconds: float = 30.0, alive: Callable[[], bool] | None = None, log: Path | None = None
) -> None:
    """Poll ``url`` until it answers 200; AssertionError when ``alive()`` turns False or time runs out.

    The failure message ends with the tail of ``log`` (the process's output), when given.
    """

    def describe() -> str:
        return f": {log.read_text(errors='replace')[-2000:]}" if log is not None and log.exists() else ""

    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise AssertionError(f"the process exited before {url} answered{describe()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {timeout_seconds} s{describe()}")


def wait_for_output(path: Path, marker: str, process: subprocess.Popen[bytes], *, limit_seconds: float = 30.0) -> str:
    """The output ``process`` has written to ``path`` once it contains ``marker``; a test failure, showing that
    output, if the process exits first or ``limit_seconds`` pass."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace")
        if marker in text:
            return text
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited with {process.returncode}:\n{text}")
        time.sleep(0.05)
    pytest.fail(f"no {marker!r} within {limit_seconds} s:\n{path.read_text(errors='replace')}")
