"""Flags and ``ALIASGATE_*`` variables into a pydantic settings model, for every process of both planes.

A settings module declares a table of :class:`Flag` rows (field, metavar, help, kind) beside its model; this
module turns the table into an argparse parser and gathers values with one precedence everywhere:
command-line flag, then ``ALIASGATE_<FIELD>`` variable, then the default documented on the model's field.
Values are handed to pydantic as text, so the model alone defines types, bounds and defaults; an invalid
value, from a flag or from the environment, exits with status 2 and a usage message, never a traceback.
Another command can take some of a table's rows (:func:`select`, :func:`add_flags`, :func:`settings_from`):
``aliasgate run`` takes the gateway's, so a flag means the same wherever it is accepted.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeVar

from pydantic import BaseModel, ValidationError

from aliasgate.runtime.version import version

__all__ = [
    "ENV_PREFIX",
    "Flag",
    "FlagKind",
    "add_flags",
    "add_version",
    "build_parser",
    "env_name",
    "gather",
    "one_line",
    "parse_flags",
    "select",
    "settings_from",
]

ENV_PREFIX = "ALIASGATE_"

FlagKind = Literal["value", "list", "switch"]
"""``value``: one string; ``list``: comma-separated (``a,b`` → ``("a", "b")``, empty → ``()``);
``switch``: ``--name`` / ``--no-name`` on the command line (``--name WORD`` too), a boolean word
(true/false, 1/0, yes/no, on/off) in the environment."""

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Flag:
    """One settings field exposed as ``--field-name`` and ``ALIASGATE_FIELD_NAME``."""

    field: str
    metavar: str
    help: str
    kind: FlagKind = "value"

    @property
    def option(self) -> str:
        return "--" + self.field.replace("_", "-")


def env_name(field: str, prefix: str = ENV_PREFIX) -> str:
    """``table_configmap`` → ``ALIASGATE_TABLE_CONFIGMAP``."""
    return prefix + field.upper()


def select(flags: Iterable[Flag], fields: Iterable[str]) -> tuple[Flag, ...]:
    """The rows of ``flags`` for ``fields``, in the table's order; an unknown field is a programming error."""
    wanted = set(fields)
    chosen = tuple(flag for flag in flags if flag.field in wanted)
    missing = wanted - {flag.field for flag in chosen}
    if missing:
        raise KeyError(f"no flag rows for {sorted(missing)}")
    return chosen


def add_version(parser: argparse.ArgumentParser) -> None:
    """``--version``: prints ``<prog> <version>`` and exits 0."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")


def build_parser(
    flags: Iterable[Flag], *, prog: str, description: str, env_prefix: str = ENV_PREFIX
) -> argparse.ArgumentParser:
    """One option per flag, every default None, so "not given" is told apart from any value; and ``--version``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_version(parser)
    add_flags(parser, flags, env_prefix=env_prefix)
    return parser


def add_flags(parser: argparse._ActionsContainer, flags: Iterable[Flag], *, env_prefix: str = ENV_PREFIX) -> None:
    """Add one option per row to an existing parser or argument group (a subcommand's); defaults stay None."""
    for flag in flags:
        help_text = f"{flag.help} (env {env_name(flag.field, env_prefix)})"
        if flag.kind == "switch":
            parser.add_argument(
                flag.option, dest=flag.field, nargs="?", const=True, metavar=flag.metavar or "BOOL", help=help_text
            )
            no = "--no-" + flag.option[2:]
            parser.add_argument(no, dest=flag.field, action="store_const", const=False, help=f"turn {flag.option} off")
            parser.set_defaults(**{flag.field: None})
        else:
            parser.add_argument(flag.option, dest=flag.field, metavar=flag.metavar, default=None, help=help_text)


def _split_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def gather(
    args: argparse.Namespace, flags: Iterable[Flag], environ: Mapping[str, str], *, env_prefix: str = ENV_PREFIX
) -> dict[str, Any]:
    """The values given for ``flags``: the flag if given, else its environment variable; absent fields are
    left out so the model's defaults apply."""
    values: dict[str, Any] = {}
    for flag in flags:
        value = getattr(args, flag.field)
        if value is None:
            value = environ.get(env_name(flag.field, env_prefix))
        if value is None:
            continue
        values[flag.field] = _split_list(value) if flag.kind == "list" and isinstance(value, str) else value
    return values


def parse_flags(
    model: type[Model],
    flags: Sequence[Flag],
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    prog: str,
    description: str,
    env_prefix: str = ENV_PREFIX,
) -> Model:
    """Build ``model`` from flags over environment variables over defaults; exit 2 with usage on bad values."""
    environ = os.environ if environ is None else environ
    parser = build_parser(flags, prog=prog, description=description, env_prefix=env_prefix)
    args = parser.parse_args(argv)
    return settings_from(model, flags, args, environ, usage_error=parser.error, env_prefix=env_prefix)


def settings_from(
    model: type[Model],
    flags: Sequence[Flag],
    args: argparse.Namespace,
    environ: Mapping[str, str],
    *,
    usage_error: Callable[[str], NoReturn],
    defaults: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    env_prefix: str = ENV_PREFIX,
) -> Model:
    """``model`` from parsed ``args``: flag over environment over ``defaults`` (a command's own) over the
    model's defaults; ``fixed`` values are not the user's to change. A bad value calls ``usage_error``."""
    values = {**(defaults or {}), **gather(args, flags, environ, env_prefix=env_prefix), **(fixed or {})}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        usage_error(one_line(exc, env_prefix=env_prefix))


def one_line(exc: ValidationError, *, env_prefix: str = ENV_PREFIX) -> str:
    """``--flag (ENV): problem`` for each problem, on one line: a usage error names what to change."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        where = f"--{field.replace('_', '-')} ({env_name(field, env_prefix)})" if field else "settings"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
