"""Kubernetes statuses become exception classes, so callers catch what they mean."""

from __future__ import annotations

import orjson
import pytest

from aliasgate.runtime.kubeerrors import (
    ConflictError,
    ForbiddenError,
    GoneError,
    InvalidError,
    KubeApiError,
    NotFoundError,
    TooManyRequestsError,
    TransportError,
    UnauthorizedError,
    api_error,
    error_from_body,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (0, TransportError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, GoneError),
        (422, InvalidError),
        (429, TooManyRequestsError),
        (500, KubeApiError),
        (503, KubeApiError),
    ],
)
def test_each_status_has_its_class_and_all_are_api_errors(status: int, cls: type[KubeApiError]) -> None:
    error = api_error(status, "Reason", "text")
    assert type(error) is cls
    assert isinstance(error, KubeApiError)
    assert (error.status, error.reason, error.message) == (status, "Reason", "text")


def test_the_status_document_gives_reason_and_message() -> None:
    body = orjson.dumps({"kind": "Status", "reason": "Conflict", "message": "the object has been modified"})
    error = error_from_body(409, body)
    assert isinstance(error, ConflictError)
    assert (error.reason, error.message) == ("Conflict", "the object has been modified")
    assert str(error) == "409 Conflict: the object has been modified"


def test_an_answer_that_is_not_a_status_still_maps_by_code() -> None:
    error = error_from_body(404, b"<html>not found</html>")
    assert isinstance(error, NotFoundError)
    assert (error.reason, error.message) == ("Error", "")


def test_messages_are_cut() -> None:
    error = error_from_body(500, orjson.dumps({"message": "x" * 2000}))
    assert len(error.message) == 500


def test_a_transport_error_has_status_zero_and_names_the_failure() -> None:
    error = TransportError("ClientConnectorError", "refused")
    assert (error.status, error.reason) == (0, "ClientConnectorError")
