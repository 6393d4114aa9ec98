"""CRD validation rules (``x-kubernetes-validations``), evaluated with cel-python (``celpy``).

Each rule runs with ``self`` bound to the value at its schema node (and ``oldSelf`` on updates;
transition rules, which mention ``oldSelf``, are skipped on create, as on a real server). A rule that
evaluates to false, or fails at run time (``no such key``), is a 422 cause with the rule's ``message``
(or ``messageExpression``), ``fieldPath`` and ``reason``. Rules that use Kubernetes-only CEL libraries
celpy lacks (``isURL``, ``quantity``, ...) cannot be evaluated: they are skipped and logged once.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import celpy
from celpy import adapter, celparser, celtypes, evaluation

from tests.kubeapi import errors, schema
from tests.kubeapi.resources import ResourceType

Json = dict[str, Any]
log = logging.getLogger(__name__)

_ENV = celpy.Environment()
_SKIPPED: set[str] = set()


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


def check(value: Any, node: Json, old: Any, path: str) -> list[Json]:
    """Causes for the CEL rules of one schema node."""
    causes = []
    activation: Json = {"self": adapter.json_to_cel(value)}
    if old is not None:
        activation["oldSelf"] = adapter.json_to_cel(old)
    for rule in node.get("x-kubernetes-validations", ()):
        text = rule["rule"]
        if "oldSelf" in text and old is None and not rule.get("optionalOldSelf"):
            continue
        passed, failure = _evaluate(text, activation)
        if passed is None or passed:
            continue
        field = path + rule.get("fieldPath", "") if rule.get("fieldPath") else path
        field = field.lstrip(".")
        if failure:
            message = f'Invalid value: "{_type_name(value)}": {failure} evaluating rule: {text}'
        else:
            message = f'Invalid value: "{_type_name(value)}": {_message(rule, activation)}'
        reason = rule.get("reason", "FieldValueInvalid")
        causes.append(errors.field_error(field, message, reason))
    return causes


def _message(rule: Json, activation: Json) -> str:
    expression = rule.get("messageExpression")
    if expression:
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
