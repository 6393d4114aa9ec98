"""CRD validation rules (``x-kubernetes-validations``): not evaluated yet (see README)."""

from __future__ import annotations

from tests.kubeapi import schema
from tests.kubeapi.resources import ResourceType


def rule_checker(rt: ResourceType) -> schema.RuleChecker | None:
    return None
