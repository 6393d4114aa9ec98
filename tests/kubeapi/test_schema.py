"""Custom resources against their CRD schema: pruning, strict field validation, defaults, 422s, CEL."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.kubeapi.support import MA, MERGE, alias, post

Json = dict[str, Any]

NOT_CHECKED = {
    "reason": "FieldValueInvalid",
    "message": "Invalid value: null: some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation",
    "field": "<nil>",
}


async def _invalid(http: aiohttp.ClientSession, body: Json) -> Json:
    async with http.post(MA, json=body) as response:
        status: Json = await response.json()
        assert response.status == 422, status
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == "ModelAlias"
    assert status["details"]["group"] == "aliasgate.io"
    return status


async def test_unknown_fields_are_pruned_with_a_warning(kube_http: aiohttp.ClientSession) -> None:
    body = alias("p", extra="x")
    body["spec"]["backend"]["colour"] = "blue"
    body["metadata"]["bogus"] = 1
    async with kube_http.post(MA, json=body) as response:
        assert response.status == 201
        stored = await response.json()
        warnings = response.headers.getall("Warning")
    assert "extra" not in stored["spec"]
    assert "colour" not in stored["spec"]["backend"]
    assert "bogus" not in stored["metadata"]
    assert '299 - "unknown field \\"spec.extra\\""' in warnings
    assert '299 - "unknown field \\"spec.backend.colour\\""' in warnings
    async with kube_http.get(f"{MA}/p") as response:
        assert "extra" not in (await response.json())["spec"]


async def test_strict_field_validation_refuses_unknown_fields_with_400(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(MA, json=alias("s", extra="x"), params={"fieldValidation": "Strict"}) as response:
        assert response.status == 400
        status = await response.json()
    assert status["reason"] == "BadRequest"
    assert 'strict decoding error: unknown field "spec.extra"' in status["message"]
    async with kube_http.get(f"{MA}/s") as response:
        assert response.status == 404


async def test_ignore_field_validation_prunes_silently(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(MA, json=alias("i", extra="x"), params={"fieldValidation": "Ignore"}) as response:
        assert response.status == 201
        assert "Warning" not in response.headers
        assert "extra" not in (await response.json())["spec"]


async def test_enum_violation_is_422_not_supported(kube_http: aiohttp.ClientSession) -> None:
    status = await _invalid(kube_http, alias("e", mode="turbo"))
    cause = status["details"]["causes"][0]
    assert cause == {
        "reason": "FieldValueNotSupported",
        "message": 'Unsupported value: "turbo": supported values: "responses", "chat"',
        "field": "spec.mode",
    }
    assert status["message"].startswith('ModelAlias.aliasgate.io "e" is invalid: [spec.mode: Unsupported value')
    # An enum violation blocks the CEL rules: the last cause says so.
    assert status["details"]["causes"][-1] == NOT_CHECKED


async def test_missing_required_field_is_422_required(kube_http: aiohttp.ClientSession) -> None:
    body = alias("m")
    del body["spec"]["backend"]["model"]
    status = await _invalid(kube_http, body)
    assert status["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.backend.model"},
        NOT_CHECKED,
    ]


@pytest.mark.parametrize(
    ("spec", "fields", "text"),
    [
        ({"timeouts": {"requestSeconds": 0}}, ["spec.timeouts.requestSeconds"], "should be greater than or equal to 1"),
        (
            {"timeouts": {"requestSeconds": 3601}},
            ["spec.timeouts.requestSeconds"],
            "should be less than or equal to 3600",
        ),
        # type and maxItems violations block the CEL rules (a last cause says so); the others do not
        ({"timeouts": {"requestSeconds": "ten"}}, ["spec.timeouts.requestSeconds", "<nil>"], "must be of type integer"),
        ({"alias": ""}, ["spec.alias"], "should be at least 1 chars long"),
        ({"fallbacks": ["a", "a"]}, ["spec.fallbacks[1]"], "Duplicate value"),
        ({"fallbacks": ["a", "b", "c", "d", "e"]}, ["spec.fallbacks", "<nil>"], "must have at most 4 items"),
    ],
)
async def test_value_violations_are_422_with_the_field_path(
    kube_http: aiohttp.ClientSession, spec: Json, fields: list[str], text: str
) -> None:
    status = await _invalid(kube_http, alias("v", **spec))
    causes = status["details"]["causes"]
    assert [c["field"] for c in causes] == fields
    assert text in causes[0]["message"]


async def test_pattern_violation_is_422(kube_http: aiohttp.ClientSession) -> None:
    body = alias("u")
    body["spec"]["backend"]["baseURL"] = "ftp://example"
    status = await _invalid(kube_http, body)
    assert status["details"]["causes"][0]["field"] == "spec.backend.baseURL"
    assert "should match '^https?://'" in status["details"]["causes"][0]["message"]


async def test_defaults_are_applied_inside_present_objects(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, MA, alias("d", timeouts={}))
    assert created["spec"]["timeouts"] == {"requestSeconds": 600}
    bare = await post(kube_http, MA, alias("d2"))
    assert "timeouts" not in bare["spec"]


async def test_preserve_unknown_fields_keeps_arbitrary_content(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, MA, alias("k", defaults={"temperature": 0.2, "nested": {"a": [1]}}))
    assert created["spec"]["defaults"] == {"temperature": 0.2, "nested": {"a": [1]}}


async def test_cel_rule_violation_is_422_with_the_rule_message(kube_http: aiohttp.ClientSession) -> None:
    status = await _invalid(kube_http, alias("c", provider="chatgpt", mode="chat"))
    cause = status["details"]["causes"][0]
    assert cause["field"] == "spec"
    assert cause["message"] == "Invalid value: provider chatgpt serves only mode responses"
    await post(kube_http, MA, alias("c", provider="chatgpt", mode="responses"))


async def test_cel_rules_also_run_on_updates(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("cu", provider="chatgpt"))
    async with kube_http.patch(f"{MA}/cu", json={"spec": {"mode": "chat"}}, headers=MERGE) as response:
        assert response.status == 422


async def test_status_fields_outside_the_schema_vanish(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("st"))
    status = {"status": {"resolvedMode": "chat", "notInSchema": True}}
    async with kube_http.patch(f"{MA}/st/status", json=status, headers=MERGE) as response:
        assert response.status == 200
        assert (await response.json())["status"] == {"resolvedMode": "chat"}
        assert '299 - "unknown field \\"status.notInSchema\\""' in response.headers.getall("Warning")


async def test_status_values_are_validated_too(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("sv"))
    bad = {"status": {"conditions": [{"type": "Accepted", "status": "Maybe"}]}}
    async with kube_http.patch(f"{MA}/sv/status", json=bad, headers=MERGE) as response:
        assert response.status == 422
        assert (await response.json())["details"]["causes"][0]["field"] == "status.conditions[0].status"
