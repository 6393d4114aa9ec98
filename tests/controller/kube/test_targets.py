"""What the controller watches: ModelAlias collections (slimmed) and its own table ConfigMap (metadata only)."""

from __future__ import annotations

from typing import Any

from controller.inventory import ALL_NAMESPACES, Change, Inventory, table_essence
from controller.kube.targets import LAST_APPLIED, alias_targets, slim_alias, table_target
from tests.controller.test_inventory import alias


def test_managed_fields_and_last_applied_copies_are_not_kept() -> None:
    raw = alias("a")
    raw["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    raw["metadata"]["annotations"] = {LAST_APPLIED: "{...}", "team": "x"}
    slim = slim_alias(raw)
    assert "managedFields" not in slim["metadata"]
    assert slim["metadata"]["annotations"] == {"team": "x"}
    assert slim["spec"] == raw["spec"]
    assert "managedFields" in raw["metadata"]  # the input is not mutated
    plain = alias("b")
    assert slim_alias(plain) is plain


def test_aliases_are_watched_cluster_wide_or_per_namespace() -> None:
    (everywhere,) = alias_targets(())
    assert (everywhere.path, everywhere.scope) == ("/apis/aliasgate.io/v1alpha1/modelaliases", ALL_NAMESPACES)
    per_namespace = alias_targets(("team-a", "team-b"))
    assert [(t.path, t.scope) for t in per_namespace] == [
        ("/apis/aliasgate.io/v1alpha1/namespaces/team-a/modelaliases", "team-a"),
        ("/apis/aliasgate.io/v1alpha1/namespaces/team-b/modelaliases", "team-b"),
    ]
    assert all(t.strip is slim_alias and t.kind == "ModelAlias" for t in [everywhere, *per_namespace])


def test_the_table_configmap_is_watched_by_name_and_kept_as_metadata_only() -> None:
    target = table_target("aliasgate-system", "aliasgate-routing-table")
    assert target.path == "/api/v1/namespaces/aliasgate-system/configmaps"
    assert target.field_selector == "metadata.name=aliasgate-routing-table"
    raw: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aliasgate-routing-table", "namespace": "aliasgate-system", "resourceVersion": "7"},
        "binaryData": {"table.json.gz": "H4sI..."},
    }
    assert target.strip is not None
    kept = target.strip(raw)
    assert "binaryData" not in kept
    assert kept["metadata"] == raw["metadata"]
    inventory = Inventory(essence=table_essence, scopes=frozenset({"aliasgate-system"}))
    inventory.upsert(kept)
    changed = {**kept, "metadata": {**kept["metadata"], "resourceVersion": "8"}}
    assert inventory.upsert(changed) is not Change.NONE  # any write to the ConfigMap counts
