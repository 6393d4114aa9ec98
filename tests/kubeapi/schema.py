"""Structural-schema handling for custom resources: pruning, defaulting and validation.

Follows the apiextensions rules: unknown fields are pruned (and reported, for the ``Warning`` header
or a ``fieldValidation=Strict`` 400) unless ``x-kubernetes-preserve-unknown-fields`` is set; defaults are
applied to absent fields; values are checked against type, enum, required, bounds, lengths, pattern,
item counts, list types and the ``allOf``/``anyOf``/``oneOf``/``not`` combinators. Error texts and
field paths follow the server's (``spec.mode: Unsupported value: "x": supported values: ...``).
CEL rules (``x-kubernetes-validations``) are delegated to ``cel_rules`` through a callback.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import orjson

from tests.kubeapi import errors

Json = dict[str, Any]
Cause = Json
RuleChecker = Callable[[Any, Json, Any, str], list[Cause]]
"""(value, schema node, old value or None, field path) -> causes for that node's CEL rules."""

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def prune_metadata(meta: Json, unknown: list[str], path: str = "metadata") -> None:
    for key in [k for k in meta if k not in OBJECT_META_FIELDS]:
        del meta[key]
        unknown.append(_join(path, key))


def prune(value: Any, schema: Json, path: str, unknown: list[str], *, root: bool = False) -> None:
    """Drop fields the schema does not declare (in place); record their paths in ``unknown``."""
    if isinstance(value, dict):
        if root or schema.get("x-kubernetes-embedded-resource"):
            if isinstance(value.get("metadata"), dict):
                prune_metadata(value["metadata"], unknown, _join(path, "metadata"))
            skip = {"apiVersion", "kind", "metadata"}
        else:
            skip = set()
        props: Json | None = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        if props is not None:
            for key in list(value):
                if key in skip:
                    continue
                sub = props.get(key)
                if sub is None:
                    if not preserve:
                        del value[key]
                        unknown.append(_join(path, key))
                else:
                    prune(value[key], sub, _join(path, key), unknown)
        elif isinstance(additional, dict):
            for key, item in value.items():
                prune(item, additional, f"{path}[{key}]", unknown)
        elif not preserve and not additional and schema.get("type") == "object":
            for key in [k for k in value if k not in skip]:
                del value[key]
                unknown.append(_join(path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            prune(item, schema["items"], f"{path}[{index}]", unknown)


def apply_defaults(value: Any, schema: Json) -> None:
    """Fill absent object fields that declare a ``default`` (in place), depth first."""
    if isinstance(value, dict):
        props: Json | None = schema.get("properties")
        if props:
            for key, sub in props.items():
                if key not in value and "default" in sub:
                    value[key] = copy.deepcopy(sub["default"])
                if key in value:
                    apply_defaults(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for item in value.values():
                apply_defaults(item, additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])


def show(value: Any) -> str:
    """A value as the server prints it in messages: JSON, strings quoted."""
    return orjson.dumps(value).decode()


def _type_ok(value: Any, type_: str) -> bool:
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ == "object":
        return isinstance(value, dict)
    if type_ == "array":
        return isinstance(value, list)
    return True


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(text: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(text)
    if compiled is None:
        compiled = _PATTERNS[text] = re.compile(text)
    return compiled


def validate(
    value: Any,
    schema: Json,
    path: str,
    *,
    old: Any = None,
    rules: RuleChecker | None = None,
) -> list[Cause]:
    """All violations of ``schema`` by ``value`` as ``Status`` causes (empty when valid).

    As on a real server, CEL rules do not run after a blocking schema violation (:data:`BLOCKING`); a
    last cause then says that some rules were not checked."""
    causes: list[Cause] = []
    _validate(value, schema, path, old, None, causes)
    if rules is None or not _has_rules(schema):
        return causes
    if any(cause["reason"] in BLOCKING for cause in causes):
        return [*causes, errors.field_error("<nil>", f"Invalid value: null: {RULES_NOT_CHECKED}")]
    with_rules: list[Cause] = []
    _validate(value, schema, path, old, rules, with_rules)
    for cause in causes:  # the schema's own causes first, then what the rules add
        with_rules.remove(cause)
    return [*causes, *with_rules]


BLOCKING = frozenset(
    {"FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong", "FieldValueTooMany", "FieldValueTypeInvalid"}
)
"""Schema violations after which a real server does not run the CEL rules (enum, required, maxLength,
maxItems/maxProperties, type); after others (minimum, pattern, ...) it still does."""


RULES_NOT_CHECKED = (
    "some validation rules were not checked because the object was invalid; correct the existing errors to "
    "complete validation"
)


def _has_rules(schema: Any) -> bool:
    """Whether any ``x-kubernetes-validations`` sits anywhere in ``schema``."""
    if isinstance(schema, dict):
        return bool(schema.get("x-kubernetes-validations")) or any(_has_rules(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_rules(v) for v in schema)
    return False


def _validate(value: Any, schema: Json, path: str, old: Any, rules: RuleChecker | None, out: list[Cause]) -> None:
    shown = path or "<root>"
    if value is None:
        if schema.get("nullable") or not schema.get("type"):
            return
        out.append(
            errors.field_error(
                path,
                f'Invalid value: "null": {shown} in body must be of type {schema["type"]}: "null"',
                "FieldValueTypeInvalid",
            )
        )
        return
    type_ = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or _type_ok(value, "integer")):
            out.append(
                errors.field_error(
                    path,
                    f'Invalid value: "{_json_type(value)}": {shown} in body must be of type integer,string: "{_json_type(value)}"',
                    "FieldValueTypeInvalid",
                )
            )
            return
    elif type_ and not _type_ok(value, type_):
        out.append(
            errors.field_error(
                path,
                f'Invalid value: "{_json_type(value)}": {shown} in body must be of type {type_}: "{_json_type(value)}"',
                "FieldValueTypeInvalid",
            )
        )
        return
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        supported = ", ".join(show(v) for v in enum)
        out.append(
            errors.field_error(
                path, f"Unsupported value: {show(value)}: supported values: {supported}", "FieldValueNotSupported"
            )
        )
    if isinstance(value, str):
        _validate_string(value, schema, path, shown, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(value, schema, path, shown, out)
    elif isinstance(value, dict):
        _validate_object(value, schema, path, old, rules, out)
    elif isinstance(value, list):
        _validate_array(value, schema, path, old, rules, out)
    for sub in schema.get("allOf", ()):
        _validate(value, sub, path, old, None, out)
    if "anyOf" in schema and not any(not validate(value, s, path) for s in schema["anyOf"]):
        out.append(
            errors.field_error(
                path, f"Invalid value: {show(value)}: {shown} in body must match at least one schema (anyOf)"
            )
        )
    if "oneOf" in schema and sum(1 for s in schema["oneOf"] if not validate(value, s, path)) != 1:
        out.append(
            errors.field_error(
                path, f"Invalid value: {show(value)}: {shown} in body must match exactly one schema (oneOf)"
            )
        )
    if "not" in schema and not validate(value, schema["not"], path):
        out.append(
            errors.field_error(
                path, f"Invalid value: {show(value)}: {shown} in body must not validate the schema (not)"
            )
        )
    if rules is not None and schema.get("x-kubernetes-validations"):
        out.extend(rules(value, schema, old, path))


def _validate_string(value: str, schema: Json, path: str, shown: str, out: list[Cause]) -> None:
    max_length = schema.get("maxLength")
    if max_length is not None and len(value) > max_length:
        out.append(errors.field_error(path, f"Too long: may not be more than {max_length} bytes", "FieldValueTooLong"))
    min_length = schema.get("minLength")
    if min_length is not None and len(value) < min_length:
        out.append(
            errors.field_error(
                path, f"Invalid value: {show(value)}: {shown} in body should be at least {min_length} chars long"
            )
        )
    pattern = schema.get("pattern")
    if pattern is not None and not _pattern(pattern).search(value):
        out.append(errors.field_error(path, f"Invalid value: {show(value)}: {shown} in body should match '{pattern}'"))


def _validate_number(value: float, schema: Json, path: str, shown: str, out: list[Cause]) -> None:
    minimum = schema.get("minimum")
    if minimum is not None:
        if schema.get("exclusiveMinimum") and value <= minimum:
            out.append(
                errors.field_error(
                    path, f"Invalid value: {show(value)}: {shown} in body should be greater than {show(minimum)}"
                )
            )
        elif value < minimum:
            out.append(
                errors.field_error(
                    path,
                    f"Invalid value: {show(value)}: {shown} in body should be greater than or equal to {show(minimum)}",
                )
            )
    maximum = schema.get("maximum")
    if maximum is not None:
        if schema.get("exclusiveMaximum") and value >= maximum:
            out.append(
                errors.field_error(
                    path, f"Invalid value: {show(value)}: {shown} in body should be less than {show(maximum)}"
                )
            )
        elif value > maximum:
            out.append(
                errors.field_error(
                    path,
                    f"Invalid value: {show(value)}: {shown} in body should be less than or equal to {show(maximum)}",
                )
            )
    multiple = schema.get("multipleOf")
    if multiple and value % multiple != 0:
        out.append(
            errors.field_error(
                path, f"Invalid value: {show(value)}: {shown} in body should be a multiple of {show(multiple)}"
            )
        )


def _validate_object(
    value: Json, schema: Json, path: str, old: Any, rules: RuleChecker | None, out: list[Cause]
) -> None:
    for key in schema.get("required", ()):
        if key not in value:
            out.append(errors.field_error(_join(path, key), "Required value", "FieldValueRequired"))
    max_props = schema.get("maxProperties")
    if max_props is not None and len(value) > max_props:
        out.append(
            errors.field_error(
                path, f"Too many: {len(value)}: must have at most {max_props} items", "FieldValueTooMany"
            )
        )
    min_props = schema.get("minProperties")
    if min_props is not None and len(value) < min_props:
        out.append(
            errors.field_error(
                path,
                f"Invalid value: {len(value)}: {path or '<root>'} in body should have at least {min_props} properties",
            )
        )
    old_map = old if isinstance(old, dict) else {}
    props: Json | None = schema.get("properties")
    if props:
        for key, sub in props.items():
            if key in value and not (path == "" and key == "metadata"):
                _validate(value[key], sub, _join(path, key), old_map.get(key), rules, out)
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        for key, item in value.items():
            _validate(item, additional, f"{path}[{key}]", old_map.get(key), rules, out)


def _validate_array(
    value: list[Any], schema: Json, path: str, old: Any, rules: RuleChecker | None, out: list[Cause]
) -> None:
    max_items = schema.get("maxItems")
    if max_items is not None and len(value) > max_items:
        out.append(
            errors.field_error(
                path, f"Too many: {len(value)}: must have at most {max_items} items", "FieldValueTooMany"
            )
        )
    min_items = schema.get("minItems")
    if min_items is not None and len(value) < min_items:
        out.append(
            errors.field_error(
                path, f"Invalid value: {len(value)}: {path} in body should have at least {min_items} items"
            )
        )
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set" or schema.get("uniqueItems"):
        seen: set[bytes] = set()
        for index, item in enumerate(value):
            key = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
            if key in seen:
                out.append(
                    errors.field_error(f"{path}[{index}]", f"Duplicate value: {show(item)}", "FieldValueDuplicate")
                )
            seen.add(key)
    elif list_type == "map":
        map_keys = schema.get("x-kubernetes-list-map-keys", ())
        seen_keys: set[bytes] = set()
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            ident = {k: item.get(k) for k in map_keys}
            key = orjson.dumps(ident, option=orjson.OPT_SORT_KEYS)
            if key in seen_keys:
                out.append(
                    errors.field_error(f"{path}[{index}]", f"Duplicate value: {show(ident)}", "FieldValueDuplicate")
                )
            seen_keys.add(key)
    items = schema.get("items")
    if isinstance(items, dict):
        old_list = old if isinstance(old, list) else []
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", old_list[index] if index < len(old_list) else None, rules, out)
