"""What a log line may say about an unexpected exception in the request path: where, never what was in scope.

Renderers that print tracebacks with frame locals would copy request bodies, headers and credentials into
the logs, so the request path never logs with ``exc_info``. It logs these fields instead: the exception's
type and message, and its frames as ``file:line in function``.
"""

from __future__ import annotations

import traceback

__all__ = ["crash_fields"]

_MAX_FRAMES = 30
_MAX_MESSAGE = 200
"""An exception message is cut here: some quote the value they choked on, which may be a piece of a body."""


def crash_fields(exc: BaseException) -> dict[str, object]:
    """``error`` (type and message) and ``traceback`` (innermost frames last, no locals) of ``exc``."""
    frames = traceback.extract_tb(exc.__traceback__)[-_MAX_FRAMES:]
    message = str(exc)[:_MAX_MESSAGE]
    return {
        "error": f"{type(exc).__name__}: {message}" if message else type(exc).__name__,
        "traceback": [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames],
    }
