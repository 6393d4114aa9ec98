"""The CRD's CEL rules (``x-kubernetes-validations``), evaluated with cel-python.

Each rule is run where the API server runs it (the node it is declared on, with ``self`` bound to the
value there), on cases that must pass and cases that must fail. Every rule of the CRD needs cases here,
and every object the CEL rules refuse is also refused by the conflict engine (for objects that reach it
without admission: stored before a CRD upgrade, local mode, ``aliasgate check``).
"""

from __future__ import annotations

from typing import Any

import celpy
import pytest
from celpy import adapter, celtypes
from hypothesis import given

from controller import conflicts, resources
from tests.controller.conflicts.test_properties import raw_objects
from tests.controller.modelaliases import crd_schema, raw_alias, sample_documents


def _rules() -> list[tuple[str, str, str]]:
    """(path, rule, message) for every rule; path is dotted from the root ("" for the root)."""
    found: list[tuple[str, str, str]] = []

    def walk(node: dict[str, Any], path: str) -> None:
        for rule in node.get("x-kubernetes-validations", []):
            found.append((path, rule["rule"], rule["message"]))
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}.{key}" if path else key)
        if "items" in node:
            walk(node["items"], f"{path}[]")

    walk(crd_schema(), "")
    return found


RULES = _rules()
_ENV = celpy.Environment()
_PROGRAMS = {rule: _ENV.program(_ENV.compile(rule)) for _, rule, _ in RULES}


def _evaluate(rule: str, value: Any) -> bool:
    result = _PROGRAMS[rule].evaluate({"self": adapter.json_to_cel(value)})
    assert isinstance(result, celtypes.BoolType), f"{rule} gave {result!r}"
    return bool(result)


def _at(raw: Any, path: str) -> list[Any]:
    values = [raw]
    for part in path.split(".") if path else []:
        values = [v[part] for v in values if isinstance(v, dict) and part in v]
    return values


def violations(raw: dict[str, Any]) -> list[str]:
    """Messages of every rule the API server would fail for this object."""
    return [message for path, rule, message in RULES for value in _at(raw, path) if not _evaluate(rule, value)]


OPENAI = {"provider": "openai", "model": "gpt-5"}
# rule message fragment -> (values that pass, values that fail), each bound to `self` at the rule's node
CASES: dict[str, tuple[list[Any], list[Any]]] = {
    "must not name the alias itself": (
        [
            {"metadata": {"name": "a"}, "spec": {"backend": OPENAI}},
            {"metadata": {"name": "a"}, "spec": {"backend": OPENAI, "fallbacks": ["b"]}},
            {"metadata": {"name": "a"}, "spec": {"alias": "x", "backend": OPENAI, "fallbacks": ["a"]}},
        ],
        [
            {"metadata": {"name": "a"}, "spec": {"backend": OPENAI, "fallbacks": ["b", "a"]}},
            {"metadata": {"name": "a"}, "spec": {"alias": "x", "backend": OPENAI, "fallbacks": ["x"]}},
        ],
    ),
    "provider chatgpt serves only the responses mode": (
        [
            {"backend": {"provider": "chatgpt", "model": "m"}},
            {"backend": {"provider": "chatgpt", "model": "m"}, "mode": "responses"},
            {"backend": OPENAI, "mode": "chat"},
        ],
        [{"backend": {"provider": "chatgpt", "model": "m"}, "mode": "chat"}],
    ),
    "baseURL is required": (
        [
            {"backend": OPENAI},
            {"backend": {"provider": "chatgpt", "model": "m"}},
            {"backend": {"provider": "azure-openai", "model": "m", "baseURL": "https://x"}},
            {"backend": {"provider": "openai-compatible", "model": "m", "baseURL": "http://x"}},
        ],
        [
            {"backend": {"provider": "azure-openai", "model": "m"}},
            {"backend": {"provider": "openai-compatible", "model": "m"}},
        ],
    ),
    "apiVersion is only allowed": (
        [
            {"backend": OPENAI},
            {"backend": {"provider": "azure-openai", "model": "m", "baseURL": "https://x", "apiVersion": "2025"}},
        ],
        [
            {"backend": {**OPENAI, "apiVersion": "2025"}},
            {"backend": {"provider": "openai-compatible", "model": "m", "apiVersion": "2025"}},
        ],
    ),
    "must start with http:// or https://": (
        ["http://vllm:8000/v1", "https://api.openai.com/v1"],
        ["ftp://example.com", "api.openai.com/v1", "HTTPS://example.com", ""],
    ),
    "connectSeconds must not exceed": (
        [{}, {"connectSeconds": 5}, {"connectSeconds": 5, "readSeconds": 5}, {"readSeconds": 1}],
        [{"connectSeconds": 6, "readSeconds": 5}],
    ),
    "timeoutSeconds must not exceed": (
        [{}, {"timeoutSeconds": 600}, {"timeoutSeconds": 30, "intervalSeconds": 30}],
        [{"timeoutSeconds": 31, "intervalSeconds": 30}],
    ),
}


def _rule_for(fragment: str) -> str:
    [rule] = [rule for _, rule, message in RULES if fragment in message]
    return rule


def test_every_rule_has_cases() -> None:
    for _, _, message in RULES:
        assert any(fragment in message for fragment in CASES), f"no CEL cases for rule {message!r}"
    assert len(RULES) == len(CASES)


@pytest.mark.parametrize("fragment", sorted(CASES))
def test_rule_accepts_and_refuses(fragment: str) -> None:
    rule = _rule_for(fragment)
    passing, failing = CASES[fragment]
    for value in passing:
        assert _evaluate(rule, value), f"{rule} refused {value}"
    for value in failing:
        assert not _evaluate(rule, value), f"{rule} accepted {value}"


def test_samples_pass_every_rule_but_the_documented_unsupported_mode() -> None:
    refused = {doc["metadata"]["name"]: violations(doc) for doc in sample_documents() if violations(doc)}
    assert list(refused) == ["gpt-5-4-chat"]
    assert "provider chatgpt serves only the responses mode" in refused["gpt-5-4-chat"][0]


@given(raw=raw_objects())
def test_whatever_cel_refuses_the_engine_rejects(raw: dict[str, Any]) -> None:
    obj = resources.parse_object(raw)
    verdict = conflicts.resolve([obj]).verdicts[obj.ref]
    if violations(raw):
        assert not verdict.accepted
        assert verdict.reason in ("InvalidSpec", "UnsupportedMode")


def test_engine_rejects_each_failing_case_that_is_a_whole_spec() -> None:
    for fragment in (
        "provider chatgpt serves only the responses mode",
        "baseURL is required",
        "apiVersion is only allowed",
    ):
        for spec in CASES[fragment][1]:
            obj = resources.parse_object(raw_alias("x", spec))
            assert not conflicts.resolve([obj]).verdicts[obj.ref].accepted, spec
