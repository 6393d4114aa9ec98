"""``meta.k8s.io/v1`` Table output, which ``kubectl get`` asks for (``Accept: ...;as=Table;...``).

Custom resources use their CRD's ``additionalPrinterColumns`` (JSONPath subset: ``.a.b``, ``[0]``,
``[?(@.type=="Ready")]``), with ``date`` columns shown as ages like the server's table convertor does;
built-in kinds get the columns ``kubectl get`` shows for them.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import orjson

from tests.kubeapi.resources import ResourceType

Json = dict[str, Any]

NAME_COLUMN: Json = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}
AGE = "Age"


def human_duration(seconds: float) -> str:
    """Kubernetes' ``duration.HumanDuration``: ``45s``, ``5m3s``, ``3h``, ``2d4h``, ``3y``."""
    if seconds < -1:
        return "<invalid>"
    s = max(int(seconds), 0)
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(value: Any, now: datetime.datetime) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        then = datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.UTC)
    except ValueError:
        return value
    return human_duration((now - then).total_seconds())


_TOKEN = re.compile(
    r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*[\"']([^\"']*)[\"']\)\]|\['([^']+)'\]|\[\*\]"
)


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Evaluate the JSONPath subset printer columns use; returns all matches."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if text.startswith("$"):
        text = text[1:]
    nodes = [obj]
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            return []
        pos = m.end()
        field, index, filter_key, filter_value, quoted = m.groups()
        out: list[Any] = []
        for node in nodes:
            if field is not None or quoted is not None:
                key = field if field is not None else quoted
                if isinstance(node, dict) and key in node:
                    out.append(node[key])
            elif index is not None:
                if isinstance(node, list) and int(index) < len(node):
                    out.append(node[int(index)])
            elif filter_key is not None:
                if isinstance(node, list):
                    for item in node:
                        found = jsonpath(item, "." + filter_key)
                        if found and str(found[0]) == filter_value:
                            out.append(item)
            elif isinstance(node, list):
                out.extend(node)
        nodes = out
    return nodes


def _cell(column: Json, values: list[Any], now: datetime.datetime) -> Any:
    if not values:
        return None
    value = values[0] if len(values) == 1 else ",".join(str(v) for v in values)
    kind = column.get("type", "string")
    if kind == "date":
        return age(value, now)
    if kind == "integer" and isinstance(value, int):
        return value
    if kind == "number" and isinstance(value, int | float):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value if isinstance(value, str | int | float | bool) else str(value)


Column = tuple[Json, Callable[[Json, datetime.datetime], Any]]


def _age_column() -> Column:
    return (
        {
            "name": AGE,
            "type": "string",
            "format": "",
            "description": "CreationTimestamp is a timestamp...",
            "priority": 0,
        },
        lambda o, now: age(o["metadata"].get("creationTimestamp"), now),
    )


def _simple(name: str, getter: Callable[[Json], Any], kind: str = "string", priority: int = 0) -> Column:
    return (
        {"name": name, "type": kind, "format": "", "description": name, "priority": priority},
        lambda o, now: getter(o),
    )


def _ports(o: Json) -> str:
    ports = (o.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


BUILTIN_COLUMNS: dict[str, Callable[[], list[Column]]] = {
    "configmaps": lambda: [
        _simple("Data", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}), "integer"),
        _age_column(),
    ],
    "secrets": lambda: [
        _simple("Type", lambda o: o.get("type", "")),
        _simple("Data", lambda o: len(o.get("data") or {}), "integer"),
        _age_column(),
    ],
    "namespaces": lambda: [_simple("Status", lambda o: (o.get("status") or {}).get("phase", "")), _age_column()],
    "leases": lambda: [_simple("Holder", lambda o: (o.get("spec") or {}).get("holderIdentity", "")), _age_column()],
    "services": lambda: [
        _simple("Type", lambda o: (o.get("spec") or {}).get("type", "")),
        _simple("Cluster-IP", lambda o: (o.get("spec") or {}).get("clusterIP", "<none>")),
        _simple("External-IP", lambda o: "<none>"),
        _simple("Port(s)", _ports),
        _age_column(),
    ],
    "pods": lambda: [
        _simple("Ready", lambda o: f"0/{len((o.get('spec') or {}).get('containers') or [])}"),
        _simple("Status", lambda o: (o.get("status") or {}).get("phase", "")),
        _simple("Restarts", lambda o: 0, "integer"),
        _age_column(),
    ],
    "endpointslices": lambda: [
        _simple("AddressType", lambda o: o.get("addressType", "")),
        _simple("Ports", lambda o: ",".join(str(p.get("port")) for p in o.get("ports") or []) or "<unset>"),
        _simple(
            "Endpoints",
            lambda o: ",".join(a for e in o.get("endpoints") or [] for a in e.get("addresses", [])) or "<unset>",
        ),
        _age_column(),
    ],
    "events": lambda: [
        _simple("Type", lambda o: o.get("type", "")),
        _simple("Reason", lambda o: o.get("reason", "")),
        _simple(
            "Object",
            lambda o: (
                f"{(o.get('involvedObject') or {}).get('kind', '').lower()}/{(o.get('involvedObject') or {}).get('name', '')}"
            ),
        ),
        _simple("Message", lambda o: o.get("message", "")),
        _age_column(),
    ],
    "customresourcedefinitions": lambda: [
        (
            {"name": "Created At", "type": "date", "format": "", "description": "creation time", "priority": 0},
            lambda o, now: o["metadata"].get("creationTimestamp"),
        )
    ],
}


def _printer_getter(column: Json) -> Callable[[Json, datetime.datetime], Any]:
    def getter(obj: Json, now: datetime.datetime) -> Any:
        return _cell(column, jsonpath(obj, column["jsonPath"]), now)

    return getter


def columns(rt: ResourceType) -> list[Column]:
    if rt.custom:
        if not rt.printer_columns:
            return [_age_column()]
        out: list[Column] = []
        for column in rt.printer_columns:
            definition = {
                "name": column["name"],
                "type": column.get("type", "string"),
                "format": column.get("format", ""),
                "description": column.get("description", ""),
                "priority": column.get("priority", 0),
            }
            out.append((definition, _printer_getter(column)))
        return out
    factory = BUILTIN_COLUMNS.get(rt.plural)
    return factory() if factory is not None else [_age_column()]


def partial_metadata(obj: Json) -> Json:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(
    rt: ResourceType,
    objs: list[Json],
    *,
    now: datetime.datetime,
    include_object: str = "Metadata",
    metadata: Json | None = None,
    headers: bool = True,
) -> Json:
    cols = columns(rt)
    rows = []
    for obj in objs:
        cells = [obj["metadata"]["name"], *(getter(obj, now) for _, getter in cols)]
        row: Json = {"cells": cells}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    out: Json = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata or {}}
    out["columnDefinitions"] = [NAME_COLUMN, *(definition for definition, _ in cols)] if headers else []
    out["rows"] = rows
    return out
