"""Every request vector: a Responses request → the exact Chat Completions body, or the exact 400."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.bridge.errors import BridgeRequestError
from gateway.bridge.responses_chat_request import to_chat_request
from tests.gateway.bridge.reverse import harness

VECTORS = harness.load_requests()
IDS = [name for name, _ in VECTORS]


def test_the_vectors_cover_mappings_and_refusals() -> None:
    assert sum("chat" in spec for _, spec in VECTORS) >= 10
    assert sum("error" in spec for _, spec in VECTORS) >= 15


@pytest.mark.parametrize(("name", "spec"), VECTORS, ids=IDS)
def test_request_maps_as_the_vector_says(name: str, spec: dict[str, Any]) -> None:
    def run() -> Any:
        return to_chat_request(
            spec["request"],
            upstream_model=harness.UPSTREAM_MODEL,
            provider=spec["provider"],
            reasoning_history=spec.get("reasoning_history", "drop"),
        )

    if "error" in spec:
        want = spec["error"]
        with pytest.raises(BridgeRequestError) as raised:
            run()
        error = raised.value.error
        assert (error.status, error.type, error.param, error.code) == (
            want["status"],
            want["type"],
            want["param"],
            want["code"],
        )
        assert want["message_contains"] in error.message
        assert f"`{want['param']}`" in error.message, "the message names the parameter too"
        assert set(error.body()["error"]) == {"message", "type", "param", "code"}
        return
    plan = run()
    assert plan.body == spec["chat"]
    assert plan.stream == bool(spec["request"].get("stream"))
