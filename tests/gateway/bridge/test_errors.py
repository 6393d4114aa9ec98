"""Error mapping (docs/bridge.md, "Errors"): upstream HTTP error vectors (tests/gateway/bridge/vectors/http) and the code → status table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.bridge import ChatError, error_from_event, error_from_upstream_http
from gateway.bridge.errors import error_type_for_status, status_for_error_code

HTTP_VECTORS = sorted((Path(__file__).parent / "vectors" / "http").glob("*.json"))


@pytest.mark.parametrize("path", HTTP_VECTORS, ids=[p.stem for p in HTTP_VECTORS])
def test_upstream_http_errors_map_to_chat_errors(path: Path) -> None:
    vector: dict[str, Any] = json.loads(path.read_text())
    upstream, expected = vector["upstream"], vector["expected"]
    error = error_from_upstream_http(
        upstream["status"],
        upstream["body"].encode(),
        retry_after_header=upstream["headers"].get("retry-after"),
        retry_after_ms_header=upstream["headers"].get("retry-after-ms"),
    )
    assert error.status == expected["http_status"]
    assert error.body() == expected["body"]
    assert error.retry_after == expected["retry_after"]
    assert "sk-secret" not in error.message, "unrecognised bodies are never echoed"


def test_there_are_http_error_vectors_for_each_upstream_shape() -> None:
    names = {p.stem for p in HTTP_VECTORS}
    assert {"codex_detail_input_must_be_list", "codex_usage_limit_reached", "garbage_html_bad_gateway"} <= names
    assert len(names) >= 15


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("server_error", 500),
        ("rate_limit_exceeded", 429),
        ("rate_limit_something_new", 429),
        ("insufficient_quota", 429),
        ("resource_unavailable", 429),
        ("flex_unavailable", 429),
        ("usage_limit_reached", 429),
        ("vector_store_timeout", 504),
        ("invalid_prompt", 400),
        ("context_length_exceeded", 400),
        ("content_policy_violation", 400),
        ("cyber_policy", 400),
        ("model_not_found", 400),
        ("image_too_large", 400),
        ("invalid_image_format", 400),
        ("invalid_base64_image", 400),
        ("empty_image_file", 400),
        ("failed_to_download_image", 400),
        ("unsupported_image_media_type", 400),
        ("404", 404),
        (503, 503),
        ("600", 500),
        (200, 500),
        (True, 500),
        ("mystery", 500),
        (None, 500),
    ],
)
def test_in_stream_error_codes_map_to_statuses(code: object, status: int) -> None:
    assert status_for_error_code(code) == status


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (422, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "server_error"),
        (502, "server_error"),
        (504, "server_error"),
        (409, "invalid_request_error"),
    ],
)
def test_error_type_follows_the_status_when_the_upstream_gives_none(status: int, error_type: str) -> None:
    assert error_type_for_status(status) == error_type


def test_response_failed_without_an_error_object_is_a_500() -> None:
    error = error_from_event({"type": "response.failed", "response": {"id": "r", "status": "failed", "error": None}})
    assert error.status == 500
    assert error.type == "server_error"


def test_flat_error_event_type_field_is_not_mistaken_for_the_error_type() -> None:
    error = error_from_event({"type": "error", "code": "invalid_prompt", "message": "Flagged.", "param": None})
    assert error == ChatError(400, "Flagged.", "invalid_request_error", None, "invalid_prompt")


def test_rate_limit_messages_give_a_retry_after_in_seconds_or_milliseconds() -> None:
    seconds = error_from_event({"type": "error", "code": "rate_limit_exceeded", "message": "Please try again in 2.5s."})
    millis = error_from_event({"type": "error", "code": "rate_limit_exceeded", "message": "Please try again in 300ms."})
    assert seconds.retry_after == 2.5
    assert millis.retry_after == 0.3
