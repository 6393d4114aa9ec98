"""The installed version, for ``--version`` on every command (``aliasgate`` and its subcommands,
``python -m gateway``, ``python -m controller``): one answer, the distribution's own."""

from __future__ import annotations

from importlib import metadata

__all__ = ["version"]


def version() -> str:
    """The installed distribution's version (pyproject's ``version``)."""
    try:
        return metadata.version("aliasgate")
    except metadata.PackageNotFoundError:  # a source tree on PYTHONPATH, never installed
        return "0+unknown"
