"""The webhook's wiring pieces: fail-safe before the first list, the parse cache, and its flags."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from controller.inventory import Inventory
from controller.resources import ModelAlias
from controller.settings import parse_settings
from controller.webhook.review import NOT_READY_WARNING, WEBHOOK_PATH, webhook_routes
from controller.webhook.server import ParsedInventory


def _alias(name: str, *, mode: str | None = None, model: str = "gpt-5") -> dict[str, Any]:
    spec: dict[str, Any] = {"backend": {"provider": "openai", "model": model}}
    if mode is not None:
        spec["mode"] = mode
    meta = {"name": name, "namespace": "team-a", "uid": f"uid-{name}", "creationTimestamp": "2026-01-01T00:00:00Z"}
    return {"apiVersion": "aliasgate.io/v1alpha1", "kind": "ModelAlias", "metadata": meta, "spec": spec}


def _review(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "u", "operation": "CREATE", "object": obj},
    }


async def test_before_the_first_list_every_write_is_allowed_with_a_warning(aiohttp_client: AiohttpClient) -> None:
    inventory = Inventory()
    inventory.upsert(_alias("keeper", mode="responses"))  # a watch event before the list: not the whole truth
    snapshot = ParsedInventory(inventory)
    app = web.Application()
    app.add_routes(webhook_routes(snapshot, ready=snapshot.ready))
    client = await aiohttp_client(app)

    body = await (await client.post(WEBHOOK_PATH, json=_review(_alias("downgrader", mode="chat")))).json()
    assert body["response"] == {"uid": "u", "allowed": True, "warnings": [NOT_READY_WARNING]}

    inventory.replace_scope("", [_alias("keeper", mode="responses")])
    body = await (await client.post(WEBHOOK_PATH, json=_review(_alias("downgrader", mode="chat")))).json()
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["message"].startswith("ModeDowngradeRejected:")


def test_parsed_inventory_reparses_only_changed_objects() -> None:
    inventory = Inventory()
    inventory.replace_scope("", [_alias("a"), _alias("b", model="gpt-4.1")])
    snapshot = ParsedInventory(inventory)
    first = snapshot()
    assert [obj.metadata.name for obj in first if isinstance(obj, ModelAlias)] == ["a", "b"]
    assert snapshot() is first  # nothing changed: no work at all
    inventory.upsert(_alias("b", model="gpt-4.1-mini"))
    second = snapshot()
    assert second[0] is first[0]  # "a" kept its parse
    assert isinstance(second[1], ModelAlias)
    assert second[1].spec.backend.model == "gpt-4.1-mini"
    inventory.delete(_alias("a"))
    assert len(snapshot()) == 1


def test_webhook_flags_and_environment() -> None:
    assert parse_settings([], environ={}).webhook_listen == ""
    settings = parse_settings(
        ["--webhook-listen", "0.0.0.0:9443"],
        environ={"ALIASGATE_WEBHOOK_CERT_FILE": "/certs/tls.crt", "ALIASGATE_WEBHOOK_KEY_FILE": "/certs/tls.key"},
    )
    assert (settings.webhook_listen, settings.webhook_cert_file, settings.webhook_key_file) == (
        "0.0.0.0:9443",
        "/certs/tls.crt",
        "/certs/tls.key",
    )


def test_webhook_without_a_certificate_is_refused_at_startup(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_settings(["--webhook-listen", "0.0.0.0:9443"], environ={})
    assert "--webhook-cert-file" in capsys.readouterr().err


async def test_a_review_runs_the_engine_on_the_current_inventory_once_per_version(
    aiohttp_client: AiohttpClient,
) -> None:
    inventory = Inventory()
    inventory.replace_scope("", [_alias("chatty", mode="chat", model="gpt-4.1")])
    snapshot = ParsedInventory(inventory)
    app = web.Application()
    app.add_routes(webhook_routes(snapshot, ready=snapshot.ready, baseline=snapshot.baseline))
    client = await aiohttp_client(app)
    for name in ("upgrader", "upgrader-2"):
        body = await (
            await client.post(WEBHOOK_PATH, json=_review(_alias(name, mode="responses", model="gpt-4.1")))
        ).json()
        assert body["response"]["allowed"] is True
        assert body["response"]["warnings"][0].startswith("team-a/chatty would be rejected: ModeDowngradeRejected")
    assert snapshot.baseline_runs == 1
    inventory.upsert(_alias("other", model="gpt-5"))
    body = await (await client.post(WEBHOOK_PATH, json=_review(_alias("x", mode="responses", model="gpt-4.1")))).json()
    assert len(body["response"]["warnings"]) == 1
    assert snapshot.baseline_runs == 2
