"""ParsedAliases: the inventory parsed once per change, unchanged objects kept as the same instance."""

from __future__ import annotations

import copy
from typing import Any

from controller import conflicts, resources
from controller.inventory import Inventory
from controller.parsing import ParsedAliases
from tests.controller.modelaliases import raw_alias


def _stored(name: str, model: str = "m", *, uid: str | None = None) -> dict[str, Any]:
    raw = raw_alias(name, {"backend": {"provider": "openai", "model": model}}, generation=1)
    raw["metadata"]["uid"] = uid or f"uid-{name}"
    raw["metadata"]["resourceVersion"] = "1"
    return raw


def test_unchanged_objects_keep_their_parsed_instance() -> None:
    inventory = Inventory()
    inventory.replace_scope("", [_stored("a"), _stored("b")])
    parsed = ParsedAliases(inventory)
    first = parsed.objects()
    assert [obj.metadata.name for obj in first if isinstance(obj, resources.ModelAlias)] == ["a", "b"]
    assert parsed.objects() is first  # same inventory version: same list
    inventory.upsert(_stored("c"))
    second = parsed.objects()
    assert parsed.parses == 3
    assert second[0] is first[0]
    assert second[1] is first[1]


def test_a_status_only_update_is_not_parsed_again_but_a_spec_change_is() -> None:
    inventory = Inventory()
    inventory.replace_scope("", [_stored("a")])
    parsed = ParsedAliases(inventory)
    (before,) = parsed.objects()
    status_update = copy.deepcopy(inventory.objects["team-a", "a"])
    status_update["status"] = {"observedGeneration": 1}
    status_update["metadata"]["resourceVersion"] = "2"
    inventory.upsert(status_update)
    inventory.upsert(_stored("b"))  # bump the version so the view refreshes
    assert parsed.objects()[0] is before
    assert parsed.parses == 2
    edited = copy.deepcopy(status_update)
    edited["spec"]["backend"]["model"] = "other"
    edited["metadata"]["generation"] = 2
    inventory.upsert(edited)
    (after, _) = parsed.objects()
    assert isinstance(after, resources.ModelAlias)
    assert after.spec.backend.model == "other"
    assert parsed.parses == 3


def test_deleted_objects_leave_and_broken_ones_become_invalid_aliases() -> None:
    inventory = Inventory()
    broken = _stored("broken")
    broken["spec"]["backend"]["provider"] = "nope"
    inventory.replace_scope("", [_stored("a"), broken])
    parsed = ParsedAliases(inventory)
    objects = parsed.objects()
    assert isinstance(objects[1], conflicts.InvalidAlias)
    assert objects[1].field.startswith("spec.backend.provider")
    inventory.delete(_stored("a"))
    assert [type(obj) for obj in parsed.objects()] == [conflicts.InvalidAlias]
