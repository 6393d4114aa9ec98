"""Label and field selectors, parsed once per request into a predicate over raw objects.

Label selector grammar (as ``kubectl -l`` and the API accept it): comma-separated requirements
``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists), ``!k`` (does not exist).
Field selectors support ``metadata.name`` and ``metadata.namespace`` for every resource, plus the few
per-kind fields named in ``EXTRA_FIELDS``; any other field is a 400, as on a real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.kubeapi import errors

Json = dict[str, Any]
Predicate = Callable[[Json], bool]

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_SET_RE = re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)\s*$")
_CMP_RE = re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|!=|=)\s*(?P<value>[-A-Za-z0-9_.]*)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(?P<neg>!?)\s*(?P<key>{_KEY})\s*$")

EXTRA_FIELDS: dict[str, tuple[str, ...]] = {
    "secrets": ("type",),
    "events": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "pods": ("spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName"),
    "namespaces": ("status.phase",),
}


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _labels(obj: Json) -> dict[str, str]:
    labels: dict[str, str] | None = obj.get("metadata", {}).get("labels")
    return labels or {}


def _label_in(key: str, values: frozenset[str], negate: bool) -> Predicate:
    def test(obj: Json) -> bool:
        return (_labels(obj).get(key) in values) != negate

    return test


def _label_eq(key: str, value: str, negate: bool) -> Predicate:
    def test(obj: Json) -> bool:
        return (_labels(obj).get(key) == value) != negate

    return test


def _label_exists(key: str, negate: bool) -> Predicate:
    def test(obj: Json) -> bool:
        return (key in _labels(obj)) != negate

    return test


def _all(tests: list[Predicate]) -> Predicate:
    if len(tests) == 1:
        return tests[0]

    def test(obj: Json) -> bool:
        return all(t(obj) for t in tests)

    return test


def parse_label_selector(text: str | None) -> Predicate | None:
    if not text or not text.strip():
        return None
    tests: list[Predicate] = []
    for part in _split_top(text):
        if m := _SET_RE.match(part):
            values = frozenset(v.strip() for v in m["values"].split(",") if v.strip())
            tests.append(_label_in(m["key"], values, m["op"] == "notin"))
        elif m := _CMP_RE.match(part):
            tests.append(_label_eq(m["key"], m["value"], m["op"] == "!="))
        elif m := _EXISTS_RE.match(part):
            tests.append(_label_exists(m["key"], bool(m["neg"])))
        else:
            raise errors.bad_request(f"unable to parse requirement: {part.strip()!r}: invalid label selector")
    return _all(tests)


def _field_value(obj: Json, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict):
        value = value.get("component")
    return "" if value is None else str(value)


def _field_eq(field: str, value: str, negate: bool) -> Predicate:
    def test(obj: Json) -> bool:
        return (_field_value(obj, field) == value) != negate

    return test


def parse_field_selector(text: str | None, plural: str) -> Predicate | None:
    if not text or not text.strip():
        return None
    allowed = {"metadata.name", "metadata.namespace", *EXTRA_FIELDS.get(plural, ())}
    tests: list[Predicate] = []
    for part in _split_top(text):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if m is None:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        if field not in allowed:
            raise errors.bad_request(f"field label not supported: {field}")
        tests.append(_field_eq(field, value, op == "!="))
    return _all(tests)
