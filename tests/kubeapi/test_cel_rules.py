"""CEL rules (``x-kubernetes-validations``) as the server evaluates them; pure, no HTTP."""

from __future__ import annotations

from typing import Any

from tests.kubeapi import cel_rules

Json = dict[str, Any]


def _node(*rules: Json) -> Json:
    return {"type": "object", "x-kubernetes-validations": list(rules)}


def test_a_passing_rule_gives_no_cause() -> None:
    node = _node({"rule": "self.a < self.b", "message": "a must be below b"})
    assert cel_rules.check({"a": 1, "b": 2}, node, None, "spec") == []


def test_a_failing_rule_reports_message_field_path_and_reason() -> None:
    node = _node(
        {"rule": "self.a < self.b", "message": "a must be below b", "fieldPath": ".a", "reason": "FieldValueForbidden"}
    )
    assert cel_rules.check({"a": 3, "b": 2}, node, None, "spec") == [
        {"reason": "FieldValueForbidden", "message": "Invalid value: a must be below b", "field": "spec.a"}
    ]


def test_message_expression_is_evaluated() -> None:
    node = _node({"rule": "self.a < 10", "messageExpression": "'a is ' + string(self.a)"})
    (cause,) = cel_rules.check({"a": 12}, node, None, "spec")
    assert cause["message"] == "Invalid value: a is 12"


def test_transition_rules_run_only_on_updates() -> None:
    node = _node({"rule": "self == oldSelf", "message": "immutable"})
    assert cel_rules.check({"x": 1}, node, None, "spec.backend") == []
    (cause,) = cel_rules.check({"x": 2}, node, {"x": 1}, "spec.backend")
    assert cause["message"] == "Invalid value: immutable"


def test_unchanged_values_are_not_rechecked_on_update() -> None:
    node = _node({"rule": "self.a > 5", "message": "too small"})
    assert cel_rules.check({"a": 1}, node, {"a": 1}, "spec") == []
    assert len(cel_rules.check({"a": 2}, node, {"a": 1}, "spec")) == 1


def test_a_runtime_error_fails_the_rule() -> None:
    node = _node({"rule": "self.missing > 1"})
    (cause,) = cel_rules.check({"a": 1}, node, None, "spec")
    assert "evaluating rule: self.missing > 1" in cause["message"]


def test_rules_with_functions_celpy_lacks_are_skipped() -> None:
    node = _node({"rule": "isURL(self.u)", "message": "not a URL"})
    assert cel_rules.check({"u": "not a url"}, node, None, "spec") == []


def test_results_do_not_leak_between_values_sharing_a_projection() -> None:
    node = _node({"rule": "!has(self.mode) || self.provider != 'chatgpt' || self.mode == 'responses'"})
    assert cel_rules.check({"provider": "chatgpt", "mode": "responses", "other": 1}, node, None, "spec") == []
    assert len(cel_rules.check({"provider": "chatgpt", "mode": "chat", "other": 1}, node, None, "spec")) == 1
    assert cel_rules.check({"provider": "openai", "mode": "chat", "other": 2}, node, None, "spec") == []
