"""Draining: the shutdown's view of the public port — the draining flag and the requests still in flight.

``serve`` (in ``gateway.app``) sets the flag on SIGTERM, waits for the requests registered here to finish
within the grace, and at the deadline *cuts* those still running: each gets its task cancelled, marked as a
cut, so its handler (the stream relay or the request middleware) takes the cancellation back
(:meth:`Draining.take_cut`) and ends the answer itself — an error frame and the stream's closing frame, or a
503 — instead of the connection dying mid-answer. Any other cancellation of a request (aiohttp's, when the
client went away) is left alone: that is a client disconnect.
"""

from __future__ import annotations

import asyncio

__all__ = ["Draining"]


class Draining:
    """Set once shutdown began (``/readyz``, ``/status``); tracks the requests in flight for the drain."""

    __slots__ = ("_cuts", "_idle", "_running", "value")

    def __init__(self) -> None:
        self.value = False
        self._running: set[asyncio.Task[object]] = set()
        self._cuts: set[asyncio.Task[object]] = set()
        """Requests cut whose handler has not yet taken the cancellation back."""
        self._idle: asyncio.Event | None = None

    @property
    def running(self) -> int:
        return len(self._running)

    def enter(self, task: asyncio.Task[object]) -> None:
        """A request started (called by the request middleware, with the request's own task)."""
        self._running.add(task)

    def leave(self, task: asyncio.Task[object]) -> None:
        """The request's handler is done; a cut it never saw is forgotten."""
        self._running.discard(task)
        self._cuts.discard(task)
        if not self._running and self._idle is not None:
            self._idle.set()

    async def wait_idle(self, seconds: float) -> bool:
        """Wait up to ``seconds`` until no request is in flight; True when none is."""
        if not self._running:
            return True
        if self._idle is None or self._idle.is_set():
            self._idle = asyncio.Event()
        try:
            async with asyncio.timeout(max(0.0, seconds)):
                await self._idle.wait()
        except TimeoutError:
            return not self._running
        return True

    def cut(self) -> int:
        """Cancel every request still in flight, marked as a cut; returns how many."""
        tasks = [task for task in self._running if not task.done()]
        for task in tasks:
            self._cuts.add(task)
            task.cancel()
        return len(tasks)

    def take_cut(self) -> bool:
        """Called on a CancelledError in a request's task: True when it is this drain's cut, which is then
        taken back (the task is un-cancelled, once) so the handler can still write its last answer; False
        for any other cancellation, which the caller must re-raise."""
        task = asyncio.current_task()
        if task is None or task not in self._cuts:
            return False
        self._cuts.discard(task)
        task.uncancel()
        return True
