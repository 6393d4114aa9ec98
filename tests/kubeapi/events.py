"""Events are stored once, in core v1 form, and shown through ``events.k8s.io/v1`` by field renaming.

This is how a real cluster behaves: one object, two APIs. Reading an event through ``events.k8s.io/v1``
that was created through core v1 without ``eventTime`` yields ``eventTime: null``.
"""

from __future__ import annotations

from typing import Any

from tests.kubeapi import errors

Json = dict[str, Any]

_CORE_TO_NEW = {
    "involvedObject": "regarding",
    "message": "note",
    "reportingComponent": "reportingController",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
}
_NEW_TO_CORE = {v: k for k, v in _CORE_TO_NEW.items()}


def to_events_v1(core: Json) -> Json:
    out: Json = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
    for key, value in core.items():
        if key in ("kind", "apiVersion"):
            continue
        out[_CORE_TO_NEW.get(key, key)] = value
    out.setdefault("eventTime", None)
    for key in ("reportingController", "reportingInstance"):
        out.setdefault(key, "")
    return out


def to_core(new: Json) -> Json:
    out: Json = {"kind": "Event", "apiVersion": "v1"}
    for key, value in new.items():
        if key in ("kind", "apiVersion"):
            continue
        out[_NEW_TO_CORE.get(key, key)] = value
    return out


_QUALIFIED_NAME_PART = (
    "Invalid value: \"{value}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def validate_events_v1(obj: Json) -> list[Json]:
    """What a create through ``events.k8s.io/v1`` must carry (on top of core validation), in the order and
    words of the real server: the reporting fields are checked only once ``eventTime`` is set."""
    causes = []
    if obj.get("eventTime"):
        controller = str(obj.get("reportingController") or "")
        if not controller:
            causes += [
                errors.field_error("reportingController", "Required value", "FieldValueRequired"),
                errors.field_error("reportingController", 'Invalid value: "": name part must be non-empty'),
                errors.field_error("reportingController", _QUALIFIED_NAME_PART.format(value="")),
            ]
        for field in ("reportingInstance", "action", "reason"):
            if not obj.get(field):
                causes.append(errors.field_error(field, "Required value", "FieldValueRequired"))
    else:
        causes.append(errors.field_error("eventTime", "Required value", "FieldValueRequired"))
    event_type = obj.get("type") or ""
    if event_type not in ("Normal", "Warning"):
        causes.append(errors.field_error("type", f'Invalid value: "": has invalid value: {event_type}'))
    return causes


def validate_core(obj: Json) -> list[Json]:
    causes = []
    event_type = obj.get("type")
    if event_type is not None and event_type not in ("Normal", "Warning"):
        causes.append(
            errors.field_error(
                "type",
                f'Unsupported value: "{event_type}": supported values: "Normal", "Warning"',
                "FieldValueNotSupported",
            )
        )
    involved = obj.get("involvedObject") or {}
    namespace = obj.get("metadata", {}).get("namespace", "")
    if involved.get("namespace") and involved["namespace"] != namespace:
        causes.append(
            errors.field_error(
                "involvedObject.namespace", f'Invalid value: "{involved["namespace"]}": does not match event.namespace'
            )
        )
    note = obj.get("message") or ""
    if len(note) > 1024 and obj.get("eventTime"):
        causes.append(errors.field_error("note", "Too long: may not be more than 1024 bytes", "FieldValueTooLong"))
    return causes
