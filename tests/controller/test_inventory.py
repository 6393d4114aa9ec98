"""The inventory: change classification, stale deletes, re-list replacing a scope, completeness."""

from __future__ import annotations

from typing import Any

from controller.inventory import ALL_NAMESPACES, Change, Inventory, secret_essence


def alias(
    name: str,
    *,
    ns: str = "team-a",
    uid: str = "u1",
    rv: str = "1",
    gen: int = 1,
    model: str = "gpt-5",
    status: Any = None,
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {"name": name, "namespace": ns, "uid": uid, "resourceVersion": rv, "generation": gen},
        "spec": {"backend": {"provider": "openai", "model": model}},
    }
    if status is not None:
        raw["status"] = status
    return raw


def test_new_object_is_a_spec_change_and_bumps_the_version() -> None:
    inventory = Inventory()
    assert inventory.upsert(alias("a")) is Change.SPEC
    assert inventory.version == 1
    assert len(inventory) == 1


def test_duplicate_event_changes_nothing() -> None:
    inventory = Inventory()
    inventory.upsert(alias("a"))
    assert inventory.upsert(alias("a")) is Change.NONE
    assert inventory.version == 1


def test_status_only_change_is_classified_as_status() -> None:
    inventory = Inventory()
    inventory.upsert(alias("a"))
    assert inventory.upsert(alias("a", rv="2", status={"observedGeneration": 1})) is Change.STATUS
    assert inventory.version == 1
    assert inventory.get("team-a", "a") == alias("a", rv="2", status={"observedGeneration": 1})


def test_spec_change_is_classified_as_spec() -> None:
    inventory = Inventory()
    inventory.upsert(alias("a"))
    assert inventory.upsert(alias("a", rv="3", gen=2, model="gpt-5.1")) is Change.SPEC
    assert inventory.version == 2


def test_stale_delete_of_a_recreated_object_is_ignored() -> None:
    inventory = Inventory()
    inventory.upsert(alias("a", uid="new"))
    assert inventory.delete(alias("a", uid="old")) is Change.NONE
    assert inventory.get("team-a", "a") is not None
    assert inventory.delete(alias("a", uid="new")) is Change.SPEC
    assert inventory.get("team-a", "a") is None


def test_delete_of_an_unknown_object_changes_nothing() -> None:
    assert Inventory().delete(alias("ghost")) is Change.NONE


def test_relist_drops_objects_deleted_while_the_watch_was_down() -> None:
    inventory = Inventory()
    inventory.replace_scope(ALL_NAMESPACES, [alias("a"), alias("b", uid="u2")])
    change = inventory.replace_scope(ALL_NAMESPACES, [alias("b", uid="u2")])
    assert change is Change.SPEC
    assert [raw["metadata"]["name"] for raw in inventory.snapshot()] == ["b"]


def test_identical_relist_is_no_change() -> None:
    inventory = Inventory()
    inventory.replace_scope(ALL_NAMESPACES, [alias("a")])
    assert inventory.replace_scope(ALL_NAMESPACES, [alias("a")]) is Change.NONE


def test_namespaced_relist_leaves_other_namespaces_alone() -> None:
    inventory = Inventory(scopes=frozenset({"team-a", "team-b"}))
    inventory.replace_scope("team-a", [alias("a", ns="team-a")])
    assert not inventory.complete
    inventory.replace_scope("team-b", [alias("b", ns="team-b", uid="u2")])
    assert inventory.complete
    inventory.replace_scope("team-a", [])
    assert [raw["metadata"]["name"] for raw in inventory.snapshot()] == ["b"]


def test_secret_annotation_change_is_a_spec_change() -> None:
    inventory = Inventory(essence=secret_essence, scopes=frozenset({"aliasgate-system"}))
    secret: dict[str, Any] = {
        "metadata": {"name": "key", "namespace": "aliasgate-system", "uid": "s", "resourceVersion": "1"}
    }
    inventory.upsert(secret)
    annotated = {
        "metadata": {
            **secret["metadata"],
            "resourceVersion": "2",
            "annotations": {"aliasgate.io/allowed-namespaces": "x"},
        }
    }
    assert inventory.upsert(annotated) is Change.SPEC
