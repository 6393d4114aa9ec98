"""Fault injection and request accounting, consulted by the handlers before any real work.

Tests arm rules (``inject``) that make the next N matching requests fail with a status, or wait first;
``RequestLog`` counts requests by Kubernetes verb, resource and user (the bearer token's owner), so a
test can assert, for example, that only the leader replica wrote.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from tests.kubeapi import errors

Json = dict[str, Any]

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclasses.dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the server classified it."""

    method: str
    path: str
    verb: str
    """Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection; or "" (discovery)."""
    group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    user: str
    """Owner of the bearer token ("" without one: kubectl sends no token over plain HTTP)."""
    user_agent: str
    at: float


@dataclasses.dataclass(slots=True)
class FaultRule:
    """Answer matching requests with ``status`` (after ``delay`` seconds), ``times`` times (None: forever)."""

    status: int | None
    delay: float
    times: int | None
    method: str | None
    path: re.Pattern[str] | None
    verb: str | None
    resource: str | None
    message: str
    hits: int = 0

    def matches(self, record: RequestRecord) -> bool:
        if self.method is not None and record.method != self.method.upper():
            return False
        if self.verb is not None and record.verb != self.verb:
            return False
        if self.resource is not None and self.resource not in (
            record.resource,
            f"{record.resource}/{record.subresource}",
        ):
            return False
        return self.path is None or bool(self.path.search(record.path))

    def error(self) -> errors.ApiError:
        code = self.status or 500
        return errors.ApiError(code, _REASONS.get(code, "Unknown"), self.message)


class Faults:
    """Armed fault rules; the first matching rule with hits left applies."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def inject(
        self,
        *,
        status: int | None = 500,
        delay: float = 0.0,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        message: str = "injected fault",
    ) -> FaultRule:
        """Arm a rule. ``status=None`` with a ``delay`` only slows requests down; ``path`` is a regex."""
        rule = FaultRule(
            status=status,
            delay=delay,
            times=times,
            method=method,
            path=re.compile(path) if path is not None else None,
            verb=verb,
            resource=resource,
            message=message,
        )
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def take(self, record: RequestRecord) -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(record):
                rule.hits += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule
        return None


class RequestLog:
    """Every request the server answered (or refused), in arrival order."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        self.records.append(record)

    def clear(self) -> None:
        self.records.clear()

    def count(
        self,
        *,
        verb: str | None = None,
        resource: str | None = None,
        subresource: str | None = None,
        user: str | None = None,
        method: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        user_agent: str | None = None,
    ) -> int:
        """How many requests match every given criterion; ``verb`` may be a comma list ("create,update,patch");
        ``user_agent`` matches a prefix ("kubectl/")."""
        verbs = set(verb.split(",")) if verb is not None else None
        return sum(
            1
            for r in self.records
            if (verbs is None or r.verb in verbs)
            and (resource is None or r.resource == resource)
            and (subresource is None or r.subresource == subresource)
            and (user is None or r.user == user)
            and (method is None or r.method == method.upper())
            and (namespace is None or r.namespace == namespace)
            and (name is None or r.name == name)
            and (user_agent is None or r.user_agent.startswith(user_agent))
        )

    def writes(self, *, user: str | None = None, resource: str | None = None) -> int:
        return self.count(verb="create,update,patch,delete,deletecollection", user=user, resource=resource)
