"""The validating webhook: the same pure rules as the reconciler, judged over a real HTTP round trip."""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from controller.conflicts import InvalidAlias
from controller.resources import ModelAlias, parse_object
from controller.webhook.admission import review
from controller.webhook.review import WEBHOOK_PATH, webhook_routes


def _alias(
    name: str, *, mode: str | None, model: str = "gpt-5", created: str = "2026-01-01T00:00:00Z"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"alias": name, "backend": {"provider": "openai", "model": model, "credentials": "k"}}
    if mode is not None:
        spec["mode"] = mode
    return {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {"name": name, "namespace": "team-a", "creationTimestamp": created},
        "spec": spec,
    }


def _inventory(*raws: dict[str, Any]) -> list[ModelAlias | InvalidAlias]:
    return [parse_object(raw) for raw in raws]


def test_chat_alias_that_would_downgrade_a_shared_responses_backend_is_denied() -> None:
    inventory = _inventory(_alias("keeper", mode="responses"))
    decision = review(_alias("downgrader", mode="chat"), operation="CREATE", inventory=inventory)
    assert not decision.allowed
    assert decision.reason == "ModeDowngradeRejected"
    assert "keeper" in decision.message


def test_duplicate_alias_is_denied_and_names_the_winner() -> None:
    inventory = _inventory(_alias("shared", mode=None))
    newcomer = _alias("shared", mode=None, model="gpt-4.1")
    newcomer["metadata"]["name"] = "other-object"
    del newcomer["metadata"]["creationTimestamp"]  # as on a real CREATE: the API server has not stamped it yet
    decision = review(newcomer, operation="CREATE", inventory=inventory)
    assert not decision.allowed
    assert decision.reason == "AliasInUse"
    assert "team-a/shared" in decision.message


def test_responses_alias_that_pushes_existing_chat_aliases_out_is_allowed_with_warnings() -> None:
    inventory = _inventory(_alias("chatty", mode="chat"))
    decision = review(_alias("upgrader", mode="responses"), operation="CREATE", inventory=inventory)
    assert decision.allowed
    assert len(decision.warnings) == 1
    assert decision.warnings[0].startswith("team-a/chatty would be rejected: ModeDowngradeRejected")


def test_deleting_the_alias_that_holds_responses_mode_is_allowed_silently() -> None:
    inventory = _inventory(_alias("keeper", mode="responses"), _alias("inheritor", mode=None))
    decision = review(None, operation="DELETE", inventory=inventory, namespace="team-a", name="keeper")
    assert decision.allowed
    assert decision.warnings == ()


def test_update_keeps_the_object_age_so_it_does_not_lose_its_own_alias() -> None:
    original = _alias("first", mode=None)
    inventory = _inventory(original, _alias("second", mode=None, model="gpt-4.1", created="2026-02-01T00:00:00Z"))
    edited = copy.deepcopy(original)
    del edited["metadata"]["creationTimestamp"]
    edited["spec"]["backend"]["model"] = "gpt-5.1"
    assert review(edited, operation="UPDATE", inventory=inventory).allowed


def test_invalid_object_is_denied_with_the_field_named() -> None:
    broken = _alias("broken", mode=None)
    broken["spec"]["backend"]["provider"] = "nope"
    decision = review(broken, operation="CREATE", inventory=[])
    assert not decision.allowed
    assert decision.reason == "InvalidSpec"
    assert "spec.backend.provider" in decision.message


async def test_webhook_answers_admission_review_v1(aiohttp_client: AiohttpClient) -> None:
    inventory = _inventory(_alias("keeper", mode="responses"))
    app = web.Application()
    app.add_routes(webhook_routes(lambda: inventory))
    client = await aiohttp_client(app)

    review_body: dict[str, Any] = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "abc-123", "operation": "CREATE", "object": _alias("downgrader", mode="chat")},
    }
    resp = await client.post(WEBHOOK_PATH, json=review_body)
    assert resp.status == 200
    body = await resp.json()
    assert body["kind"] == "AdmissionReview"
    assert body["response"]["uid"] == "abc-123"
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["message"].startswith("ModeDowngradeRejected:")

    review_body["request"]["object"] = _alias("fine", mode=None, model="gpt-4.1")
    body = await (await client.post(WEBHOOK_PATH, json=review_body)).json()
    assert body["response"] == {"uid": "abc-123", "allowed": True}


async def test_webhook_refuses_a_malformed_review_with_400(aiohttp_client: AiohttpClient) -> None:
    app = web.Application()
    app.add_routes(webhook_routes(list))
    client = await aiohttp_client(app)
    assert (await client.post(WEBHOOK_PATH, data=b"{not json")).status == 400
    assert (await client.post(WEBHOOK_PATH, json={"request": {}})).status == 400
