"""CRD validation rules (``x-kubernetes-validations``), evaluated with cel-python (``celpy``).

Each rule runs with ``self`` bound to the value at its schema node (and ``oldSelf`` on updates;
transition rules, which mention ``oldSelf``, are skipped on create, as on a real server). A rule that
evaluates to false, or fails at run time (``no such key``), is a 422 cause with the rule's ``message``
(or ``messageExpression``), ``fieldPath`` and ``reason``. Rules that use Kubernetes-only CEL libraries
celpy lacks (``isURL``, ``quantity``, ...) cannot be evaluated: they are skipped and logged once.
"""

from __future__ import annotations

import collections
import functools
import logging
import re
from typing import Any

import celpy
import orjson
from celpy import adapter, celparser, celtypes, evaluation

from tests.kubeapi import errors, schema
from tests.kubeapi.resources import ResourceType

Json = dict[str, Any]
log = logging.getLogger(__name__)

_ENV = celpy.Environment()
_SKIPPED: set[str] = set()
_RESULTS: collections.OrderedDict[tuple[str, bytes], tuple[bool | None, str]] = collections.OrderedDict()
_RESULTS_SIZE = 65536
_REFERENCE = re.compile(r"(?<![A-Za-z0-9_])(oldSelf|self)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)(\s*[(\[])?")


@functools.lru_cache(maxsize=1024)
def _references(rule: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The field paths a rule reads from ``self`` and ``oldSelf``; () means the whole value.

    A path followed by ``(`` ends in a method (``.all(``, ``.startsWith(``), one followed by ``[`` is
    indexed: both keep the value at the path before that point whole.
    """
    refs: dict[str, list[tuple[str, ...]]] = {"self": [], "oldSelf": []}
    for m in _REFERENCE.finditer(rule):
        parts = tuple(p for p in m.group(2).split(".") if p)
        if m.group(3) and m.group(3).strip() == "(" and parts:
            parts = parts[:-1]
        refs[m.group(1)].append(parts)
    return {k: tuple(v) for k, v in refs.items()}


def _project(value: Any, paths: tuple[tuple[str, ...], ...]) -> Any:
    """The part of ``value`` the paths can see; a rule evaluates the same on it as on the whole value."""
    if not paths or any(not p for p in paths) or not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for path in paths:
        source: Any = value
        target = out
        for depth, key in enumerate(path):
            if not isinstance(source, dict) or key not in source:
                break
            if depth == len(path) - 1 or not isinstance(source[key], dict):
                target[key] = source[key]
                break
            source = source[key]
            existing = target.get(key)
            target = target.setdefault(key, {}) if isinstance(existing, dict) or existing is None else existing
    return out


@functools.lru_cache(maxsize=1024)
def _program(rule: str) -> celpy.Runner | None:
    try:
        return _ENV.program(_ENV.compile(rule))
    except celparser.CELParseError:
        log.warning("CEL rule does not parse and is not enforced: %s", rule)
        return None


def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _evaluate(rule: str, activation: Json) -> tuple[bool | None, str]:
    """(passed, error text); passed None means the rule cannot be evaluated here."""
    program = _program(rule)
    if program is None or rule in _SKIPPED:
        return None, ""
    result: Any
    try:
        result = program.evaluate(activation)
    except evaluation.CELEvalError as error:
        result = error
    if isinstance(result, evaluation.CELEvalError):
        text = str(result.args[0]) if result.args else str(result)
        if "undeclared reference" in text:
            _SKIPPED.add(rule)
            log.warning("CEL rule uses a function cel-python lacks and is not enforced: %s", rule)
            return None, ""
        return False, text
    return bool(result) if isinstance(result, celtypes.BoolType | bool) else False, ""


def _cached(rule: str, value: Any, old: Any) -> tuple[bool | None, str]:
    """Evaluate on the projection of the values the rule reads, memoised: controllers rewrite the same
    specs over and over (status writes), and a tree-walking CEL interpreter costs about 1 ms a rule."""
    refs = _references(rule)
    seen = _project(value, refs["self"])
    seen_old = _project(old, refs["oldSelf"]) if refs["oldSelf"] else None
    key = (rule, orjson.dumps([seen, seen_old], option=orjson.OPT_SORT_KEYS))
    hit = _RESULTS.get(key)
    if hit is not None:
        _RESULTS.move_to_end(key)
        return hit
    activation: Json = {"self": adapter.json_to_cel(seen)}
    if seen_old is not None:
        activation["oldSelf"] = adapter.json_to_cel(seen_old)
    result = _evaluate(rule, activation)
    _RESULTS[key] = result
    if len(_RESULTS) > _RESULTS_SIZE:
        _RESULTS.popitem(last=False)
    return result


def check(value: Any, node: Json, old: Any, path: str) -> list[Json]:
    """Causes for the CEL rules of one schema node."""
    causes = []
    for rule in node.get("x-kubernetes-validations", ()):
        text = rule["rule"]
        transition = "oldSelf" in text
        if transition and old is None and not rule.get("optionalOldSelf"):
            continue
        if not transition and old is not None and value == old:
            continue  # validation ratcheting: an unchanged value keeps passing (Kubernetes >= 1.30)
        passed, failure = _cached(text, value, old if transition else None)
        if passed is None or passed:
            continue
        field = path + rule.get("fieldPath", "") if rule.get("fieldPath") else path
        field = field.lstrip(".")
        if failure:
            message = f'Invalid value: "{_type_name(value)}": {failure} evaluating rule: {text}'
        else:
            message = f"Invalid value: {_message(rule, value, old)}"
        reason = rule.get("reason", "FieldValueInvalid")
        causes.append(errors.field_error(field, message, reason))
    return causes


def _message(rule: Json, value: Any, old: Any) -> str:
    expression = rule.get("messageExpression")
    if expression:
        activation: Json = {"self": adapter.json_to_cel(value)}
        if old is not None:
            activation["oldSelf"] = adapter.json_to_cel(old)
        program = _program(expression)
        if program is not None:
            try:
                result = program.evaluate(activation)
                if isinstance(result, str) and result:
                    return str(result)
            except evaluation.CELEvalError:
                pass
    return str(rule.get("message") or f"failed rule: {rule['rule']}")


def rule_checker(rt: ResourceType) -> schema.RuleChecker | None:
    return check if rt.schema is not None else None
