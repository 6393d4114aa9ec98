"""The validating admission webhook's HTTP edge: AdmissionReview v1 in, AdmissionReview v1 out.

The decision itself is :func:`controller.webhook.admission.review`; this module only parses the review,
reads the inventory snapshot the controller keeps, and shapes the answer. Malformed reviews get a
400, never a crash; the ValidatingWebhookConfiguration decides whether the API server fails open.
Before the inventory has completed its first list the webhook cannot judge conflicts, so it allows
with a warning: the reconciler stays the source of truth.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
from aiohttp import web

from controller.conflicts import InvalidAlias, Verdict
from controller.resources import ModelAlias
from controller.webhook.admission import AdmissionDecision, review

__all__ = ["NOT_READY_WARNING", "WEBHOOK_PATH", "Baseline", "InventorySnapshot", "webhook_routes"]

WEBHOOK_PATH = "/validate-modelalias"

InventorySnapshot = Callable[[], Iterable[ModelAlias | InvalidAlias]]
Baseline = Callable[[Sequence[ModelAlias | InvalidAlias]], Mapping[str, Verdict]]
"""Verdicts of a snapshot as it is (cached by the caller), so a review runs the engine once, not twice."""

NOT_READY_WARNING = (
    "aliasgate: the controller has not listed ModelAliases yet, so conflicts were not checked at admission; "
    "see the object's Accepted condition"
)


def webhook_routes(
    snapshot: InventorySnapshot, *, ready: Callable[[], bool] | None = None, baseline: Baseline | None = None
) -> list[web.RouteDef]:
    """Routes to add to the controller's HTTPS app; ``snapshot`` returns the current inventory.

    ``ready`` says whether that inventory is complete (first list done); until then every write is
    allowed with :data:`NOT_READY_WARNING`, since judging against a partial inventory would be wrong.
    The snapshot is taken on the event loop; the engine then runs in a worker thread, so a review at
    10k objects does not stall the controller's watches and Lease renewals.
    """

    def judge(
        obj: dict[str, Any] | None, operation: str, req: dict[str, Any], objects: Sequence[ModelAlias | InvalidAlias]
    ) -> AdmissionDecision:
        return review(
            obj,
            operation=operation,
            inventory=objects,
            namespace=req.get("namespace"),
            name=req.get("name"),
            current_verdicts=None if baseline is None else baseline(objects),
        )

    async def post_validate(request: web.Request) -> web.Response:
        try:
            payload = orjson.loads(await request.read())
            req = payload["request"]
            uid = str(req["uid"])
            operation = str(req["operation"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return web.json_response({"error": "expected an admission.k8s.io/v1 AdmissionReview"}, status=400)
        if ready is not None and not ready():
            answer = {"uid": uid, "allowed": True, "warnings": [NOT_READY_WARNING]}
            return _review_response(answer)
        obj = req.get("object") if operation != "DELETE" else None
        found = snapshot()  # on the loop: the inventory only changes there
        objects = found if isinstance(found, Sequence) else list(found)
        decision = await asyncio.to_thread(judge, obj if isinstance(obj, dict) else None, operation, req, objects)
        response: dict[str, Any] = {"uid": uid, "allowed": decision.allowed}
        if not decision.allowed:
            response["status"] = {
                "code": 403,
                "reason": "Forbidden",
                "message": f"{decision.reason}: {decision.message}",
            }
        if decision.warnings:
            response["warnings"] = list(decision.warnings)
        return _review_response(response)

    return [web.post(WEBHOOK_PATH, post_validate, name="validate_modelalias")]


def _review_response(response: dict[str, Any]) -> web.Response:
    body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}
    return web.json_response(body, dumps=lambda value: orjson.dumps(value).decode())
