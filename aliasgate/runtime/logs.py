"""Logging for every process: structlog JSON lines, stdlib loggers (aiohttp, asyncio, kubernetes) rendered
the same way, and secret redaction as the last step before rendering.

One pipeline for both planes: ``python -m gateway`` logs to stdout, ``python -m controller`` to stderr,
the ``aliasgate`` command to stdout in console form (coloured only on a terminal, so files and pipes get
plain text; ``NO_COLOR`` turns colour off there too). Bodies and headers are never logged wholesale.
Exceptions are rendered without frame locals, and every event passes :mod:`aliasgate.runtime.redaction`
last (credential-named keys blanked at any depth, credential-looking text masked, size capped), in case
a future call site gets it wrong.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from aliasgate.runtime.redaction import redact_event, render_exception

__all__ = ["SECRET_KEYS", "Stream", "configure_logging", "redact_secrets", "wants_colour"]

SECRET_KEYS = frozenset(
    {"authorization", "api_key", "apikey", "access_token", "refresh_token", "token", "password", "secret"}
)
"""Examples of event keys whose values are never written (``[redacted]`` instead); the rule is
:func:`aliasgate.runtime.redaction.is_secret_key`, at any depth."""

Stream = Literal["stdout", "stderr"]


def redact_secrets(logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
    """Replace the value of any key that names a credential, at any depth, and bound the event's size."""
    return redact_event(logger, name, event_dict)


def _orjson_dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def _orjson_bytes(obj: Any, **_: Any) -> bytes:
    return orjson.dumps(obj, default=str)


class IsoUtcStamper:
    """``timestamp``: ISO 8601 UTC with microseconds (``2026-01-02T03:04:05.000006Z``), the date and time part
    formatted once per second. The gateway writes a line per request: structlog's own stamper builds a
    datetime for each and costs a third of the line."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        micros = min(999_999, round((now - second) * 1_000_000))  # a float's last digit is noise: round, not floor
        event_dict["timestamp"] = f"{self._prefix}.{micros:06d}Z"
        return event_dict


def _stream(name: Stream) -> TextIO:
    return sys.stderr if name == "stderr" else sys.stdout


def _json_logger(name: Stream) -> WrappedLogger:
    """Rendered bytes straight to the stream's binary buffer (no decode, no text layer); a text-only stream
    (one replaced by a test, say) gets the text logger."""
    stream = _stream(name)
    buffer = getattr(stream, "buffer", None)
    return structlog.PrintLogger(stream) if buffer is None else structlog.BytesLogger(buffer)


def wants_colour(stream: TextIO) -> bool:
    """Colour escapes only for a person at a terminal: never into a file, a pipe or a log collector,
    and not when ``NO_COLOR`` is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


def configure_logging(*, level: str = "info", json: bool = True, cache: bool = True, stream: Stream = "stdout") -> None:
    """Configure structlog and stdlib logging once per process (tests pass ``cache=False``).

    ``stream`` is resolved when a logger is made (``sys.stdout``/``sys.stderr`` as they are then; with
    ``cache=False`` that is every call), so redirects and test capture work.
    """
    numeric = logging.getLevelName(level.upper())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        IsoUtcStamper(),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if json
        else structlog.dev.ConsoleRenderer(
            colors=wants_colour(_stream(stream)), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            *shared,
            render_exception,
            redact_secrets,
            structlog.processors.JSONRenderer(serializer=_orjson_bytes) if json else renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=(lambda *_: _json_logger(stream))
        if json
        else (lambda *_: structlog.PrintLogger(_stream(stream))),
        cache_logger_on_first_use=cache,
    )
    handler = logging.StreamHandler(_stream(stream))
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                render_exception,
                redact_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    logging.getLogger("aiohttp.access").disabled = True
