"""GatewayMetrics: every gateway metric of DESIGN §7, in a CollectorRegistry owned by one app.

Label values are bounded: ``alias`` comes from the routing table only (anything else is
``_unknown``), ``backend`` is a table backend key, ``code`` an HTTP status. Label children are
cached per label tuple so the hot path does one dict lookup instead of prometheus_client's
label validation on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["TABLE_LOAD_RESULTS", "UNKNOWN_ALIAS", "GatewayMetrics"]

READ_PHASES = ("headers", "body")
"""``phase`` values of ``aliasgate_request_read_timeouts_total`` (exported at 0 from the start)."""
UNKNOWN_ALIAS = "_unknown"
"""The alias label of requests whose model is not in the table (raw client input never becomes a label)."""

TABLE_LOAD_RESULTS = ("accepted", "unchanged", "rejected", "source_error")
"""Every ``result`` of ``aliasgate_routing_table_loads_total`` (``gateway.routing.loading.LoadResult``). Each is
exported at 0 from the start: born on its first event at 1, ``increase()`` would never see a pod's first
rejected table, and alerts on it would stay silent."""

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_BACKOFF_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
"""Full-jitter backoff: up to ``backoffMaxSeconds`` (4 s by default) per retry, a few retries per request."""
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)

_C = TypeVar("_C")


class _Children(Generic[_C]):
    """A cache of label children of one metric."""

    __slots__ = ("_cache", "_make")

    def __init__(self, make: Callable[..., _C]) -> None:
        self._make = make
        self._cache: dict[tuple[str, ...], _C] = {}

    def __call__(self, *labels: str) -> _C:
        child = self._cache.get(labels)
        if child is None:
            child = self._make(*labels)
            self._cache[labels] = child
        return child


class GatewayMetrics:
    """All gateway metrics; construct one per app (tests build many apps, so no global registry)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self._requests = Counter(
            "aliasgate_requests", "Requests by alias, mode, stream flag and HTTP status.",
            ["alias", "mode", "stream", "code"], registry=r,
        )  # fmt: skip
        self._duration = Histogram(
            "aliasgate_request_duration_seconds", "Time from request to last byte.",
            ["alias", "mode", "stream"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self._ttft = Histogram(
            "aliasgate_time_to_first_token_seconds", "Time from request to the first content-bearing chunk.",
            ["alias"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self._overhead = Histogram(
            "aliasgate_gateway_overhead_seconds",
            "Time spent in the gateway itself (total minus upstream waits and retry backoff).",
            ["alias"], buckets=_OVERHEAD_BUCKETS, registry=r,
        )  # fmt: skip
        self._retry_backoff = Histogram(
            "aliasgate_upstream_retry_backoff_seconds",
            "Time a request waited between retries (backoff), per request that retried; not in the overhead.",
            ["alias"], buckets=_BACKOFF_BUCKETS, registry=r,
        )  # fmt: skip
        self._upstream = Counter(
            "aliasgate_upstream_requests", "Upstream attempts by backend and HTTP status (0 = no response).",
            ["backend", "code"], registry=r,
        )  # fmt: skip
        self._tokens = Counter("aliasgate_tokens", "Tokens by alias and type.", ["alias", "type"], registry=r)
        self._recoveries = Counter(
            "aliasgate_bridge_recoveries", "Empty completed output rebuilt by the bridge, by source.",
            ["alias", "source"], registry=r,
        )  # fmt: skip
        self._unrecoverable = Counter(
            "aliasgate_bridge_unrecoverable", "Empty completed output that could not be rebuilt.", ["alias"], registry=r
        )
        self._normalized = Counter(
            "aliasgate_input_normalized", "Responses string inputs rewritten to list form.", ["alias"], registry=r
        )
        self._healthy = Gauge("aliasgate_model_healthy", "1 when the alias is healthy.", ["alias"], registry=r)
        self._health_checks = Counter(
            "aliasgate_health_checks", "Health probes by alias and result.", ["alias", "result"], registry=r
        )
        self.inflight = Gauge("aliasgate_inflight_requests", "Requests being served.", registry=r)
        self.table_generation = Gauge("aliasgate_routing_table_generation", "Generation being served.", registry=r)
        self._table_loads = Counter(
            "aliasgate_routing_table_loads", "Routing table loads by result.", ["result"], registry=r
        )
        self._disconnects = Counter(
            "aliasgate_client_disconnects", "Clients that went away before the answer ended.", ["alias"], registry=r
        )
        self._shutdown_cuts = Counter(
            "aliasgate_shutdown_cuts",
            "Requests the gateway ended itself when the shutdown grace ran out (error frame, or 503 before the answer).",
            ["alias"], registry=r,
        )  # fmt: skip
        self._retries = Counter(
            "aliasgate_upstream_retries", "Upstream attempts repeated after a retryable failure.", ["alias"], registry=r
        )
        self._fallbacks = Counter(
            "aliasgate_fallbacks", "Requests moved to a fallback alias.", ["alias", "fallback"], registry=r
        )
        self._token_refreshes = Counter(
            "aliasgate_token_refreshes",
            "OAuth token refreshes by credentials Secret and result (refreshed, adopted, failed, writeback_failed).",
            ["secret", "result"], registry=r,
        )  # fmt: skip

        self.connections = Gauge("aliasgate_connections", "Open connections on the public port.", registry=r)
        self.connections_rejected = Counter(
            "aliasgate_connections_rejected", "Connections answered 503 and closed at --max-connections.", registry=r
        )
        self._read_timeouts = Counter(
            "aliasgate_request_read_timeouts", "Requests whose headers or body did not arrive in time (408).",
            ["phase"], registry=r,
        )  # fmt: skip
        self._bad_http = Counter(
            "aliasgate_bad_http_requests", "Malformed HTTP requests answered 400 by the connection layer.",
            ["code"], registry=r,
        )  # fmt: skip
        self.body_bytes_inflight = Gauge(
            "aliasgate_request_body_bytes_inflight", "Request-body bytes held by requests in flight.", registry=r
        )
        self.body_budget_rejections = Counter(
            "aliasgate_body_budget_rejections", "Requests answered 503: --max-inflight-body-bytes was held.", registry=r
        )

        self.requests = _Children(lambda *lv: self._requests.labels(*lv))
        self.duration = _Children(lambda *lv: self._duration.labels(*lv))
        self.ttft = _Children(lambda *lv: self._ttft.labels(*lv))
        self.overhead = _Children(lambda *lv: self._overhead.labels(*lv))
        self.retry_backoff = _Children(lambda *lv: self._retry_backoff.labels(*lv))
        self.upstream_requests = _Children(lambda *lv: self._upstream.labels(*lv))
        self.tokens = _Children(lambda *lv: self._tokens.labels(*lv))
        self.recoveries = _Children(lambda *lv: self._recoveries.labels(*lv))
        self.unrecoverable = _Children(lambda *lv: self._unrecoverable.labels(*lv))
        self.input_normalized = _Children(lambda *lv: self._normalized.labels(*lv))
        self.model_healthy = _Children(lambda *lv: self._healthy.labels(*lv))
        self.health_checks = _Children(lambda *lv: self._health_checks.labels(*lv))
        self.table_loads = _Children(lambda *lv: self._table_loads.labels(*lv))
        self.client_disconnects = _Children(lambda *lv: self._disconnects.labels(*lv))
        self.shutdown_cuts = _Children(lambda *lv: self._shutdown_cuts.labels(*lv))
        self.retries = _Children(lambda *lv: self._retries.labels(*lv))
        self.fallbacks = _Children(lambda *lv: self._fallbacks.labels(*lv))
        self.token_refreshes = _Children(lambda *lv: self._token_refreshes.labels(*lv))
        self.read_timeouts = _Children(lambda *lv: self._read_timeouts.labels(*lv))
        self.bad_http_requests = _Children(lambda *lv: self._bad_http.labels(*lv))
        for result in TABLE_LOAD_RESULTS:
            self.table_loads(result)
        for phase in READ_PHASES:
            self.read_timeouts(phase)

    def forget_aliases(self, keep: set[str]) -> None:
        """Drop the health gauge of aliases no longer in the table (they would report stale health forever)."""
        for (alias,) in list(self.model_healthy._cache):
            if alias not in keep:
                del self.model_healthy._cache[(alias,)]
                self._healthy.remove(alias)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A sample's value (0.0 when absent); used by /status and by tests."""
        got = self.registry.get_sample_value(name, labels or {})
        return 0.0 if got is None else got

    def render(self) -> bytes:
        return generate_latest(self.registry)
