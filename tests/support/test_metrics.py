"""The metrics helper reads what prometheus_client really writes (labels in any order, absent = 0)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from tests.support.metrics import sample_value, samples


def test_sample_value_reads_real_exposition() -> None:
    registry = CollectorRegistry()
    requests = Counter("demo_requests", "requests", ["alias", "mode"], registry=registry)
    requests.labels(alias="gpt-5", mode="chat").inc(3)
    requests.labels(alias="gpt-5", mode="responses").inc()
    Gauge("demo_leader", "leader", registry=registry).set(1)
    text = generate_latest(registry).decode()
    assert sample_value(text, "demo_requests_total", mode="chat", alias="gpt-5") == 3.0
    assert sample_value(text, "demo_requests_total", alias="gpt-5", mode="responses") == 1.0
    assert sample_value(text, "demo_requests_total", alias="other", mode="chat") == 0.0
    assert sample_value(text, "demo_leader") == 1.0
    assert len(samples(text, "demo_requests_total")) == 2
