"""Validating admission webhooks: ``admissionregistration.k8s.io/v1`` ValidatingWebhookConfigurations
whose rules match a write make the server POST an ``admission.k8s.io/v1`` AdmissionReview to the
webhook before the write is stored, as a real API server does after defaulting and schema validation.

``handlers`` asks ``matching()`` which webhooks apply and, if any, computes the object the write would
store (a dry run), then calls ``admit()``. A denial becomes the server's answer (``admission webhook "x"
denied the request: ...``, code from the webhook's status, 400 by default); a call that fails follows
the webhook's ``failurePolicy`` (Fail → 500, Ignore → the write proceeds). Webhook ``warnings`` become
``Warning`` headers. ``clientConfig.url`` is called directly (http or https with ``caBundle``);
``clientConfig.service`` is resolved through ``KubeApiServer.service_urls``.
"""

from __future__ import annotations

import base64
import ssl
import uuid
from typing import Any

import aiohttp

from tests.kubeapi import errors
from tests.kubeapi.resources import ResourceType

Json = dict[str, Any]


def _matches_rule(rule: Json, rt: ResourceType, operation: str, subresource: str | None) -> bool:
    operations = rule.get("operations") or []
    if "*" not in operations and operation not in operations:
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and rt.group not in groups:
        return False
    versions = rule.get("apiVersions") or []
    if "*" not in versions and rt.version not in versions:
        return False
    wanted = f"{rt.plural}/{subresource}" if subresource else rt.plural
    resources = rule.get("resources") or []
    allowed = {"*/*", wanted, f"*/{subresource}" if subresource else "*"}
    if not allowed & set(resources):
        return False
    scope = str(rule.get("scope", "*"))
    return scope == "*" or (scope == "Namespaced") == rt.namespaced


def _matches_selector(selector: Json | None, labels: dict[str, str]) -> bool:
    """A ``metav1.LabelSelector`` (matchLabels, matchExpressions) against a label map."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and (not present or labels[key] not in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _labels(obj: Json | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


class Webhooks:
    """Finds and calls the validating webhooks that apply to a write."""

    def __init__(self) -> None:
        self.service_urls: dict[tuple[str, str], str] = {}
        """(namespace, name) of a webhook Service -> base URL to call instead (tests run no Services)."""
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def matching(
        self,
        configurations: list[Json],
        rt: ResourceType,
        operation: str,
        subresource: str | None,
        obj: Json | None,
        old: Json | None,
        namespace_labels: dict[str, str] | None,
    ) -> list[Json]:
        found = []
        for configuration in configurations:
            for webhook in configuration.get("webhooks") or []:
                if not any(_matches_rule(r, rt, operation, subresource) for r in webhook.get("rules") or []):
                    continue
                selector = webhook.get("objectSelector")
                if not (_matches_selector(selector, _labels(obj)) or _matches_selector(selector, _labels(old))):
                    continue
                namespace_selector = webhook.get("namespaceSelector")
                if namespace_labels is not None and not _matches_selector(namespace_selector, namespace_labels):
                    continue
                found.append(webhook)
        return found

    def _url(self, webhook: Json) -> str:
        config = webhook.get("clientConfig") or {}
        if config.get("url"):
            return str(config["url"])
        service = config.get("service") or {}
        base = self.service_urls.get((service.get("namespace", ""), service.get("name", "")))
        if base is None:
            raise OSError(f"no address for service {service.get('namespace')}/{service.get('name')} (set service_urls)")
        return base.rstrip("/") + (service.get("path") or "/")

    def _ssl(self, webhook: Json) -> ssl.SSLContext | bool:
        bundle = (webhook.get("clientConfig") or {}).get("caBundle")
        if not bundle:
            return True
        return ssl.create_default_context(cadata=base64.b64decode(bundle).decode())

    async def admit(self, webhooks: list[Json], review: Json) -> list[str]:
        """Call each webhook in order; raise the first denial; return the warnings."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        warnings: list[str] = []
        for webhook in webhooks:
            name = webhook.get("name", "")
            request = {**review["request"], "uid": str(uuid.uuid4())}
            body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
            timeout = float(webhook.get("timeoutSeconds") or 10)
            try:
                url = self._url(webhook)
                async with self._session.post(
                    url, json=body, ssl=self._ssl(webhook), timeout=aiohttp.ClientTimeout(total=timeout)
                ) as response:
                    if response.status != 200:
                        raise OSError(f"the server responded with status {response.status}")
                    answer = await response.json(content_type=None)
                result = answer["response"]
                if result.get("uid") != request["uid"]:
                    raise OSError(f"expected response.uid={request['uid']!r}, got {result.get('uid')!r}")
            except (TimeoutError, OSError, aiohttp.ClientError, KeyError, TypeError, ValueError) as error:
                if webhook.get("failurePolicy", "Fail") == "Ignore":
                    continue
                raise errors.internal(
                    f'Internal error occurred: failed calling webhook "{name}": failed to call webhook: {error}'
                ) from None
            warnings.extend(str(w) for w in result.get("warnings") or [])
            if not result.get("allowed"):
                raise _denied(name, result.get("status") or {})
        return warnings


def _denied(name: str, status: Json) -> errors.ApiError:
    denied_by = f'admission webhook "{name}" denied the request'
    code = int(status.get("code") or 0)
    if code < 400:
        code = 400
    reason = str(status.get("reason") or "")
    if status.get("message"):
        message = f"{denied_by}: {status['message']}"
    elif reason:
        message = f"{denied_by}: {reason}"
    else:
        message = f"{denied_by} without explanation"
    return errors.ApiError(code, reason, message, details=status.get("details"))
