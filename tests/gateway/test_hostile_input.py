"""Generated hostile input against the four public operations, held to docs/openapi.yaml.

A gateway served the production way (``serve``: guarded connection layer, real port) runs in a thread with
the simulator behind it; hypothesis sends it request bodies built from the operations' schemas with every
field swapped for arbitrary JSON, arbitrary JSON documents, undecodable bytes, odd headers, hostile model
names and raw HTTP. Every answer must be one the description documents: no 5xx (the client caused
nothing the gateway may fail on), an ``ErrorEnvelope`` for every error, a documented success shape,
within a bounded time. Example counts are fixed so the module runs in well under a minute.
The hand-made cases of issue 15 are in test_hostile_requests.py and test_connection_limits.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import orjson
import pytest
import yaml
from aiohttp import web
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aliasgate.simulator import SimulatorConfig, create_simulator_app
from gateway.app import create_app, serve
from gateway.credentials.files import DirectoryCredentialStore
from gateway.keys import table_holder_key
from gateway.settings import GatewaySettings
from tests.gateway.conftest import DEFAULT_ROUTES, StaticTableSource, build_table, write_secrets
from tests.support.ports import free_port

OPENAPI = yaml.safe_load((Path(__file__).parents[2] / "docs" / "openapi.yaml").read_text())
ALIASES = [route.alias for route in DEFAULT_ROUTES]
ANSWER_SECONDS = 10.0
"""No answer may take longer (the simulator answers in milliseconds; nothing here streams slowly)."""
EXAMPLES = settings(
    max_examples=int(os.environ.get("ALIASGATE_HOSTILE_EXAMPLES", "250")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def _resolve(node: Any) -> Any:
    """The description's schema with every local ``$ref`` inlined (it has no cycles)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target: Any = OPENAPI
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            return _resolve(target)
        return {key: _resolve(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item) for item in node]
    return node


ENVELOPE = jsonschema.Draft202012Validator(_resolve(OPENAPI["components"]["schemas"]["ErrorEnvelope"]))


def _operation(path: str, method: str) -> dict[str, Any]:
    resolved: dict[str, Any] = _resolve(OPENAPI["paths"][path][method])
    return resolved


# ---------------------------------------------------------------- the gateway under test


@dataclass
class Target:
    port: int


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """Simulator + gateway on their own event loop in a thread, for the module's synchronous hypothesis tests."""
    root = tmp_path_factory.mktemp("hostile")
    port = free_port()
    ready = threading.Event()
    control: dict[str, Any] = {}
    failure: list[BaseException] = []

    async def main() -> None:
        sim = web.AppRunner(create_simulator_app(SimulatorConfig()))
        await sim.setup()
        sim_port = free_port()
        await web.TCPSite(sim, "127.0.0.1", sim_port).start()
        config = GatewaySettings(
            listen=f"127.0.0.1:{port}", admin_listen=f"127.0.0.1:{free_port()}", shutdown_grace_seconds=1.0,
            max_body_bytes=256 * 1024, header_read_timeout_seconds=2.0, body_read_timeout_seconds=2.0,
        )  # fmt: skip
        app = create_app(
            config,
            table_source=StaticTableSource(build_table(f"http://127.0.0.1:{sim_port}", DEFAULT_ROUTES)),
            credentials=DirectoryCredentialStore(write_secrets(root / "secrets")),
            probing=False,
        )
        stop = asyncio.Event()
        control["loop"], control["stop"] = asyncio.get_running_loop(), stop
        server = asyncio.create_task(serve(app, config, stop=stop))
        while not app[table_holder_key].loaded:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        ready.set()
        await server
        await sim.cleanup()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by the fixture below
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="hostile-gateway", daemon=True)
    thread.start()
    assert ready.wait(30), "the gateway did not start"
    assert not failure, failure
    yield Target(port)
    control["loop"].call_soon_threadsafe(control["stop"].set)
    thread.join(30)
    assert not failure, failure


# ---------------------------------------------------------------- a raw HTTP/1.1 client (any bytes, any header)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def exchange(target: Target, request: bytes) -> Answer:
    """Send one request (``Connection: close``) and read the whole answer."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", target.port), timeout=ANSWER_SECONDS) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            assert time.monotonic() - began < ANSWER_SECONDS, "answer took too long"
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return Answer(int(status_line.split()[1]), headers, body, time.monotonic() - began)


def http(method: str, path: bytes, body: bytes | None = None, headers: dict[bytes, bytes] | None = None) -> bytes:
    lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: gateway", b"Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(name + b": " + value)
    if body is not None:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def check(answer: Answer, path: str, method: str) -> None:
    """The answer is one docs/openapi.yaml documents for the operation (parser-level 400s for any path)."""
    event(f"HTTP {answer.status}")
    assert answer.status < 500, (answer.status, answer.body[:500])
    documented = _operation(path, method)["responses"]
    assert str(answer.status) in documented or answer.status in (400, 408, 413, 503), answer.status
    assert answer.seconds < ANSWER_SECONDS
    kind = answer.headers.get("content-type", "")
    if answer.status >= 400:
        assert kind.startswith("application/json"), (answer.status, kind, answer.body[:200])
        ENVELOPE.validate(orjson.loads(answer.body))
        return
    content = documented[str(answer.status)]["content"]
    if kind.startswith("text/event-stream"):
        assert "text/event-stream" in content
        assert answer.body.rstrip().endswith((b"data: [DONE]", b"}")), answer.body[-200:]
        return
    assert kind.startswith("application/json"), kind
    jsonschema.validate(orjson.loads(answer.body), content["application/json"]["schema"])


# ---------------------------------------------------------------- strategies

_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
content_parts = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio", "file"])}, optional={
        "text": st.one_of(st.text(max_size=30), json_values),
        "image_url": st.one_of(st.fixed_dictionaries({"url": st.text(max_size=30)}), json_values),
    }),
    json_values,
)  # fmt: skip
valid_messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "developer", "user", "assistant"])},
        optional={"content": st.one_of(st.text(max_size=40), st.lists(content_parts, max_size=2))},
    ),
    min_size=1,
    max_size=3,
)
functions = st.fixed_dictionaries({"name": st.text(min_size=1, max_size=8)}, optional={"parameters": json_values})
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "stream": st.booleans(),
    "temperature": st.floats(min_value=0, max_value=2),
    "max_tokens": st.integers(min_value=1, max_value=64),
    "max_output_tokens": st.integers(min_value=16, max_value=64),
    "stream_options": st.fixed_dictionaries({"include_usage": st.booleans()}),
    "tools": st.lists(st.fixed_dictionaries({"type": st.just("function"), "function": functions}), max_size=2),
    "tool_choice": st.sampled_from(["auto", "none", "required"]),
    "input": st.one_of(st.text(max_size=40), st.lists(json_values, max_size=3)),
    "instructions": st.text(max_size=20),
    "user": st.text(max_size=10),
    "metadata": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location inside a JSON document (the document itself included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def _mutated(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> Any:
    """A valid request with up to three of its locations (a field, a message, a role, ...) swapped for anything."""
    body = draw(valid)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        body = _replace(body, draw(st.sampled_from(_paths(body))), draw(json_values))
    return body


def _requests(schema_name: str, required: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    properties = OPENAPI["components"]["schemas"][schema_name]["properties"]
    optional = {name: PLAUSIBLE[name] for name in properties if name in PLAUSIBLE and name not in required}
    valid = st.fixed_dictionaries(required, optional=optional).flatmap(
        lambda body: st.dictionaries(st.text(max_size=12), json_values, max_size=1).map(lambda extra: extra | body)
    )
    return st.one_of(_mutated(valid), _mutated(valid), _mutated(valid), json_values)


chat_requests = _requests("ChatRequest", {"model": st.sampled_from(ALIASES), "messages": valid_messages})
responses_requests = _requests("ResponsesRequest", {"model": st.sampled_from(ALIASES)})
header_values = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
extra_headers = st.dictionaries(
    st.sampled_from([b"Authorization", b"Content-Type", b"X-Request-Id", b"Accept", b"Content-Encoding"]),
    header_values,
    max_size=3,
)


# ---------------------------------------------------------------- the properties


@EXAMPLES
@given(body=chat_requests, headers=extra_headers)
def test_chat_completions_never_fails_on_client_input(target: Target, body: Any, headers: dict[bytes, bytes]) -> None:
    path = "/v1/chat/completions"
    answer = exchange(target, http("POST", path.encode(), orjson.dumps(body), headers))
    check(answer, path, "post")


@EXAMPLES
@given(body=responses_requests, headers=extra_headers)
def test_responses_never_fails_on_client_input(target: Target, body: Any, headers: dict[bytes, bytes]) -> None:
    path = "/v1/responses"
    answer = exchange(target, http("POST", path.encode(), orjson.dumps(body), headers))
    check(answer, path, "post")


@EXAMPLES
@given(name=st.text(min_size=1, max_size=60), headers=extra_headers)
def test_models_never_fail_on_client_input(target: Target, name: str, headers: dict[bytes, bytes]) -> None:
    check(exchange(target, http("GET", b"/v1/models", None, headers)), "/v1/models", "get")
    answer = exchange(target, http("GET", b"/v1/models/" + quote(name, safe="").encode(), None, headers))
    check(answer, "/v1/models/{model}", "get")


@EXAMPLES
@given(
    path=st.sampled_from(["/v1/chat/completions", "/v1/responses"]),
    raw=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=100).map(str.encode),
        st.sampled_from([b"{", b"[]", b"null", b'"x"', b"1e999", b'{"model": 1e999}', b"\xff\xfe{}",
                         b'{"model": "team/chat", "messages": [{"role": "user"}], "max_tokens": 123456789012345678901234567890}',
                         b'{"model": "team/chat", "messages": [{"role": "user", "content": "\\ud800"}]}',
                         b'{"model": "team/chat", "model": "x", "messages": [{"role": "user"}]}']),
    ),
    content_type=st.sampled_from([b"application/json", b"text/plain", b"application/x-www-form-urlencoded", b""]),
)  # fmt: skip
def test_arbitrary_bytes_as_a_body_are_a_4xx(target: Target, path: str, raw: bytes, content_type: bytes) -> None:
    answer = exchange(target, http("POST", path.encode(), raw, {b"Content-Type": content_type}))
    check(answer, path, "post")


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=st.one_of(
        st.binary(min_size=1, max_size=300),
        st.builds(
            lambda method, target, version, headers: method + b" " + target + b" " + version + b"\r\n" + headers,
            st.sampled_from([b"POST", b"GET", b"PUT", b"\x00", b"G E T"]),
            st.one_of(st.just(b"/v1/chat/completions"), st.binary(max_size=30).map(lambda b: b.replace(b" ", b""))),
            st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/9.9", b"FOO"]),
            st.binary(max_size=100),
        ),
    )
)
def test_raw_http_garbage_gets_an_envelope_or_a_close(target: Target, request: bytes) -> None:
    """Whatever bytes arrive, the connection layer answers with an envelope (or closes): never a text/plain page."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", target.port), timeout=ANSWER_SECONDS) as sock:
        sock.sendall(request + b"\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    assert time.monotonic() - began < ANSWER_SECONDS
    if not raw:
        return  # closed without an answer: fine for bytes that are not a request at all
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    assert status < 500, raw[:300]
    assert b"content-type: application/json" in head.lower(), raw[:300]
    ENVELOPE.validate(orjson.loads(body[: int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])]))
