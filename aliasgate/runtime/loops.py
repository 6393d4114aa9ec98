"""Which asyncio event loop a server process runs on: uvloop where it is installed, else the standard one.

uvloop runs the selector, the transports and the callback queue in C; for the gateway that is about a
third of the CPU a request costs (see docs/gateway.md, "Performance"). It is optional: ``auto`` falls
back to the standard loop when it cannot be imported (another platform, another interpreter), and
``asyncio`` always uses the standard loop, which stays supported and tested.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar, get_args

__all__ = [
    "EVENT_LOOPS",
    "EventLoopChoice",
    "EventLoopUnavailableError",
    "loop_factory",
    "resolve",
    "run",
    "running_loop_name",
]

EventLoopChoice = Literal["auto", "uvloop", "asyncio"]
EVENT_LOOPS: tuple[str, ...] = get_args(EventLoopChoice)

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


class EventLoopUnavailableError(RuntimeError):
    """``uvloop`` was asked for by name but cannot be imported."""


def _uvloop_factory() -> LoopFactory | None:
    try:
        module = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: LoopFactory = module.new_event_loop
    return factory


def resolve(choice: EventLoopChoice) -> tuple[str, LoopFactory | None]:
    """The loop actually used for ``choice`` (``uvloop`` or ``asyncio``) and its factory (None: the standard one)."""
    if choice == "asyncio":
        return "asyncio", None
    factory = _uvloop_factory()
    if factory is not None:
        return "uvloop", factory
    if choice == "uvloop":
        raise EventLoopUnavailableError("--event-loop uvloop: uvloop is not installed (pip install uvloop)")
    return "asyncio", None


def loop_factory(choice: EventLoopChoice) -> LoopFactory | None:
    """The factory for ``choice``, as ``asyncio.Runner(loop_factory=...)`` takes it."""
    return resolve(choice)[1]


def run(main: Coroutine[Any, Any, T], *, choice: EventLoopChoice = "auto") -> T:
    """``asyncio.run`` on the chosen loop (a coroutine that is not run is closed, never leaked)."""
    try:
        factory = loop_factory(choice)
    except EventLoopUnavailableError:
        main.close()
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def running_loop_name() -> str:
    """``uvloop`` or ``asyncio``: which loop runs the calling coroutine (for the startup log line)."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.split(".", 1)[0] == "uvloop" else "asyncio"
