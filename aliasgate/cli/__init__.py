"""The ``aliasgate`` command: ``check`` (GitOps pre-merge check), ``run`` (local mode), ``demo``.

The command sits above both planes and composes them (the planes never import it): :mod:`.check` runs
the controller's conflict engine on files, :mod:`.local` serves the gateway on the result, :mod:`.demo`
puts the upstream simulator behind it, :mod:`.manifests` reads the files. Only argument parsing lives
here; each subcommand's module is imported lazily, so ``aliasgate check`` never loads the gateway's
server stack. Also runs as ``python -m aliasgate``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata

__all__ = ["build_parser", "main", "version"]


def version() -> str:
    """The installed distribution's version (pyproject's ``version``)."""
    try:
        return metadata.version("aliasgate")
    except metadata.PackageNotFoundError:  # a source tree on PYTHONPATH, never installed
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aliasgate",
        description="Kubernetes-native LLM gateway: conflict-checked model aliases and a Responses bridge.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="validate ModelAlias manifests and show what the controller would accept or reject",
        description="Exit 0 when every alias is accepted, 1 when any is rejected, 2 on unreadable or invalid input.",
    )
    check.add_argument("--manifests", nargs="+", required=True, metavar="PATH", help="files or folders of YAML")
    check.add_argument("--output", choices=["text", "json"], default="text", help="output format")
    check.add_argument(
        "--secrets-dir",
        metavar="DIR",
        default=None,
        help="check credentials against DIR/<secret-name>/ (otherwise credentials are not checked)",
    )

    run = commands.add_parser(
        "run",
        help="local mode: reconcile manifest files and serve the gateway in one process",
        description="Runs the conflict engine on the manifests and serves them; reloads when the files change.",
    )
    run.add_argument("--manifests", nargs="+", required=True, metavar="PATH", help="files or folders of YAML")
    run.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT", help="public OpenAI-compatible port")
    run.add_argument("--admin-listen", default="127.0.0.1:9090", metavar="HOST:PORT", help="admin port")
    run.add_argument("--secrets-dir", default=None, metavar="DIR", help="credentials laid out as DIR/<secret>/<key>")

    demo = commands.add_parser(
        "demo",
        help="start a local upstream simulator and the gateway in front of it, with example aliases",
    )
    demo.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT", help="public OpenAI-compatible port")
    demo.add_argument("--admin-listen", default="127.0.0.1:9090", metavar="HOST:PORT", help="admin port")
    demo.add_argument("--upstream-listen", default="127.0.0.1:8787", metavar="HOST:PORT", help="simulator port")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        from aliasgate.cli import check

        return check.main(args)
    if args.command == "run":
        from aliasgate.cli import local

        return local.main(args)
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
    return demo.main(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
