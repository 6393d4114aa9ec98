"""`/v1/responses` pass-through helpers for backends that always stream (codex).

* `ResponseFolder`: a caller that did not ask to stream gets one Responses object, folded from the forced
  upstream stream, with an empty `output` rebuilt (docs/bridge.md).
* `ResponsesStreamRecovery`: a streaming caller gets the upstream events as they are, except that a terminal
  `response.completed` / `response.incomplete` whose `output` is empty is rewritten to carry the recovered items,
  so SDK clients that read `response.output` (e.g. `output_text`) see the answer.

Both feed `recovery.OutputCollector` once per event, like the chat direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.bridge import errors
from gateway.bridge.recovery import NOT_NEEDED, OutputCollector, RecoveryOutcome
from gateway.schemas.responses import FAILED_EVENTS, OK_TERMINAL_EVENTS

__all__ = ["ResponseFoldResult", "ResponseFolder", "ResponsesStreamRecovery"]


@dataclass(frozen=True, slots=True)
class ResponseFoldResult:
    """The final Responses object (output recovered when empty), or the error to answer with."""

    response: dict[str, Any] | None
    error: errors.ChatError | None
    recovery: RecoveryOutcome


def _is_terminal(event: dict[str, Any]) -> bool:
    kind = event.get("type")
    return isinstance(kind, str) and kind in OK_TERMINAL_EVENTS


def _is_error(event: dict[str, Any]) -> bool:
    kind = event.get("type")
    if isinstance(kind, str):
        return kind in FAILED_EVENTS
    return kind is None and isinstance(event.get("error"), dict)


class ResponseFolder:
    """Fold a forced upstream stream into one Responses object; the first terminal or error event wins."""

    __slots__ = ("_collector", "_model", "_result")

    def __init__(self, *, model: str | None = None) -> None:
        self._model = model
        self._collector = OutputCollector()
        self._result: ResponseFoldResult | None = None

    def feed(self, event: dict[str, Any]) -> None:
        if self._result is not None:
            return
        if _is_terminal(event) and isinstance(event.get("response"), dict):
            response = dict(event["response"])
            output, recovery = self._collector.outcome_for(response.get("output"))
            response["output"] = output
            if self._model is not None:
                response["model"] = self._model
            self._result = ResponseFoldResult(response=response, error=None, recovery=recovery)
        elif _is_error(event):
            self._result = ResponseFoldResult(response=None, error=errors.error_from_event(event), recovery=NOT_NEEDED)
        else:
            self._collector.feed(event)

    def result(self) -> ResponseFoldResult:
        """The folded answer; without a terminal event the upstream stream was truncated (502)."""
        if self._result is None:
            return ResponseFoldResult(response=None, error=errors.stream_truncated_error(), recovery=NOT_NEEDED)
        return self._result


class ResponsesStreamRecovery:
    """Forward events unchanged, except an empty terminal `output`, which gets the recovered items."""

    __slots__ = ("_collector", "recovery")

    def __init__(self) -> None:
        self._collector = OutputCollector()
        self.recovery: RecoveryOutcome = NOT_NEEDED

    def feed(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event to forward (a new dict when rewritten; the argument is never mutated)."""
        if _is_terminal(event):
            response = event.get("response")
            if isinstance(response, dict):
                output, self.recovery = self._collector.outcome_for(response.get("output"))
                if self.recovery.source is not None:
                    return {**event, "response": {**response, "output": output}}
            return event
        self._collector.feed(event)
        return event
