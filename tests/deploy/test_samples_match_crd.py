"""The samples in deploy/samples/ are valid ModelAliases by the CRD's structural schema, checked
offline with jsonschema (kubernetes-validate skips custom resources). Fields the schema does not
know are errors here: an API server would silently prune them, which hides typos."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy import manifests


def _to_json_schema(node: Any) -> Any:
    """OpenAPI v3 (Kubernetes structural subset) to JSON Schema: nullable, int-or-string, no pruning."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _to_json_schema(value) for key, value in node.items() if not key.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    out.pop("nullable", None)
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _crd() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(manifests.CRD_PATH.read_text(encoding="utf-8"))
    return loaded


def _validator() -> jsonschema.Draft202012Validator:
    version = next(v for v in _crd()["spec"]["versions"] if v["storage"])
    schema = _to_json_schema(version["schema"]["openAPIV3Schema"])
    return jsonschema.Draft202012Validator(schema)


def _samples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(manifests.SAMPLES_DIR.glob("*.yaml")):
        for index, doc in enumerate(manifests.parse_documents(path.read_text(encoding="utf-8"))):
            found.append((f"{path.name}#{index}", doc))
    return found


def test_there_are_samples() -> None:
    assert len(_samples()) >= 2


@pytest.mark.parametrize(("where", "sample"), _samples(), ids=[where for where, _ in _samples()])
def test_sample_matches_the_crd_schema(where: str, sample: dict[str, Any]) -> None:
    crd = _crd()
    assert sample["apiVersion"] == f"{crd['spec']['group']}/v1alpha1", where
    assert sample["kind"] == crd["spec"]["names"]["kind"], where
    errors = sorted(_validator().iter_errors(sample), key=lambda e: list(e.path))
    assert not errors, f"{where}: " + "; ".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_check_rejects_bad_objects() -> None:
    """The check can fail: an unknown provider, a misspelled field and a missing backend are errors."""
    _, sample = _samples()[0]
    validator = _validator()
    bad_provider = copy.deepcopy(sample)
    bad_provider["spec"]["backend"]["provider"] = "anthropic"
    typo = copy.deepcopy(sample)
    typo["spec"]["modee"] = "chat"
    no_backend = copy.deepcopy(sample)
    del no_backend["spec"]["backend"]
    for broken in (bad_provider, typo, no_backend):
        assert list(validator.iter_errors(broken)), broken["spec"]


def test_the_kustomize_gateway_may_read_every_credentials_secret_the_samples_use() -> None:
    """Applying the samples to the plain install works: their Secrets are in the gateway Role."""
    role = yaml.safe_load((manifests.DEPLOY_DIR / "rbac" / "gateway_role.yaml").read_text(encoding="utf-8"))
    allowed = {name for rule in role["rules"] if "secrets" in rule["resources"] for name in rule["resourceNames"]}
    used = {s["spec"]["backend"]["credentials"] for _, s in _samples() if s["spec"]["backend"].get("credentials")}
    assert used
    assert used <= allowed
