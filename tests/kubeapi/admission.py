"""Defaults and validation of built-in kinds, as far as the project's code can notice them.

Each check mirrors a real API server rule that a controller could trip over: ConfigMap/Secret size
(1 MiB), key syntax, ``immutable``, Secret ``stringData`` folding, Lease MicroTime format, Event fields,
name syntax. Unknown built-in fields are kept (real typed decoding would drop them; see README).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Any

from tests.kubeapi import errors, events
from tests.kubeapi.resources import ResourceType

Json = dict[str, Any]

MAX_CONFIG_BYTES = 1024 * 1024
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
MICRO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$")

_LABEL_ONLY = frozenset({"namespaces"})
_DNS_1035_ONLY = frozenset({"services"})


def validate_name(rt: ResourceType, name: str, *, prefix: bool = False) -> list[Json]:
    """``metadata.name`` syntax; with ``prefix``, of ``metadata.generateName`` (a trailing '-' is allowed)."""
    shown, field = name, "metadata.generateName" if prefix else "metadata.name"
    if prefix and name.endswith("-"):
        name = name[:-1] + "a"
    if rt.plural in _LABEL_ONLY:
        ok, limit, what = bool(_DNS_LABEL.match(name)), 63, "a lowercase RFC 1123 label"
    elif rt.plural in _DNS_1035_ONLY:
        ok, limit, what = bool(_DNS_1035.match(name)), 63, "a DNS-1035 label"
    else:
        ok, limit, what = bool(_DNS_SUBDOMAIN.match(name)), 253, "a lowercase RFC 1123 subdomain"
    if ok and len(name) <= limit:
        return []
    return [
        errors.field_error(
            field,
            f'Invalid value: "{shown}": {what} must consist of lower case alphanumeric characters, '
            "'-' or '.', and must start and end with an alphanumeric character",
        )
    ]


def validate_labels(meta: Json) -> list[Json]:
    causes = []
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        return [errors.field_error("metadata.labels", "Invalid value: must be a map of strings")]
    for key, value in labels.items():
        name = key.rsplit("/", 1)[-1]
        if not _LABEL_NAME.match(name) or len(name) > 63:
            causes.append(
                errors.field_error(
                    "metadata.labels", f'Invalid value: "{key}": name part must consist of alphanumeric characters'
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                errors.field_error(
                    "metadata.labels",
                    f'Invalid value: "{value}": a valid label must be an empty string or consist of alphanumeric characters',
                )
            )
    annotations = meta.get("annotations") or {}
    if isinstance(annotations, dict) and sum(len(k) + len(str(v)) for k, v in annotations.items()) > 256 * 1024:
        causes.append(
            errors.field_error("metadata.annotations", "Too long: must have at most 262144 bytes", "FieldValueTooLong")
        )
    return causes


def _decode_b64(kind: str, field: str, values: Any) -> int:
    """Total decoded size; undecodable base64 is a 400, as Go's JSON decoding of []byte fails."""
    total = 0
    for key, value in (values or {}).items():
        try:
            total += len(base64.b64decode(value, validate=True))
        except (binascii.Error, TypeError, ValueError):
            raise errors.bad_request(
                f'{kind} in version "v1" cannot be handled as a {kind}: illegal base64 data at input byte 0 ({field}[{key}])'
            ) from None
    return total


def prepare(rt: ResourceType, obj: Json, old: Json | None) -> list[Json]:
    """Apply defaults in place and return validation causes for built-in kinds."""
    plural = rt.plural
    if rt.custom:
        return []
    if plural == "configmaps":
        return _configmap(obj, old)
    if plural == "secrets":
        return _secret(obj, old)
    if plural == "leases":
        _lease(obj)
        return []
    if plural == "events":
        return events.validate_core(obj)
    if plural == "namespaces":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Active")
        return []
    if plural == "services":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        obj.setdefault("status", {"loadBalancer": {}})
        return []
    if plural == "pods":
        spec = obj.get("spec") or {}
        obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
        if not spec.get("containers"):
            return [errors.field_error("spec.containers", "Required value", "FieldValueRequired")]
        if old is not None and _names((old.get("spec") or {}).get("containers")) != _names(spec.get("containers")):
            return [errors.field_error("spec.containers", "Forbidden: pod updates may not add or remove containers",
                                       "FieldValueForbidden")]  # fmt: skip
        return []
    if plural == "validatingwebhookconfigurations":
        return _webhook_urls(obj)
    if plural == "endpointslices":
        address_type = obj.get("addressType")
        if address_type not in ("IPv4", "IPv6", "FQDN"):
            return [
                errors.field_error(
                    "addressType",
                    "Required value"
                    if address_type is None
                    else f'Unsupported value: "{address_type}": supported values: "FQDN", "IPv4", "IPv6"',
                    "FieldValueRequired" if address_type is None else "FieldValueNotSupported",
                )
            ]
        obj.setdefault("endpoints", [])
        return _endpoint_addresses(obj) if address_type in ("IPv4", "IPv6") else []
    return []


def _names(items: Any) -> list[str]:
    return sorted(str(item.get("name")) for item in items or [] if isinstance(item, dict))


def _webhook_urls(obj: Json) -> list[Json]:
    """A webhook called by URL must be called over HTTPS (the API server refuses anything else)."""
    causes = []
    for i, webhook in enumerate(obj.get("webhooks") or []):
        url = str((webhook.get("clientConfig") or {}).get("url") or "")
        scheme = url.partition("://")[0] if "://" in url else ""
        if url and scheme != "https":
            causes.append(
                errors.field_error(
                    f"webhooks[{i}].clientConfig.url",
                    f"Invalid value: \"{scheme}\": 'https' is the only allowed URL scheme; desired format: https://host[/path]",
                )
            )
    return causes


_SPECIAL_RANGES = (
    ("is_unspecified", "may not be unspecified ({ip})"),
    ("is_loopback", "may not be in the loopback range (127.0.0.0/8, ::1/128)"),
    ("is_link_local", "may not be in the link-local range (169.254.0.0/16, fe80::/10)"),
)


def _endpoint_addresses(obj: Json) -> list[Json]:
    """IP endpoints must be routable addresses: a real server refuses loopback, link-local, unspecified."""
    causes = []
    for i, endpoint in enumerate(obj.get("endpoints") or []):
        for j, address in enumerate(endpoint.get("addresses") or []):
            field = f"endpoints[{i}].addresses[{j}]"
            try:
                ip = ipaddress.ip_address(str(address))
            except ValueError:
                causes.append(errors.field_error(field, f'Invalid value: "{address}": must be a valid IP address'))
                continue
            for check, text in _SPECIAL_RANGES:
                if getattr(ip, check):
                    causes.append(errors.field_error(field, f'Invalid value: "{address}": {text.format(ip=address)}'))
                    break
    return causes


def _immutable(obj: Json, old: Json | None) -> list[Json]:
    if old is None or not old.get("immutable"):
        return []
    causes = []
    for field in ("data", "binaryData", "stringData"):
        if obj.get(field) != old.get(field) and not (field == "stringData" and not obj.get(field)):
            causes.append(
                errors.field_error(
                    field, "Forbidden: field is immutable when `immutable` is set", "FieldValueForbidden"
                )
            )
    if not obj.get("immutable"):
        causes.append(
            errors.field_error(
                "immutable", "Forbidden: field is immutable when `immutable` is set", "FieldValueForbidden"
            )
        )
    return causes


def _configmap(obj: Json, old: Json | None) -> list[Json]:
    data = obj.get("data") or {}
    binary = obj.get("binaryData") or {}
    causes = []
    for key in [*data, *binary]:
        if not _CONFIG_KEY.match(key) or len(key) > 253:
            causes.append(
                errors.field_error(
                    f"data[{key}]",
                    f"Invalid value: \"{key}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                )
            )
    for key in set(data) & set(binary):
        causes.append(
            errors.field_error(f"data[{key}]", f'Invalid value: "{key}": duplicate of key present in binaryData')
        )
    for value in data.values():
        if not isinstance(value, str):
            raise errors.bad_request(
                f'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal {type(value).__name__} into Go struct field ConfigMap.data of type string'
            )
    size = sum(len(v.encode()) for v in data.values())  # values only: keys do not count (as upstream)
    size += _decode_b64("ConfigMap", "binaryData", binary)
    if size > MAX_CONFIG_BYTES:
        causes.append(
            errors.field_error("[]", f"Too long: may not be more than {MAX_CONFIG_BYTES} bytes", "FieldValueTooLong")
        )
    return causes + _immutable(obj, old)


def _secret(obj: Json, old: Json | None) -> list[Json]:
    string_data = obj.pop("stringData", None) or {}
    data = dict(obj.get("data") or {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data or "data" in obj:
        obj["data"] = data
    obj.setdefault("type", "Opaque")
    causes = []
    for key in data:
        if not _CONFIG_KEY.match(key):
            causes.append(
                errors.field_error(
                    f"data[{key}]",
                    f'Invalid value: "{key}": a valid config key must consist of alphanumeric characters',
                )
            )
    size = _decode_b64("Secret", "data", data) + sum(len(k) for k in data)
    if size > MAX_CONFIG_BYTES:
        causes.append(
            errors.field_error("data", f"Too long: may not be more than {MAX_CONFIG_BYTES} bytes", "FieldValueTooLong")
        )
    if old is not None and old.get("type") != obj.get("type"):
        causes.append(errors.field_error("type", "Invalid value: field is immutable", "FieldValueInvalid"))
    return causes + _immutable(obj, old)


def _lease(obj: Json) -> None:
    spec = obj.get("spec") or {}
    for field in ("acquireTime", "renewTime"):
        value = spec.get(field)
        if value is not None and (not isinstance(value, str) or not MICRO_TIME.match(value)):
            rest = value[19:] if isinstance(value, str) else value
            raise errors.bad_request(
                f'Lease in version "v1" cannot be handled as a Lease: parsing time "{value}" as '
                f'"2006-01-02T15:04:05.000000Z07:00": cannot parse "{rest}" as ".000000"'
            )
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool)):
        raise errors.bad_request(
            'Lease in version "v1" cannot be handled as a Lease: spec.leaseDurationSeconds must be an integer'
        )
