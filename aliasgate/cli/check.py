"""``aliasgate check``: what the controller would accept or reject, before anything is applied.

Reads manifests (``aliasgate.cli.manifests``), runs the same conflict engine as the controller
(``controller.conflicts``) and prints one line per object, or JSON. Exit codes: 0 every object
accepted, 1 any rejected, 2 unreadable or invalid input: every problem is reported, one line each on
stderr naming the file, the document index and the field; nothing on stdout in text form, and with
``--output json`` a JSON document whose ``errors`` lists them too. Documents skipped because they are not
objects (a kustomize patch, Helm values) are listed as notes: on stderr in text form, under ``notes`` in
JSON. Output is assembled first and written once, so a failure never leaves half a report behind.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import orjson

from aliasgate.cli import manifests
from controller import resources
from controller.conflicts import CredentialInfo, Resolution, Verdict, resolve

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_REJECTED", "main", "render_errors_json", "render_json", "render_text"]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_INVALID = 2

_NOT_CHECKED = "credentials were not checked (no --secrets-dir): ResolvedRefs stays Unknown where only they matter"


def _refs(value: bool | None) -> str:
    return "Unknown" if value is None else str(value)


def render_text(resolution: Resolution, loaded: manifests.Manifests) -> str:
    """An aligned table, one row per object (sorted by namespace/name), then a summary."""
    header = ("NAMESPACE/NAME", "ALIAS", "BACKEND", "MODE", "ACCEPTED", "REFS", "REASON", "MESSAGE")
    rows: list[tuple[str, ...]] = [header]
    for verdict in resolution.verdicts.values():
        message = verdict.message
        if verdict.accepted and verdict.refs_resolved is False:
            message = f"{message}; {verdict.refs_message}"
        rows.append(
            (
                verdict.ref,
                verdict.alias or "-",
                verdict.backend_key or "-",
                verdict.resolved_mode or "-",
                str(verdict.accepted),
                _refs(verdict.refs_resolved),
                verdict.refs_reason if verdict.accepted and verdict.refs_resolved is False else verdict.reason,
                message,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]
    accepted = sum(1 for v in resolution.verdicts.values() if v.accepted)
    rejected = len(resolution.verdicts) - accepted
    lines.append("")
    lines.append(
        f"{len(resolution.verdicts)} objects: {accepted} accepted, {rejected} rejected "
        f"({len(loaded.files)} files, {loaded.skipped} documents of other kinds skipped)"
    )
    if not resolution.credentials_checked:
        lines.append(_NOT_CHECKED)
    return "\n".join(lines) + "\n"


def _verdict_json(verdict: Verdict, location: str | None) -> dict[str, Any]:
    return {
        "namespace": verdict.namespace,
        "name": verdict.name,
        "alias": verdict.alias,
        "backendKey": verdict.backend_key,
        "resolvedMode": verdict.resolved_mode,
        "accepted": verdict.accepted,
        "reason": verdict.reason,
        "message": verdict.message,
        "resolvedRefs": verdict.refs_resolved,
        "refsReason": verdict.refs_reason,
        "refsMessage": verdict.refs_message,
        "source": location,
    }


def render_json(resolution: Resolution, loaded: manifests.Manifests) -> str:
    """A JSON document with every verdict, a summary and the table's identity (``errors`` empty)."""
    locations = {entry.obj.ref: entry.location for entry in loaded.objects}
    accepted = sum(1 for v in resolution.verdicts.values() if v.accepted)
    document = {
        "credentialsChecked": resolution.credentials_checked,
        "errors": [],
        "notes": list(loaded.notes),
        "objects": [_verdict_json(v, locations.get(v.ref)) for v in resolution.verdicts.values()],
        "summary": {
            "objects": len(resolution.verdicts),
            "accepted": accepted,
            "rejected": len(resolution.verdicts) - accepted,
            "files": len(loaded.files),
            "skippedDocuments": loaded.skipped,
            "errors": 0,
        },
        "table": {
            "sha256": resolution.table.sha256,
            "routes": len(resolution.table.routes),
            "backends": len(resolution.table.backends),
        },
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


def _error_json(error: manifests.ManifestError | str) -> dict[str, Any]:
    if isinstance(error, str):
        return {"path": None, "document": None, "field": None, "message": error, "text": error}
    return {
        "path": error.path,
        "document": error.document,
        "field": error.field or None,
        "message": error.message,
        "text": str(error),
    }


def render_errors_json(
    errors: list[manifests.ManifestError | str], loaded: manifests.Manifests, *, credentials_checked: bool
) -> str:
    """The JSON document for invalid input: the same members as :func:`render_json`, no verdicts, every error."""
    document = {
        "credentialsChecked": credentials_checked,
        "errors": [_error_json(error) for error in errors],
        "notes": list(loaded.notes),
        "objects": [],
        "summary": {
            "objects": 0,
            "accepted": 0,
            "rejected": 0,
            "files": len(loaded.files),
            "skippedDocuments": loaded.skipped,
            "errors": len(errors),
        },
        "table": None,
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


def run(paths: list[str], *, output: str, secrets_dir: str | None, stdout: TextIO, stderr: TextIO) -> int:
    """The command with its streams as parameters (so it can be driven in-process)."""
    loaded = manifests.read_manifests(paths)
    errors: list[manifests.ManifestError | str] = list(loaded.errors)
    credentials: dict[str, CredentialInfo] | None = None
    if secrets_dir is not None:
        try:
            credentials = manifests.load_secrets_dir(secrets_dir)
        except manifests.ManifestError as exc:
            errors.append(exc)
        except OSError as exc:
            errors.append(manifests.ManifestError(secrets_dir, f"cannot read: {exc}"))
    if not errors and not loaded.objects:
        errors.append(f"no {resources.KIND} objects found in {' '.join(paths)}")
    notes = "" if output == "json" else "".join(f"aliasgate check: note: {note}\n" for note in loaded.notes)
    if errors:
        stderr.write(notes + "".join(f"aliasgate check: error: {error}\n" for error in errors))
        if output == "json":
            stdout.write(render_errors_json(errors, loaded, credentials_checked=secrets_dir is not None))
            stdout.flush()
        return EXIT_INVALID
    resolution = resolve([entry.obj for entry in loaded.objects], credentials=credentials)
    stderr.write(notes)
    stdout.write(render_json(resolution, loaded) if output == "json" else render_text(resolution, loaded))
    stdout.flush()
    return EXIT_OK if all(v.accepted for v in resolution.verdicts.values()) else EXIT_REJECTED


def main(args: argparse.Namespace) -> int:
    return run(
        list(args.manifests),
        output=str(args.output),
        secrets_dir=args.secrets_dir,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
