"""Failover over a route: retries of one alias with jittered backoff, then each fallback alias in order."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry

from gateway.errors import InvalidRequestError, UpstreamError, UpstreamUnavailableError
from gateway.metrics import GatewayMetrics
from gateway.routing.loading import CompiledTable, RouteTarget, compile_table
from gateway.upstream.failover import backoff_seconds, with_failover
from gateway.upstream.failures import UpstreamFailure
from tests.gateway.conftest import RouteSpec, build_table

RETRIES = {"retries": {"attempts": 2, "backoffSeconds": 0.5, "backoffMaxSeconds": 4}}


def _setup(*specs: RouteSpec) -> tuple[GatewayMetrics, CollectorRegistry, CompiledTable]:
    registry = CollectorRegistry()
    return GatewayMetrics(registry), registry, compile_table(build_table("http://127.0.0.1:1", list(specs)))


async def test_retries_then_falls_back_in_order_and_returns_the_first_success() -> None:
    metrics, registry, table = _setup(
        RouteSpec("main", settings={**RETRIES, "fallbacks": ["second", "main", "missing"]}),
        RouteSpec("second", model="m2", settings={"retries": {"attempts": 1}}),
    )
    tried: list[str] = []
    slept: list[float] = []

    async def attempt(target: RouteTarget) -> str:
        tried.append(target.alias)
        if target.alias == "main":
            raise UpstreamFailure(UpstreamUnavailableError("down"), retryable=True)
        return "answer from " + target.alias

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    result = await with_failover(
        table, table.targets["main"], attempt, metrics=metrics, rng=random.Random(1), sleep=sleep
    )
    assert result == "answer from second"
    assert tried == ["main", "main", "second"]  # 'main' is not tried again as a fallback; 'missing' is skipped
    assert len(slept) == 1
    assert 0.0 <= slept[0] <= 0.5
    assert registry.get_sample_value("aliasgate_upstream_retries_total", {"alias": "main"}) == 1
    assert registry.get_sample_value("aliasgate_fallbacks_total", {"alias": "main", "fallback": "second"}) == 1


async def test_a_non_retryable_failure_ends_the_chain_at_once() -> None:
    metrics, _, table = _setup(
        RouteSpec("main", settings={**RETRIES, "fallbacks": ["second"]}), RouteSpec("second", model="m2")
    )
    tried: list[str] = []

    async def attempt(target: RouteTarget) -> str:
        tried.append(target.alias)
        raise UpstreamFailure(InvalidRequestError("bad"), retryable=False)

    with pytest.raises(UpstreamFailure) as caught:
        await with_failover(table, table.targets["main"], attempt, metrics=metrics, rng=random.Random(1))
    assert tried == ["main"]
    assert caught.value.error.message == "bad"


def test_backoff_is_full_jitter_under_a_cap() -> None:
    rng = random.Random(7)
    draws = [backoff_seconds(attempt, base=0.5, cap=2.0, rng=rng) for attempt in range(6) for _ in range(50)]
    assert all(0.0 <= d <= 2.0 for d in draws)
    assert max(draws) > 1.5  # the cap, not the base, bounds the later attempts
    assert all(backoff_seconds(0, base=0.5, cap=2.0, rng=rng) <= 0.5 for _ in range(50))


async def test_each_alias_tried_is_reported_with_its_own_outcome() -> None:
    metrics, _, table = _setup(
        RouteSpec("main", settings={**RETRIES, "fallbacks": ["second", "third"]}),
        RouteSpec("second", model="m2", settings={"retries": {"attempts": 1}}),
        RouteSpec("third", model="m3", settings={"retries": {"attempts": 1}}),
    )
    reported: list[tuple[str, str | None]] = []

    async def attempt(target: RouteTarget) -> str:
        if target.alias != "third":
            raise UpstreamFailure(UpstreamUnavailableError(f"{target.alias} down"), retryable=True)
        return "answer"

    async def sleep(seconds: float) -> None:
        pass

    def report(alias: str, failure: UpstreamFailure | None) -> None:
        reported.append((alias, None if failure is None else failure.error.message))

    result = await with_failover(
        table, table.targets["main"], attempt, metrics=metrics, rng=random.Random(1), sleep=sleep, report=report
    )
    assert result == "answer"
    assert reported == [("main", "main down"), ("second", "second down"), ("third", None)]

    async def refused(target: RouteTarget) -> str:
        raise UpstreamFailure(InvalidRequestError("bad request"), retryable=False)

    reported.clear()
    with pytest.raises(UpstreamFailure):
        await with_failover(table, table.targets["main"], refused, metrics=metrics, rng=random.Random(1), report=report)
    assert reported == []  # the request's fault, not the alias's


@pytest.mark.parametrize(("asked", "least", "most"), [(None, 0.0, 0.5), (2.0, 2.0, 2.0), (30.0, 4.0, 4.0)])
async def test_a_retry_waits_at_least_the_upstream_retry_after_up_to_the_cap(
    asked: float | None, least: float, most: float
) -> None:
    metrics, _, table = _setup(RouteSpec("main", settings=RETRIES))
    slept: list[float] = []

    async def attempt(target: RouteTarget) -> str:
        raise UpstreamFailure(UpstreamError("Slow down.", status=429, retry_after=asked), retryable=True)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.raises(UpstreamFailure):
        await with_failover(table, table.targets["main"], attempt, metrics=metrics, rng=random.Random(3), sleep=sleep)
    assert len(slept) == 1
    assert least <= slept[0] <= most
