"""The one list-then-watch loop, driven by scripted list and watch callables (the policy, step by step).

End-to-end runs against the test API server are in tests/controller/test_watching.py (the controller's
watchers) and tests/gateway/kube/ (the gateway's table source and Secret store); here each branch of the
policy is pinned down with answers we choose.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import orjson
import pytest

from aliasgate.runtime.kubeerrors import ForbiddenError, GoneError, KubeApiError, TransportError
from aliasgate.runtime.kubewatch import (
    Changed,
    InactiveError,
    Listed,
    Restarting,
    WatchEvent,
    WatchPolicy,
    list_then_watch,
    watch_lines,
)

Query = dict[str, str]


def obj(name: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": version}}


def line(kind: str, body: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": kind, "object": body}) + b"\n"


class Script:
    """Answers for successive list and watch requests, and a record of what was asked."""

    def __init__(self, lists: list[Any], watches: list[Any]) -> None:
        self.lists = list(lists)
        self.watches = list(watches)
        self.list_queries: list[Query] = []
        self.watch_queries: list[Query] = []
        self.sleeps: list[float] = []

    async def list_page(self, query: Mapping[str, str]) -> Mapping[str, Any]:
        self.list_queries.append(dict(query))
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, dict)
        return answer

    @contextlib.asynccontextmanager
    async def open_watch(self, query: Mapping[str, str]) -> AsyncIterator[AsyncIterator[bytes]]:
        self.watch_queries.append(dict(query))
        if not self.watches:
            await asyncio.Event().wait()  # nothing more scripted: hang until cancelled
        answer = self.watches.pop(0)
        if isinstance(answer, Exception):
            raise answer
        yield chunks(answer)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def chunks(parts: list[Any]) -> AsyncIterator[bytes]:
    for part in parts:
        if isinstance(part, Exception):
            raise part
        if part == "silence":
            await asyncio.Event().wait()
        yield part


async def take(script: Script, count: int, **kwargs: Any) -> list[WatchEvent]:
    events: list[WatchEvent] = []
    stream = list_then_watch(
        list_page=script.list_page,
        open_watch=script.open_watch,
        rng=random.Random(1),
        sleep=script.sleep,
        **kwargs,
    )
    async with contextlib.aclosing(stream), asyncio.timeout(5):
        async for event in stream:
            events.append(event)
            if len(events) == count:
                break
    return events


def listing(version: str, *items: dict[str, Any], more: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": version}
    if more:
        meta["continue"] = more
    return {"items": list(items), "metadata": meta}


async def test_lists_then_watches_from_the_list_version_with_bookmarks_and_the_server_timeout() -> None:
    script = Script([listing("5", obj("a", "4"))], [[line("ADDED", obj("b", "6")), line("DELETED", obj("a", "7"))]])
    events = await take(script, 3, query={"fieldSelector": "metadata.name=a"}, policy=WatchPolicy())
    assert events == [
        Listed(items=[obj("a", "4")], version="5"),
        Changed(type="ADDED", object=obj("b", "6")),
        Changed(type="DELETED", object=obj("a", "7")),
    ]
    assert script.list_queries == [{"fieldSelector": "metadata.name=a"}]
    assert script.watch_queries == [
        {
            "fieldSelector": "metadata.name=a",
            "watch": "true",
            "resourceVersion": "5",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "300",
        }
    ]


async def test_a_clean_end_resumes_from_the_last_version_seen_including_bookmarks() -> None:
    bookmark = line("BOOKMARK", {"metadata": {"resourceVersion": "9"}})
    script = Script([listing("5")], [[line("MODIFIED", obj("a", "7")), bookmark], [line("ADDED", obj("b", "10"))]])
    events = await take(script, 3)
    assert [type(e) for e in events] == [Listed, Changed, Changed]  # the bookmark itself is not an event
    assert [q["resourceVersion"] for q in script.watch_queries] == ["5", "9"]
    assert len(script.list_queries) == 1
    assert script.sleeps == []


@pytest.mark.parametrize(
    "gone",
    [GoneError(410, "Expired", "too old"), [line("ERROR", {"code": 410, "reason": "Expired", "message": "too old"})]],
    ids=["http-410", "error-event-410"],
)
async def test_410_relists_at_once(gone: Any) -> None:
    script = Script([listing("5"), listing("20", obj("a", "19"))], [gone])
    events = await take(script, 3)
    assert isinstance(events[1], Restarting)
    assert (events[1].cause, events[1].delay_seconds) == ("expired", 0.0)
    assert isinstance(events[1].error, GoneError)
    assert events[2] == Listed(items=[obj("a", "19")], version="20")
    assert script.sleeps == []


async def test_a_list_answering_410_is_an_error_that_backs_off_not_a_hot_relist_loop() -> None:
    script = Script([GoneError(410, "Expired"), listing("3")], [])
    events = await take(script, 2)
    assert isinstance(events[0], Restarting)
    assert events[0].cause == "error"
    assert not isinstance(events[0].error, GoneError)
    assert events[0].error.status == 410 if isinstance(events[0].error, KubeApiError) else False
    assert script.sleeps == [events[0].delay_seconds]
    assert events[1] == Listed(items=[], version="3")


async def test_silence_resumes_from_the_last_version_without_backoff() -> None:
    script = Script([listing("5")], [[line("ADDED", obj("a", "6")), "silence"], [line("ADDED", obj("b", "8"))]])
    events = await take(script, 4, policy=WatchPolicy(inactivity_seconds=0.05))
    assert isinstance(events[2], Restarting)
    assert (events[2].cause, events[2].delay_seconds) == ("inactivity", 0.0)
    assert isinstance(events[2].error, InactiveError)
    assert [q["resourceVersion"] for q in script.watch_queries] == ["5", "6"]
    assert script.sleeps == []


async def test_errors_back_off_with_jitter_growing_to_the_cap_and_progress_resets_it() -> None:
    refused = ForbiddenError(403, "Forbidden", "no")
    script = Script(
        [refused, refused, refused, refused, refused, refused, refused, listing("5")],
        [[line("ADDED", obj("a", "6")), TransportError("ClientPayloadError", "cut")], [line("ADDED", obj("b", "7"))]],
    )
    events = await take(script, 11)
    delays = [e.delay_seconds for e in events if isinstance(e, Restarting)]
    ceilings = [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert len(delays) == 8
    for delay, ceiling in zip(delays, ceilings, strict=False):
        assert ceiling / 2 <= delay <= ceiling
    # the list succeeded and the watch delivered an event: the failure after it starts from the base again
    assert 0.1 <= delays[7] <= 0.2
    assert script.sleeps == delays
    assert [q["resourceVersion"] for q in script.watch_queries] == ["5", "6"]  # resumed, not re-listed


async def test_a_malformed_line_is_a_failure_that_resumes_from_the_last_good_version() -> None:
    script = Script([listing("5")], [[line("ADDED", obj("a", "6")), b"{not json\n"], [line("ADDED", obj("b", "7"))]])
    events = await take(script, 4)
    assert isinstance(events[2], Restarting)
    assert events[2].cause == "error"
    assert isinstance(events[2].error, ValueError)
    assert events[3] == Changed(type="ADDED", object=obj("b", "7"))
    assert [q["resourceVersion"] for q in script.watch_queries] == ["5", "6"]


async def test_other_error_events_are_api_errors_of_their_status() -> None:
    script = Script([listing("5")], [[line("ERROR", {"code": 403, "reason": "Forbidden", "message": "denied"})]])
    events = await take(script, 2)
    assert isinstance(events[1], Restarting)
    assert isinstance(events[1].error, ForbiddenError)
    assert events[1].error.message == "denied"


async def test_pages_are_followed_and_yield_one_listing() -> None:
    script = Script([listing("1", obj("a", "1"), more="t1"), listing("2", obj("b", "2"))], [])
    events = await take(script, 1, policy=WatchPolicy(page_size=1))
    assert events == [Listed(items=[obj("a", "1"), obj("b", "2")], version="2")]
    assert script.list_queries == [{"limit": "1"}, {"limit": "1", "continue": "t1"}]


async def watch_lines_of(parts: list[bytes], inactivity: float = 1.0) -> list[bytes]:
    async def source() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    return [piece async for piece in watch_lines(source(), inactivity_seconds=inactivity)]


async def test_lines_of_any_length_across_chunks_and_a_last_line_without_newline() -> None:
    big = b"x" * 300_000
    assert await watch_lines_of([b"a\n\nb", big, b"\nc"]) == [b"a", b"b" + big, b"c"]


async def test_silence_raises_inactive_error() -> None:
    async def silent() -> AsyncIterator[bytes]:
        yield b"a\n"
        await asyncio.Event().wait()
        yield b"never"

    lines = watch_lines(silent(), inactivity_seconds=0.05)
    assert await anext(lines) == b"a"
    with pytest.raises(InactiveError):
        await anext(lines)


def test_backoff_policy_is_full_jitter_over_the_upper_half() -> None:
    policy = WatchPolicy()
    rng = random.Random(7)
    samples: Iterator[float] = (policy.backoff(10, rng) for _ in range(200))
    assert all(2.5 <= s <= 5.0 for s in samples)
    assert 0.1 <= policy.backoff(0, rng) <= 0.2
