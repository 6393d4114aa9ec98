"""Logging: structlog JSON lines on stdout, stdlib loggers (aiohttp, asyncio) rendered the same way.

One ``request_completed`` line per request (written by the middleware); bodies and headers are
never logged wholesale. Exceptions are rendered without frame locals and every event passes
:mod:`aliasgate.runtime.redaction` last (credential-named keys blanked at any depth, credential-looking
text masked, size capped), in case a future call site gets it wrong.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from aliasgate.runtime.redaction import redact_event, render_exception

__all__ = ["configure_logging", "redact_secrets"]


def redact_secrets(logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
    """Replace the value of any key that names a credential, at any depth, and bound the event's size."""
    return redact_event(logger, name, event_dict)


def _orjson_dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def configure_logging(*, level: str = "info", json: bool = True, cache: bool = True) -> None:
    """Configure structlog and stdlib logging once per process (tests pass ``cache=False``)."""
    numeric = logging.getLevelName(level.upper())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[*shared, render_exception, redact_secrets, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(),  # sys.stdout at call time, so redirects work
        cache_logger_on_first_use=cache,
    )
    handler = logging.StreamHandler(sys.stdout)
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
