"""How the simulated upstream behaves: one frozen :class:`SimulatorConfig`, every knob deterministic by default."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SimulatorConfig"]


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """How the simulated upstream behaves; every knob has a deterministic default."""

    empty_output_rate: float = 0.0
    """Probability that a codex stream ends with ``response.completed`` whose ``output`` is ``[]`` (1.0 = always)."""
    seed: int | None = None
    """Seed of the random draws (only ``empty_output_rate`` draws)."""
    delta_count: int = 8
    """Deltas per answer (text, refusal or tool arguments)."""
    latency_seconds: float = 0.0
    """Added before answering each request."""
    require_auth: bool = True
    """Codex paths need ``Authorization: Bearer`` and ``ChatGPT-Account-Id``; others a Bearer (or ``api-key``)."""
    upstream_id: str = "sim"
    """Echoed in the ``x-upstream-id`` response header, and part of generated ids."""
    stall_seconds: float = 30.0
    """How long ``#stall`` stops sending mid-stream."""
    slow_interval_seconds: float = 0.05
    """Pause between events with ``#slow``."""
    think_seconds: float = 2.0
    """How long ``#think`` pauses before the first content, as a reasoning model does (after the stream's
    head: ``response.created``/``in_progress``, or the chat role chunk)."""
    record_requests: bool = True
    """Keep every request in :attr:`Simulator.requests` (benchmarks turn it off to keep memory flat)."""
    models: tuple[str, ...] = ("gpt-5.4", "gpt-5.4-mini", "gpt-4.1-mini")
    """Served by ``GET {prefix}/models``."""
