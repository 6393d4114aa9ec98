"""Read ModelAlias objects from manifest files, and credentials metadata from a Secrets folder.

Used by ``aliasgate check`` and local mode: files in, pure values out (``controller.conflicts`` takes
it from there). Every error names the file, the document index (0-based, in file order) and the field,
and every problem is reported, not only the first (:func:`read_manifests`; :func:`load_manifests` raises
them all at once).

Which documents count:
- ``aliasgate.io/v1alpha1`` ``ModelAlias`` documents are parsed with ``resources.parse_object``; any
  schema failure is an error (the API server would refuse the object too).
- Documents of another API group (Secrets, Deployments, a Kustomization, ...) are skipped and counted,
  so a whole ``deploy/`` folder can be checked; ``v1`` ``List`` documents are opened item by item.
- Documents that are not objects at all (a list, such as a kustomize JSON 6902 patch; a scalar; a
  mapping with neither ``apiVersion`` nor ``kind``, such as Helm values) are skipped with a note.
- Documents that claim the ``aliasgate.io`` group with another kind or version, or carry only one of
  ``apiVersion`` and ``kind``, are errors: they are typos, not strangers.
- Two documents with the same ``namespace/name`` are an error (one would silently replace the other).
Empty documents (``---`` separators, comments only) are ignored.

``load_secrets_dir`` reads only names, never secret values: ``DIR/<secret-name>/`` folders (as Secret
volumes are mounted) and an optional ``DIR/<secret-name>/.allowed-namespaces`` comma list that mirrors
the ``aliasgate.io/allowed-namespaces`` annotation (absent = every namespace, ``*`` = every namespace,
empty = none).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller import resources
from controller.conflicts import CredentialInfo

__all__ = [
    "ALLOWED_NAMESPACES_FILE",
    "MANIFEST_SUFFIXES",
    "LoadedObject",
    "ManifestError",
    "ManifestErrors",
    "Manifests",
    "find_manifest_files",
    "load_manifests",
    "load_secrets_dir",
    "read_manifests",
]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
ALLOWED_NAMESPACES_FILE = ".allowed-namespaces"

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestError(ValueError):
    """A manifest could not be read or is not a valid object; ``str()`` is the user-facing message."""

    def __init__(self, path: str, message: str, *, document: int | None = None, field: str = "") -> None:
        self.path = path
        self.document = document
        self.field = field
        self.message = message
        where = path if document is None else f"{path}: document {document}"
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class ManifestErrors(ManifestError):
    """Every problem found (at least one); reads as the first, ``str()`` lists all, one per line."""

    def __init__(self, errors: Sequence[ManifestError]) -> None:
        first = errors[0]
        super().__init__(first.path, first.message, document=first.document, field=first.field)
        self.errors = tuple(errors)
        self.args = ("\n".join(str(error) for error in self.errors),)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class LoadedObject:
    """A parsed ModelAlias and where it came from."""

    obj: resources.ModelAlias
    path: str
    document: int
    """0-based index of the YAML document in its file."""
    item: int | None = None
    """Index inside a ``List`` document, when it came from one."""

    @property
    def location(self) -> str:
        where = f"{self.path}: document {self.document}"
        return where if self.item is None else f"{where} item {self.item}"


@dataclass(frozen=True, slots=True)
class Manifests:
    """Everything read from the given paths."""

    objects: tuple[LoadedObject, ...]
    files: tuple[str, ...]
    skipped: int
    """Documents of other kinds (Secrets, Deployments, ...) and documents that are not objects, ignored."""
    notes: tuple[str, ...] = ()
    """Why documents that are not objects were skipped (``path: document N: ...``)."""
    errors: tuple[ManifestError, ...] = ()
    """Every unreadable file and invalid document; the objects are incomplete when there is any."""


def find_manifest_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders searched recursively for ``*.yaml|*.yml|*.json`` (sorted, hidden skipped)."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in MANIFEST_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            candidates = [path]
        else:
            raise ManifestError(str(path), "no such file or folder")
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.append(candidate)
    return found


def _documents(path: Path) -> tuple[list[Any], ManifestError | None]:
    """The file's documents, and the error that stopped the reading (the documents before it are kept)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], ManifestError(str(path), f"cannot read: {exc}")
    if path.suffix.lower() == ".json":
        if not text.strip():
            return [], None
        try:
            return [json.loads(text)], None
        except json.JSONDecodeError as exc:
            message = f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            return [], ManifestError(str(path), message, document=0)
    docs: list[Any] = []
    try:
        for doc in yaml.load_all(text, Loader=_Loader):
            docs.append(doc)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return docs, ManifestError(str(path), f"malformed YAML{where}: {problem}", document=len(docs))
    return docs, None


def _not_an_object(doc: Any) -> str | None:
    """Why ``doc`` is not a Kubernetes object at all (so it is skipped), or None when it claims to be one."""
    if isinstance(doc, list):
        return "a list, not a Kubernetes object (a kustomize JSON 6902 patch, for instance)"
    if not isinstance(doc, dict):
        return f"a {type(doc).__name__}, not a Kubernetes object"
    if "apiVersion" not in doc and "kind" not in doc:
        return "a mapping with neither apiVersion nor kind, not a Kubernetes object (Helm values, for instance)"
    return None


def _objects_in(doc: dict[str, Any], path: str, index: int) -> Iterator[tuple[dict[str, Any], int | None]]:
    if doc.get("apiVersion") == "v1" and doc.get("kind") == "List":
        items = doc.get("items")
        if not isinstance(items, list):
            raise ManifestError(path, "a List needs a list of items", document=index, field="items")
        for item_index, item in enumerate(items):
            if not isinstance(item, dict):
                raise ManifestError(path, "a List item must be a mapping", document=index, field=f"items.{item_index}")
            yield item, item_index
        return
    yield doc, None


def _is_model_alias(raw: dict[str, Any], path: str, index: int, item: int | None) -> bool:
    api_version, kind = raw.get("apiVersion"), raw.get("kind")
    field_prefix = "" if item is None else f"items.{item}."
    if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
        missing = "apiVersion" if not isinstance(api_version, str) or not api_version else "kind"
        raise ManifestError(
            path, "is missing, so this is not a Kubernetes object", document=index, field=field_prefix + missing
        )
    if api_version.split("/", 1)[0] != resources.GROUP:
        return False
    if api_version != resources.API_VERSION or kind != resources.KIND:
        raise ManifestError(
            path,
            f"expected apiVersion {resources.API_VERSION} and kind {resources.KIND}, "
            f"got apiVersion {api_version!r} and kind {kind!r}",
            document=index,
            field=field_prefix + ("kind" if api_version == resources.API_VERSION else "apiVersion"),
        )
    return True


@dataclass(slots=True)
class _Reading:
    """What :func:`read_manifests` gathers while it walks the files."""

    objects: list[LoadedObject] = field(default_factory=list)
    seen: dict[tuple[str, str], LoadedObject] = field(default_factory=dict)
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    errors: list[ManifestError] = field(default_factory=list)

    def document(self, doc: Any, path: str, index: int) -> None:
        """Take one YAML document; its problems are recorded, never raised."""
        why = _not_an_object(doc)
        if why is not None:
            self.skipped += 1
            self.notes.append(f"{path}: document {index}: skipped: {why}")
            return
        try:
            for raw, item in _objects_in(doc, path, index):
                try:
                    self._object(raw, path, index, item)
                except ManifestError as exc:
                    self.errors.append(exc)
        except ManifestError as exc:
            self.errors.append(exc)

    def _object(self, raw: dict[str, Any], path: str, index: int, item: int | None) -> None:
        if not _is_model_alias(raw, path, index, item):
            self.skipped += 1
            return
        try:
            obj = resources.parse_object(raw)
        except resources.InvalidObjectError as exc:
            prefix = "" if item is None else f"items.{item}."
            raise ManifestError(path, exc.message, document=index, field=prefix + exc.field) from None
        entry = LoadedObject(obj=obj, path=path, document=index, item=item)
        ident = (obj.metadata.namespace, obj.metadata.name)
        if ident in self.seen:
            raise ManifestError(
                path,
                f"{obj.ref} is already defined at {self.seen[ident].location}; one would replace the other",
                document=index,
                field="metadata.name",
            )
        self.seen[ident] = entry
        self.objects.append(entry)


def read_manifests(paths: Iterable[str | Path]) -> Manifests:
    """Every ModelAlias in ``paths``, with every problem in ``errors`` (nothing is raised for bad input).

    A file that cannot be read or parsed is one error and the reading goes on with the next file; within
    a file, each bad document is one error. A path that does not exist is an error too."""
    reading = _Reading()
    files: list[Path] = []
    taken: set[Path] = set()
    for raw_path in paths:
        try:
            found = find_manifest_files([raw_path])
        except ManifestError as exc:
            reading.errors.append(exc)
            continue
        for file in found:
            if file.resolve() not in taken:
                taken.add(file.resolve())
                files.append(file)
    for file in files:
        path = str(file)
        documents, stopped = _documents(file)
        for index, doc in enumerate(documents):
            if doc is not None:
                reading.document(doc, path, index)
        if stopped is not None:
            reading.errors.append(stopped)
    return Manifests(
        objects=tuple(reading.objects),
        files=tuple(str(f) for f in files),
        skipped=reading.skipped,
        notes=tuple(reading.notes),
        errors=tuple(reading.errors),
    )


def load_manifests(paths: Iterable[str | Path]) -> Manifests:
    """Every ModelAlias in ``paths``; raises :class:`ManifestErrors` (every problem) on bad input."""
    loaded = read_manifests(paths)
    if loaded.errors:
        raise ManifestErrors(loaded.errors)
    return loaded


def load_secrets_dir(directory: str | Path) -> dict[str, CredentialInfo]:
    """Credentials Secrets laid out as ``DIR/<secret-name>/<key>``: names and allowed namespaces only."""
    root = Path(directory)
    if not root.is_dir():
        raise ManifestError(str(root), "secrets folder does not exist (expected DIR/<secret-name>/<key>)")
    found: dict[str, CredentialInfo] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        allowed_file = entry / ALLOWED_NAMESPACES_FILE
        if allowed_file.is_file():
            try:
                value = allowed_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ManifestError(str(allowed_file), f"cannot read: {exc}") from None
            found[entry.name] = CredentialInfo.from_annotation(value)
        else:
            found[entry.name] = CredentialInfo()
    return found
