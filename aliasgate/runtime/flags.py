"""Flags and ``ALIASGATE_*`` variables into a pydantic settings model, for every process of both planes.

A settings module declares a table of :class:`Flag` rows (field, metavar, help, kind) beside its model; this
module turns the table into an argparse parser and gathers values with one precedence everywhere:
command-line flag, then ``ALIASGATE_<FIELD>`` variable, then the default documented on the model's field.
Values are handed to pydantic as text, so the model alone defines types, bounds and defaults; an invalid
value, from a flag or from the environment, exits with status 2 and a usage message, never a traceback.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["ENV_PREFIX", "Flag", "FlagKind", "build_parser", "env_name", "gather", "parse_flags"]

ENV_PREFIX = "ALIASGATE_"

FlagKind = Literal["value", "list", "switch"]
"""``value``: one string; ``list``: comma-separated (``a,b`` → ``("a", "b")``, empty → ``()``);
``switch``: ``--name`` / ``--no-name`` on the command line, a boolean word (true/false, 1/0, yes/no,
on/off) in the environment."""

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


def build_parser(
    flags: Iterable[Flag], *, prog: str, description: str, env_prefix: str = ENV_PREFIX
) -> argparse.ArgumentParser:
    """One option per flag, every default None, so "not given" is told apart from any value."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    for flag in flags:
        help_text = f"{flag.help} (env {env_name(flag.field, env_prefix)})"
        if flag.kind == "switch":
            parser.add_argument(flag.option, dest=flag.field, action="store_const", const=True, help=help_text)
            no = "--no-" + flag.option[2:]
            parser.add_argument(no, dest=flag.field, action="store_const", const=False, help=f"turn {flag.option} off")
            parser.set_defaults(**{flag.field: None})
        else:
            parser.add_argument(flag.option, dest=flag.field, metavar=flag.metavar, default=None, help=help_text)
    return parser


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
    try:
        return model.model_validate(gather(args, flags, environ, env_prefix=env_prefix))
    except ValidationError as exc:
        parser.error(str(exc))
