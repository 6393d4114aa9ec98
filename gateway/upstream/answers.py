"""UpstreamAnswer: what the handlers and the prober read from an upstream response, whoever sent it.

Two senders satisfy it: the gateway's own connection pool (:mod:`gateway.upstream.connections`, the default)
and an aiohttp ``ClientResponse`` (when the app is given an aiohttp connector). Reading code depends only on
this protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["BodyReader", "UpstreamAnswer"]


class BodyReader(Protocol):
    async def readany(self) -> bytes:
        """What has arrived (waiting for something); ``b""`` at the end of the body."""
        ...

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes of what has arrived; ``b""`` at the end of the body."""
        ...


class UpstreamAnswer(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content_type(self) -> str: ...

    @property
    def content(self) -> BodyReader: ...

    async def read(self) -> bytes:
        """The whole body."""
        ...

    def release(self) -> Any:
        """Done with the answer (an unread rest closes its connection)."""
        ...

    def close(self) -> None:
        """Drop the connection whatever was read."""
        ...
