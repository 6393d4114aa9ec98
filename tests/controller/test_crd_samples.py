"""Every sample in deploy/samples is valid against the CRD's schema and parses as a ModelAlias."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from controller import resources
from tests.controller.modelaliases import SAMPLES_DIR, crd_schema, openapi_to_json_schema, sample_documents

SAMPLE_FILES = sorted(SAMPLES_DIR.glob("*.yaml"))
VALIDATOR = jsonschema.Draft4Validator(openapi_to_json_schema(crd_schema()))


def test_samples_follow_kubebuilder_names_and_cover_the_stories() -> None:
    names = [p.name for p in SAMPLE_FILES]
    assert "aliasgate_v1alpha1_modelalias.yaml" in names
    assert "aliasgate_v1alpha1_modelalias_conflict.yaml" in names
    assert all(n.startswith("aliasgate_v1alpha1_modelalias") for n in names)
    providers = {doc["spec"]["backend"]["provider"] for doc in sample_documents()}
    assert providers == {"openai", "openai-compatible", "chatgpt"}


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_sample_matches_the_crd_schema_and_the_model(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert docs
    for doc in docs:
        VALIDATOR.validate(doc)
        obj = resources.parse_object(doc)
        assert obj.metadata.namespace == "aliasgate-demo"
        assert obj.spec.backend.credentials in (None, "openai-key", "chatgpt-pro")


BROKEN: list[tuple[str, Any]] = [
    ("spec.backend.provider", lambda d: d["spec"]["backend"].update(provider="anthropic")),
    ("spec.mode", lambda d: d["spec"].update(mode="completions")),
    ("spec.backend.model", lambda d: d["spec"]["backend"].pop("model")),
    ("spec.timeouts.readSeconds", lambda d: d["spec"].update(timeouts={"readSeconds": 0})),
    ("spec.retries.attempts", lambda d: d["spec"].update(retries={"attempts": 11})),
    ("spec.fallbacks", lambda d: d["spec"].update(fallbacks=[f"a{i}" for i in range(9)])),
    ("spec.backend.credentials", lambda d: d["spec"]["backend"].update(credentials="Not_A_Secret")),
    ("spec.alias", lambda d: d["spec"].update(alias="has space")),
    ("spec.unknownField", lambda d: d["spec"].update(unknownField=1)),
    ("spec.healthCheck.intervalSeconds", lambda d: d["spec"].update(healthCheck={"intervalSeconds": 1})),
]


@pytest.mark.parametrize(("field", "breaks"), BROKEN, ids=[f for f, _ in BROKEN])
def test_schema_and_model_refuse_the_same_broken_objects(field: str, breaks: Any) -> None:
    doc = sample_documents()[0]
    breaks(doc)
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(doc)
    with pytest.raises(resources.InvalidObjectError) as caught:
        resources.parse_object(doc)
    assert caught.value.field.startswith(field)
