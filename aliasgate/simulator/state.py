"""Per-app state of one simulator: recorded requests, the fault queue, the id counter and random source.

Handlers reach it as ``request.app[simulator_key]``; tests read :attr:`Simulator.requests` and call
:meth:`Simulator.enqueue` directly.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from aliasgate.simulator.config import SimulatorConfig
from aliasgate.simulator.directives import parse_fault

__all__ = ["RecordedRequest", "Simulator", "simulator_key"]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the simulator saw it; secrets in headers are redacted."""

    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased names; ``authorization`` is ``"Bearer ***"`` and ``api-key`` is ``"***"``."""
    body: Any
    """Parsed JSON body, or None when there was none or it was not JSON."""

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "headers": self.headers, "body": self.body}


@dataclass(slots=True)
class Simulator:
    """Per-app state: the recorded requests, the fault queue, id counter and random source."""

    config: SimulatorConfig
    requests: list[RecordedRequest] = field(default_factory=list)
    _faults: deque[str] = field(default_factory=deque)
    _counter: int = 0
    _random: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._random = random.Random(self.config.seed)

    def enqueue(self, fault: str, count: int = 1) -> None:
        """Apply ``fault`` (a directive name, e.g. ``"cut"`` or ``"status:503"``) to the next ``count`` requests."""
        parse_fault(fault)
        if count < 1:
            raise ValueError("count must be at least 1")
        self._faults.extend([fault] * count)

    def take_fault(self) -> str | None:
        return self._faults.popleft() if self._faults else None

    @property
    def queued_faults(self) -> int:
        """How many requests the fault queue will still strike."""
        return len(self._faults)

    def clear(self) -> None:
        """Forget recorded requests and queued faults."""
        self.requests.clear()
        self._faults.clear()

    def next_id(self) -> int:
        self._counter += 1
        return self._counter

    def draw(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        return self._random.random() < rate


simulator_key: Final = web.AppKey("simulator", Simulator)
