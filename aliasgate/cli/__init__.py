"""The ``aliasgate`` command: ``check`` (GitOps pre-merge check), ``run`` (local mode), ``demo``.

The command sits above both planes and composes them (the planes never import it): :mod:`.check` runs
the controller's conflict engine on files, :mod:`.local` serves the gateway on the result, :mod:`.demo`
puts the upstream simulator behind it, :mod:`.manifests` reads the files; ``run`` and ``demo`` take the
gateway's own flag rows (:mod:`.gateway_flags`). Only argument parsing lives here; each subcommand's
module is imported lazily, so ``aliasgate check`` never loads the gateway's server stack. Also runs as
``python -m aliasgate``; every subcommand takes ``--version``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from aliasgate.runtime.flags import add_version
from aliasgate.runtime.version import version

__all__ = ["build_parser", "main", "version"]


def build_parser() -> argparse.ArgumentParser:
    from aliasgate.cli.gateway_flags import DEMO_FIELDS, RUN_FIELDS, add_gateway_flags

    parser = argparse.ArgumentParser(
        prog="aliasgate",
        description="Kubernetes-native LLM gateway: conflict-checked model aliases and a Responses bridge.",
    )
    add_version(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = _command(
        commands,
        "check",
        help="validate ModelAlias manifests and show what the controller would accept or reject",
        description="Exit 0 when every alias is accepted, 1 when any is rejected, 2 on unreadable or invalid input.",
    )
    _add_manifests(check)
    check.add_argument("--output", choices=["text", "json"], default="text", help="output format")
    check.add_argument(
        "--secrets-dir",
        metavar="DIR",
        default=None,
        help="check credentials against DIR/<secret-name>/ (otherwise credentials are not checked)",
    )

    run = _command(
        commands,
        "run",
        help="local mode: reconcile manifest files and serve the gateway in one process",
        description="Runs the conflict engine on the manifests and serves them; reloads when the files change.",
    )
    _add_manifests(run)
    add_gateway_flags(run, RUN_FIELDS)
    run.set_defaults(usage_error=run.error, gateway_fields=RUN_FIELDS)

    demo = _command(
        commands,
        "demo",
        help="start a local upstream simulator and the gateway in front of it, with example aliases",
    )
    demo.add_argument("--upstream-listen", default="127.0.0.1:8787", metavar="HOST:PORT", help="simulator port")
    add_gateway_flags(demo, DEMO_FIELDS)
    demo.set_defaults(usage_error=demo.error, gateway_fields=DEMO_FIELDS)
    return parser


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand that takes ``--version`` like the command itself."""
    command = commands.add_parser(name, help=help, description=description)
    add_version(command)
    return command


def _add_manifests(command: argparse.ArgumentParser) -> None:
    command.add_argument("--manifests", nargs="+", required=True, metavar="PATH", help="files or folders of YAML")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        from aliasgate.cli import check

        return check.main(args)
    from aliasgate.cli.gateway_flags import gateway_settings

    settings = gateway_settings(args, args.gateway_fields, os.environ, usage_error=args.usage_error)
    if args.command == "run":
        from aliasgate.cli import local

        return local.main(args, settings)
    try:
        from aliasgate.cli import demo
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("aliasgate.simulator"):
            raise
        # The container image leaves the simulator (a test double) out; say so instead of a traceback.
        print(
            "aliasgate demo: the upstream simulator is not installed here (the gateway image leaves it out);"
            " run the demo from a source checkout: make demo",
            file=sys.stderr,
        )
        return 2
    return demo.main(args, settings)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
