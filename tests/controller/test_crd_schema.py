"""The CRD's openAPIV3Schema and the pydantic models agree field by field, and the CRD is well-formed.

Both sides are walked into the same normal form (type, enum, bounds, pattern, required, properties,
items) and compared path by path, so a field added, renamed, loosened or tightened on one side fails
here with the path that drifted.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from controller import resources
from tests.controller.modelaliases import CRD_PATH, crd_schema, load_yaml

_BOUNDS = ("minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "minItems", "maxItems", "pattern")


def _resolve_ref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def normal_pydantic(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    node = _resolve_ref(node, defs)
    if "anyOf" in node:
        options = [_resolve_ref(o, defs) for o in node["anyOf"] if o.get("type") != "null"]
        assert len(options) == 1, f"unexpected union {node}"
        node = options[0]
    out: dict[str, Any] = {}
    if "const" in node:
        out["enum"] = [node["const"]]
        out["type"] = "string"
    if "enum" in node:
        out["enum"] = sorted(node["enum"])
    if "type" in node:
        out["type"] = node["type"]
    for bound in _BOUNDS:
        if bound in node:
            out[bound] = node[bound]
    if out.get("type") == "object":
        if "properties" in node:
            out["properties"] = {k: normal_pydantic(v, defs) for k, v in node["properties"].items()}
            out["required"] = sorted(node.get("required", []))
        elif node.get("additionalProperties") is True:
            out["free"] = True
    if out.get("type") == "array":
        out["items"] = normal_pydantic(node["items"], defs)
    return out


def normal_crd(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": node["type"]}
    if "enum" in node:
        out["enum"] = sorted(node["enum"])
    for bound in _BOUNDS:
        if bound in node and bound != "exclusiveMinimum":
            out[bound] = node[bound]
    if node.get("exclusiveMinimum") is True:
        out["exclusiveMinimum"] = out.pop("minimum")
    if node["type"] == "object":
        if node.get("x-kubernetes-preserve-unknown-fields"):
            assert "properties" not in node
            out["free"] = True
        elif "properties" in node:
            out["properties"] = {k: normal_crd(v) for k, v in node["properties"].items()}
            out["required"] = sorted(node.get("required", []))
    if node["type"] == "array":
        out["items"] = normal_crd(node["items"])
    return out


def _diff(path: str, want: Any, got: Any, problems: list[str]) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            if key not in got:
                problems.append(f"{path}.{key}: in the pydantic model, missing from the CRD")
            elif key not in want:
                problems.append(f"{path}.{key}: in the CRD, missing from the pydantic model")
            else:
                _diff(f"{path}.{key}", want[key], got[key], problems)
    elif want != got:
        problems.append(f"{path}: pydantic {want!r} != CRD {got!r}")


@pytest.mark.parametrize(
    ("model", "crd_field"),
    [(resources.ModelAliasSpec, "spec"), (resources.ModelAliasStatus, "status")],
)
def test_crd_mirrors_the_pydantic_model(model: type[resources.ModelAliasSpec], crd_field: str) -> None:
    schema = model.model_json_schema(by_alias=True)
    want = normal_pydantic(schema, schema.get("$defs", {}))
    got = normal_crd(crd_schema()["properties"][crd_field])
    problems: list[str] = []
    _diff(crd_field, want, got, problems)
    assert not problems, "\n".join(problems)


def test_the_comparison_notices_drift() -> None:
    """The walker is not vacuous: a changed bound, a missing field and an extra field are all reported."""
    schema = resources.ModelAliasSpec.model_json_schema(by_alias=True)
    want = normal_pydantic(schema, schema["$defs"])
    got = normal_crd(crd_schema()["properties"]["spec"])
    got["properties"]["backend"]["properties"]["model"]["maxLength"] = 255
    del got["properties"]["mode"]
    got["properties"]["extra"] = {"type": "string"}
    problems: list[str] = []
    _diff("spec", want, got, problems)
    assert len(problems) == 3
    assert want["properties"]["timeouts"]["properties"]["connectSeconds"] == {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 300,
    }


def test_crd_identity_names_and_subresources() -> None:
    crd = load_yaml(CRD_PATH)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{resources.PLURAL}.{resources.GROUP}"
    spec = crd["spec"]
    assert spec["group"] == resources.GROUP
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == resources.KIND
    assert spec["names"]["plural"] == resources.PLURAL
    assert spec["names"]["shortNames"] == [resources.SHORT_NAME]
    assert spec["names"]["categories"] == ["aliasgate"]
    [version] = spec["versions"]
    assert version["name"] == resources.VERSION
    assert version["served"] is True
    assert version["storage"] is True
    assert version["subresources"] == {"status": {}}


def test_printer_columns_tell_the_story() -> None:
    [version] = load_yaml(CRD_PATH)["spec"]["versions"]
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert list(columns) == ["Alias", "Provider", "Model", "Mode", "Accepted", "Programmed", "Reason", "Message", "Age"]
    assert columns["Mode"]["jsonPath"] == ".status.resolvedMode"
    assert columns["Accepted"]["jsonPath"] == '.status.conditions[?(@.type=="Accepted")].status'
    assert columns["Programmed"]["jsonPath"] == '.status.conditions[?(@.type=="Programmed")].status'
    assert columns["Reason"]["priority"] == 1
    assert columns["Message"]["priority"] == 1
    assert columns["Age"] == {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    assert all(c.get("priority", 0) == 0 for name, c in columns.items() if name not in ("Reason", "Message"))


def test_conditions_are_a_list_map_keyed_by_type() -> None:
    conditions = crd_schema()["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert conditions["items"]["required"] == ["lastTransitionTime", "message", "reason", "status", "type"]


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.get("properties", {}).items():
            found.extend(_walk(value, f"{path}.{key}"))
        if "items" in node:
            found.extend(_walk(node["items"], f"{path}[]"))
    return found


def test_schema_is_structural_and_cel_costs_are_bounded() -> None:
    """Every node has a type; every string and list CEL can reach has a maximum size (the cost budget)."""
    for path, node in _walk(crd_schema()):
        assert "type" in node, f"{path} has no type (not structural)"
        if node["type"] == "string" and not path.startswith((".apiVersion", ".kind")):
            assert "maxLength" in node or "enum" in node or node.get("format") == "date-time", path
        if node["type"] == "array":
            assert "maxItems" in node, path
        if "x-kubernetes-preserve-unknown-fields" in node:
            assert "properties" not in node, path
    # And the whole schema is a valid JSON Schema once OpenAPI's booleans are understood (Draft 4 semantics).
    jsonschema.Draft4Validator.check_schema({k: v for k, v in crd_schema().items() if not k.startswith("x-")})
