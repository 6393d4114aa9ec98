"""The gateway's own flags, as ``aliasgate run`` and ``aliasgate demo`` take them.

Local mode serves the real gateway, so it takes the gateway's rows (:data:`gateway.settings.FLAGS`)
rather than a copy: ``--log-json``, ``--api-keys-file``, ``--shutdown-grace-seconds``, ... mean what
they mean for ``python -m gateway`` and read the same ``ALIASGATE_*`` variables, with one precedence
(flag, variable, then the command's default). Left out are the flags that only say where a cluster's
table comes from (namespace, ConfigMap, table file): local mode's table comes from the manifests.

The command's defaults differ where a person at a terminal is served better: loopback listen addresses,
console logs, a 5 s shutdown grace.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn

from aliasgate.runtime import flags
from gateway.settings import FLAGS, GatewaySettings

__all__ = [
    "COMMAND_DEFAULTS",
    "DEMO_FIELDS",
    "RUN_FIELDS",
    "add_gateway_flags",
    "command_settings",
    "gateway_settings",
]

RUN_FIELDS: Final = (
    "listen",
    "admin_listen",
    "secrets_dir",
    "credentials_poll_interval_seconds",
    "api_keys_file",
    "api_keys_poll_interval_seconds",
    "shutdown_grace_seconds",
    "max_body_bytes",
    "log_level",
    "log_json",
    "chatgpt_token_url",
    "chatgpt_client_id",
    "chatgpt_refresh_margin_seconds",
    "probe_concurrency",
    "probe_min_interval_seconds",
    "passive_failure_threshold",
    "sse_keepalive_seconds",
)
"""Every gateway setting that means something in local mode."""

DEMO_FIELDS: Final = tuple(
    field for field in RUN_FIELDS if field not in {"secrets_dir", "credentials_poll_interval_seconds"}
)
"""The demo writes its own (fake) credentials."""

COMMAND_DEFAULTS: Mapping[str, Any] = {
    "listen": "127.0.0.1:8080",
    "admin_listen": "127.0.0.1:9090",
    "shutdown_grace_seconds": 5.0,
    "log_json": False,
}
"""Where the command's defaults differ from ``python -m gateway``'s (see the module docstring)."""

_FIXED: Mapping[str, Any] = {"namespace": "local", "table_source": "file"}
"""Not the user's to set: the table is handed over in-process (see :mod:`aliasgate.cli.local`)."""


def _rows(fields: tuple[str, ...]) -> tuple[flags.Flag, ...]:
    return flags.select(FLAGS, fields)


def add_gateway_flags(parser: argparse.ArgumentParser, fields: tuple[str, ...]) -> None:
    """Add the gateway's rows for ``fields`` to a subcommand's parser, their help naming the command default."""
    group = parser.add_argument_group(
        "gateway settings", "as for python -m gateway; flag, then ALIASGATE_* variable, then the default shown"
    )
    for row in _rows(fields):
        default = COMMAND_DEFAULTS.get(row.field, GatewaySettings.model_fields[row.field].default)
        shown = flags.Flag(row.field, row.metavar, f"{row.help}; default {_shown(default)}", row.kind)
        flags.add_flags(group, (shown,))


def _shown(default: Any) -> str:
    if default is None:
        return "none"
    if isinstance(default, bool):
        return "on" if default else "off"
    return str(default)


def gateway_settings(
    args: argparse.Namespace,
    fields: tuple[str, ...],
    environ: Mapping[str, str],
    *,
    usage_error: Callable[[str], NoReturn],
) -> GatewaySettings:
    """The gateway settings for a local-mode process; a bad value is a usage error (exit 2)."""
    return flags.settings_from(
        GatewaySettings,
        _rows(fields),
        args,
        environ,
        usage_error=usage_error,
        defaults=COMMAND_DEFAULTS,
        fixed=_FIXED,
    )


def command_settings(**values: Any) -> GatewaySettings:
    """Settings as the command would build them with ``values`` given (tests and embedders)."""
    return GatewaySettings.model_validate({**COMMAND_DEFAULTS, **values, **_FIXED})
