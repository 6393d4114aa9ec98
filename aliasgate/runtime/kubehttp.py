"""aiohttp glue both planes' Kubernetes clients share (the controller's kubernetes-asyncio answers are aiohttp too).

:func:`body_chunks` hands a watch response's body to :func:`aliasgate.runtime.kubewatch.watch_lines`
as raw chunks, turning a body cut off mid-stream into
:class:`~aliasgate.runtime.kubeerrors.TransportError` so the loop backs off and resumes. Imports neither plane.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

from aliasgate.runtime.kubeerrors import TransportError

__all__ = ["body_chunks"]


async def body_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The body as it arrives; transport failures become :class:`TransportError` (its reason: the aiohttp type)."""
    try:
        async for chunk in response.content.iter_any():
            yield chunk
    except aiohttp.ClientError as exc:
        raise TransportError(type(exc).__name__, str(exc)) from exc
