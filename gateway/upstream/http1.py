"""HTTP/1.1 on the upstream side, as pure functions over bytes: the request we send, the response head we
read, and the body framing (Content-Length, chunked, or until the connection closes).

Why not aiohttp's client: it is general (cookies, redirects, proxies, tracing, multipart) and that generality
was a quarter of the gateway's CPU per request. Upstream calls are always one POST of a JSON body to a known
URL, so :mod:`gateway.upstream.connections` speaks HTTP/1.1 itself with these helpers. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

__all__ = [
    "MAX_HEAD_BYTES",
    "ChunkedDecoder",
    "Framing",
    "Head",
    "HeadError",
    "encode_request",
    "parse_head",
]

MAX_HEAD_BYTES = 64 * 1024
"""A response head (status line and headers) larger than this is refused, as aiohttp's parser does."""

Framing = Literal["length", "chunked", "close", "none"]


class HeadError(ValueError):
    """A response head or chunk framing that is not HTTP/1.x."""


def _check_header(name: str, value: str) -> None:
    if "\r" in name or "\n" in name or ":" in name or "\r" in value or "\n" in value:
        raise ValueError("Newline or carriage return character detected in an HTTP header; refusing to send it.")


def encode_request(url: URL, headers: dict[str, str] | CIMultiDict[str], body: bytes) -> bytes:
    """``POST`` request bytes: request line, ``Host``, the given headers, ``Content-Length``, then the body.

    A header name or value with CR/LF (header injection) raises ValueError, as aiohttp does."""
    host = url.raw_host or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if not url.is_default_port() and url.explicit_port is not None:
        host = f"{host}:{url.explicit_port}"
    lines = [f"POST {url.raw_path_qs} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if name.lower() in ("host", "content-length", "transfer-encoding", "connection"):
            continue
        _check_header(name, value)
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    lines.append("")
    lines.append("")
    return "\r\n".join(lines).encode("latin-1") + body


@dataclass(frozen=True, slots=True)
class Head:
    """A parsed response head."""

    status: int
    reason: str
    headers: CIMultiDictProxy[str]
    framing: Framing
    length: int
    """Body length for ``length`` framing (else 0)."""
    keep_alive: bool
    """The connection may carry another request once this body is read to its end."""
    content_type: str
    """The media type, lower case, without parameters (``application/octet-stream`` when absent)."""


def _media_type(raw: str | None) -> str:
    if not raw:
        return "application/octet-stream"
    return raw.split(";", 1)[0].strip().lower()


def parse_head(data: bytes | bytearray, *, request_method: str = "POST") -> tuple[Head, int] | None:
    """The head at the start of ``data`` and its length in bytes, or None while it is incomplete.

    Raises :class:`HeadError` for anything that is not an HTTP/1.x response head."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > MAX_HEAD_BYTES:
            raise HeadError("response head too large")
        return None
    text = bytes(data[:end]).decode("latin-1")
    lines = text.split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise HeadError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HeadError(f"malformed response header line: {line[:80]!r}")
        headers.add(name, value.strip(" \t"))
    status = int(code)
    connection = headers.get("Connection", "").lower()
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    framing: Framing
    length = 0
    if request_method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        framing = "none"
    elif "chunked" in headers.get("Transfer-Encoding", "").lower():
        framing = "chunked"
    elif "Content-Length" in headers:
        values = {value.strip() for value in headers.getall("Content-Length")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise HeadError("bad Content-Length")
        framing, length = "length", int(next(iter(values)))
    else:
        framing, keep_alive = "close", False
    content_type = _media_type(headers.get("Content-Type"))
    return Head(status, reason, CIMultiDictProxy(headers), framing, length, keep_alive, content_type), end + 4


class ChunkedDecoder:
    """Incremental ``Transfer-Encoding: chunked`` decoder: bytes in, body pieces out, ``done`` after the last
    chunk and its trailers. Chunks may be split anywhere across feeds."""

    __slots__ = ("_buffer", "_remaining", "_state", "done")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._remaining = 0
        self._state: Literal["size", "data", "data_end", "trailers"] = "size"
        self.done = False

    def feed(self, data: bytes) -> tuple[list[bytes], bytes]:
        """Body pieces decoded from ``data`` and whatever bytes follow the end of the body (normally none)."""
        buffer = self._buffer
        buffer += data
        pieces: list[bytes] = []
        position = 0
        while not self.done:
            state = self._state
            if state == "data":
                take = min(self._remaining, len(buffer) - position)
                if take == 0:
                    break
                pieces.append(bytes(buffer[position : position + take]))
                position += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = "data_end"
                continue
            end = buffer.find(b"\r\n", position)
            if end < 0:
                if len(buffer) - position > MAX_HEAD_BYTES:
                    raise HeadError("chunk size line or trailer too long")
                break
            line = bytes(buffer[position:end])
            position = end + 2
            if state == "data_end":
                if line:
                    raise HeadError("chunk data longer than its size")
                self._state = "size"
            elif state == "size":
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise HeadError(f"bad chunk size {size_text[:20]!r}") from None
                if size < 0:
                    raise HeadError("negative chunk size")
                if size == 0:
                    self._state = "trailers"
                else:
                    self._remaining = size
                    self._state = "data"
            elif not line:  # trailers: an empty line ends the body
                self.done = True
        rest = bytes(buffer[position:]) if self.done else b""
        del buffer[:position]
        if self.done:
            buffer.clear()
        return pieces, rest
