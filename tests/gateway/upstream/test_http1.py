"""HTTP/1.1 bytes of the upstream side: the request we write, the head we parse, chunked bodies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from gateway.upstream.http1 import ChunkedDecoder, HeadError, encode_request, parse_head


def test_request_has_host_length_and_the_given_headers_once() -> None:
    wire = encode_request(
        URL("http://up.example:8080/v1/chat/completions?api-version=2"),
        {"Authorization": "Bearer k", "content-length": "999", "Host": "evil"},
        b'{"a":1}',
    )
    head, _, body = wire.partition(b"\r\n\r\n")
    assert body == b'{"a":1}'
    assert head.split(b"\r\n") == [
        b"POST /v1/chat/completions?api-version=2 HTTP/1.1",
        b"Host: up.example:8080",
        b"Authorization: Bearer k",
        b"Content-Length: 7",
    ]
    assert encode_request(URL("https://api.example/x"), {}, b"").startswith(
        b"POST /x HTTP/1.1\r\nHost: api.example\r\n"
    )


@pytest.mark.parametrize(("name", "value"), [("X-A", "v\r\nX-Injected: 1"), ("X-A\nB", "v"), ("X-A", "v\n")])
def test_header_injection_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="Newline or carriage return"):
        encode_request(URL("http://h/x"), {name: value}, b"")


def test_head_parsing_framing_and_keep_alive() -> None:
    assert parse_head(b"HTTP/1.1 200 OK\r\nContent-Le") is None
    head, used = parse_head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: Application/JSON; charset=utf-8\r\n\r\nhello"
    ) or (None, 0)
    assert head is not None
    assert (head.status, head.reason, head.framing, head.length, head.keep_alive, used) == (
        200,
        "OK",
        "length",
        5,
        True,
        85,
    )
    assert head.content_type == "application/json"
    chunked = parse_head(
        b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nRetry-After: 7\r\n\r\n"
    )
    assert chunked is not None
    assert (chunked[0].framing, chunked[0].keep_alive, chunked[0].headers["retry-after"]) == ("chunked", False, "7")
    old = parse_head(b"HTTP/1.0 200 OK\r\n\r\n")
    assert old is not None
    assert (old[0].framing, old[0].keep_alive, old[0].content_type) == ("close", False, "application/octet-stream")
    assert (parse_head(b"HTTP/1.1 204 No Content\r\n\r\n") or (None,))[0].framing == "none"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "head",
    [b"SPDY/3 200 OK\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"],
)  # fmt: skip
def test_bad_heads_are_refused(head: bytes) -> None:
    with pytest.raises(HeadError):
        parse_head(head)


def test_an_endless_head_is_refused() -> None:
    with pytest.raises(HeadError, match="too large"):
        parse_head(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000)


def _chunked(pieces: list[bytes]) -> bytes:
    return (
        b"".join(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece) for piece in pieces if piece) + b"0\r\nTrailer: x\r\n\r\n"
    )


@given(st.lists(st.binary(min_size=1, max_size=40), max_size=8), st.lists(st.integers(1, 30), min_size=1, max_size=20))
def test_chunked_bodies_decode_however_the_bytes_are_split(pieces: list[bytes], cuts: list[int]) -> None:
    wire = _chunked(pieces) + b"NEXT"
    decoder = ChunkedDecoder()
    out: list[bytes] = []
    rest = b""
    position = 0
    for cut in [*cuts, len(wire)]:
        got, extra = decoder.feed(wire[position : position + cut])
        out += got
        rest += extra
        position += cut
        if decoder.done:
            break
    rest += wire[position:]  # what the connection would hand over after the body
    assert decoder.done
    assert b"".join(out) == b"".join(pieces)
    assert rest == b"NEXT"


@pytest.mark.parametrize("wire", [b"zz\r\n", b"3\r\nabcd\r\n", b"-1\r\n"])
def test_bad_chunk_framing_is_refused(wire: bytes) -> None:
    with pytest.raises(HeadError):
        ChunkedDecoder().feed(wire)
