"""Extracting one asset into a package folder.

Accepted entries are validated (checksum or DBPF magic), placed below the package folder without their
common directory prefix, and nested archives are opened one level deep with the same recipe. One
:class:`ExtractionBudget` covers the asset and its nested archives together. Synchronous: the update
job runs it in a worker thread.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ChecksumError, DiskFull, ExtractionFailed
from ..models.channel import Asset, AssetReference
from ..winnames import path_problem, shown
from ..wire import unopt
from .archives import (
    DEFAULT_LIMITS,
    ArchiveEntry,
    ArchiveReader,
    ExtractionBudget,
    ExtractionLimits,
    WrittenFile,
    declared_entries,
    detect_format,
    open_archive,
    unreadable_entry,
)
from .dbpf import DBPF_MAGIC, DbpfFormatError, Tgi
from .recipe import Acceptance, InstallRecipe, Validation
from .scripts_scan import scan_bytes

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class CertifiedFile:
    """A file accepted through ``withChecksum`` and verified; DLLs and INIs get special handling."""

    path: Path
    sha256: str
    is_dll: bool
    is_ini: bool


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What is known of an installed file from writing it, so staging and the install record need not
    read it back."""

    size: int
    sha256: str
    # The script entries of a DBPF file, the error that scanning it raised, or None when the file was
    # too large to scan while it was written (it is scanned on disk then). Empty for other files.
    scripts: tuple[Tgi, ...] | DbpfFormatError | None


def _facts(written: WrittenFile) -> FileFacts:
    scripts: tuple[Tgi, ...] | DbpfFormatError | None = None
    if not written.head.startswith(DBPF_MAGIC):
        scripts = ()
    elif written.whole:
        try:
            scripts = tuple(scan_bytes(written.head))
        except DbpfFormatError as exc:
            scripts = exc
    return FileFacts(written.size, written.sha256, scripts)


@dataclass(frozen=True, slots=True)
class ExtractResult:
    """What one asset contributed to a package folder."""

    files: tuple[Path, ...]
    certified: tuple[CertifiedFile, ...]
    warnings: tuple[str, ...]
    # Every path written below the package folder, exactly as spelled in the archive (with repeats):
    # on Windows ``files`` cannot tell ``a/X.dat`` from ``a/x.dat``, these strings can.
    written: tuple[str, ...] = ()
    # Facts about the files in :attr:`files` that the reader saw while writing them.
    facts: Mapping[Path, FileFacts] = field(default_factory=dict)

    @property
    def dlls(self) -> tuple[CertifiedFile, ...]:
        return tuple(c for c in self.certified if c.is_dll)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def nested_folder_name(asset_url: str) -> str:
    """First 8 hex digits of the SHA-1 of the asset URL: the nested archives' folder of an asset."""
    return hashlib.sha1(asset_url.encode("utf-8")).hexdigest()[:8]


def common_prefix_length(paths: list[str]) -> int:
    """Number of leading directory segments shared by all paths (a lone file keeps only its name)."""
    parents = [p.split("/")[:-1] for p in paths]
    if not parents:
        return 0
    shortest = min(len(p) for p in parents)
    n = 0
    while n < shortest and all(p[n] == parents[0][n] for p in parents):
        n += 1
    return n


class _Sink:
    """Collects written and certified files across the main and nested passes."""

    def __init__(self) -> None:
        self.files: dict[Path, None] = {}
        self.certified: dict[Path, CertifiedFile] = {}
        self.written: list[str] = []
        self.facts: dict[Path, FileFacts] = {}


class _CheckedFolders:
    """The folders of one extraction that exist and, links resolved, stay inside their root.

    Each folder is created and checked once, not once per file: archives hold thousands of files in a
    few folders, and nothing an archive holds can turn a checked folder into a link. Folders are made
    one level at a time, each below a level already found to stay inside the root, so that not even an
    empty folder is created through a link.
    """

    def __init__(self) -> None:
        self._roots: dict[Path, Path] = {}
        self._checked: set[tuple[Path, Path]] = set()
        self._resolved: dict[Path, Path] = {}  # folder -> its real path, for folders made or checked

    def prepare(self, root: Path, destination: Path) -> None:
        """Create the folder of ``destination``, refusing it if it resolves outside of ``root``."""
        folder = destination.parent
        if (root, folder) in self._checked:
            return
        resolved_root = self._roots.get(root)
        if resolved_root is None:
            root.mkdir(parents=True, exist_ok=True)
            resolved_root = self._roots[root] = self._resolved[root] = root.resolve()
        resolved = self._made(folder, root, resolved_root, destination) / destination.name
        _refuse_outside(resolved, root, resolved_root, destination)
        self._checked.add((root, folder))

    def _made(self, folder: Path, root: Path, resolved_root: Path, destination: Path) -> Path:
        # Resolving a whole path costs a lookup per segment on POSIX, for each of the hundreds of folders
        # a large package has; a folder that is not a link resolves to its resolved parent plus its
        # name. (Windows resolves in one call, and a junction is no symlink there: it resolves always.)
        known = self._resolved.get(folder)
        if known is not None:
            return known
        parent = folder.parent
        if parent == folder:  # the file system root (the package folder's root is known already)
            return folder.resolve()
        resolved_parent = self._made(parent, root, resolved_root, destination)
        _refuse_outside(resolved_parent, root, resolved_root, destination)
        folder.mkdir(exist_ok=True)
        linked = os.name == "nt" or folder.is_symlink()
        known = folder.resolve() if linked else resolved_parent / folder.name
        self._resolved[folder] = known
        return known


def _refuse_outside(resolved: Path, root: Path, resolved_root: Path, destination: Path) -> None:
    if os.path.commonpath([resolved_root, resolved]) != str(resolved_root):
        raise ExtractionFailed(
            "Failed to extract an asset.", f'The file "{destination}" would be written outside of "{root}".'
        )


def _validate(
    acceptance: Acceptance, file: Path, label: str, written: WrittenFile | None
) -> CertifiedFile | None:
    if acceptance.validation is Validation.CHECKSUM:
        got = written.sha256 if written is not None else sha256_of(file)
        expected = acceptance.sha256.lower()
        if got != expected:
            cause = ChecksumError(
                "Extracted file has wrong sha256 checksum. The file in the asset differs from the one the "
                "package metadata expects.",
                f"File: {file}, got: {got}, expected: {expected}",
            )
            raise ExtractionFailed(
                f'Failed to extract "{label}".', f"{cause.title} {cause.detail}"
            ) from cause
        name = file.name.lower()
        return CertifiedFile(file, got, name.endswith(".dll"), acceptance.is_ini and name.endswith(".ini"))
    if written is not None:
        magic = written.head[:4]
    else:
        with open(file, "rb") as f:
            magic = f.read(4)
    if magic != DBPF_MAGIC:
        raise ExtractionFailed(
            f'Failed to extract "{label}".',
            "Extracted file is not a DBPF file. The asset may be damaged, or the package metadata may select "
            f"the wrong files. File: {file}",
        )
    return None


def _install_entries(
    reader: ArchiveReader,
    recipe: InstallRecipe,
    package_dir: Path,
    label: str,
    sink: _Sink,
    folders: _CheckedFolders,
) -> None:
    accepted: list[tuple[ArchiveEntry, Acceptance]] = []
    for entry in reader.entries():
        acceptance = recipe.accept(entry.match_path)
        if acceptance is not None:
            accepted.append((entry, acceptance))
    if not accepted:
        return
    for entry, _ in accepted:
        # Only installed entries must have names Windows can store (an unselected ``Icon\r`` is fine).
        if entry.problem is not None:
            raise unreadable_entry(label, entry.raw, entry.problem)
    strip = common_prefix_length([e.path for e, _ in accepted])
    for entry, acceptance in accepted:
        segments = entry.path.split("/")[strip:]
        destination = package_dir.joinpath(*segments)
        written = _write_entry(reader, entry, destination, package_dir, label, folders)
        sink.files[destination] = None
        sink.written.append("/".join(segments))
        if written is not None:
            sink.facts[destination] = _facts(written)
        else:
            sink.facts.pop(destination, None)
        certified = _validate(acceptance, destination, label, written)
        if certified is not None:
            sink.certified[destination] = certified
        else:
            sink.certified.pop(destination, None)


def _write_entry(
    reader: ArchiveReader,
    entry: ArchiveEntry,
    destination: Path,
    folder: Path,
    label: str,
    folders: _CheckedFolders,
) -> WrittenFile | None:
    """Write one entry to ``destination`` inside ``folder``; file-system failures name the entry."""
    try:
        folders.prepare(folder, destination)
        return reader.extract(entry, destination)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull.for_folder(folder, entry.size) from exc
        if exc.errno == errno.ENAMETOOLONG:
            raise unreadable_entry(label, entry.raw, "its name or path is too long") from exc
        raise ExtractionFailed(f'Failed to extract "{label}".', f"{shown(entry.raw)}: {exc}") from exc


def _nested_destination(nested_target: Path, entry: ArchiveEntry, claimed: dict[str, str]) -> Path:
    """Where the nested archive ``entry`` is unpacked to.

    The first archive of a name keeps the flat layout (``<target>/inner.zip``). Another one of the same
    name in a different folder (``a/inner.zip`` and ``b/inner.zip``, or ``Inner.zip`` beside
    ``inner.zip``, which Windows stores as one file) gets a folder of its own named after its path, so
    neither replaces nor silently stands in for the other.
    """
    first = claimed.setdefault(entry.file_name.casefold(), entry.path)
    if first == entry.path:
        return nested_target / entry.file_name
    return nested_target / nested_folder_name(entry.path) / entry.file_name


def extract_asset(
    archive_path: Path,
    *,
    content_disposition_name: str | None,
    asset: Asset,
    reference: AssetReference,
    variant: Mapping[str, str],
    package_dir: Path,
    nested_dir: Path,
    limits: ExtractionLimits = DEFAULT_LIMITS,
) -> ExtractResult:
    """Install the files an asset reference selects from ``archive_path`` into ``package_dir``."""
    recipe = InstallRecipe(reference, variant)
    label = str(archive_path)
    budget = ExtractionBudget(limits, archive_path.stat().st_size, label)
    archive_type = unopt(asset.archiveType)
    fmt = detect_format(archive_path.name, content_disposition_name, archive_type)
    sink = _Sink()
    folders = _CheckedFolders()
    nested_dir.mkdir(parents=True, exist_ok=True)
    nested_target = nested_dir / nested_folder_name(asset.url)
    # Made only by the formats that unpack to disk first (open_archive creates it): for a ZIP, no
    # folder is created and deleted per asset. On Windows a scanner may still hold a scratch file; a
    # leftover inside staging is harmless.
    scratch = nested_dir / f".scratch-{secrets.token_hex(8)}"
    try:
        nested_archives: dict[Path, None] = {}
        claimed: dict[str, str] = {}  # case-folded file name -> the entry path that uses it
        with open_archive(archive_path, fmt, scratch / "outer", label=label, budget=budget) as reader:
            for entry in reader.entries():
                if not recipe.selects_nested_archive(entry.match_path):
                    continue
                if entry.problem is not None or path_problem(entry.file_name) is not None:
                    raise unreadable_entry(
                        label, entry.raw, entry.problem or path_problem(entry.file_name) or ""
                    )
                destination = _nested_destination(nested_target, entry, claimed)
                if destination not in nested_archives and not destination.exists():
                    # Already present means an earlier package of this run unpacked it.
                    _write_entry(reader, entry, destination, nested_dir, label, folders)
                nested_archives[destination] = None
            # What the nested archives declare must fit the asset's budget before anything is installed.
            trial = budget.trial()
            for nested in nested_archives:
                nested_fmt = detect_format(nested.name, None, archive_type)
                declared = declared_entries(nested, nested_fmt, str(nested))
                trial.charge(declared, nested.stat().st_size, str(nested))
            _install_entries(reader, recipe, package_dir, label, sink, folders)
        for index, nested in enumerate(nested_archives):
            nested_fmt = detect_format(nested.name, None, archive_type)
            nested_label = str(nested)
            with open_archive(
                nested, nested_fmt, scratch / f"nested-{index}", label=nested_label, budget=budget
            ) as reader:
                _install_entries(reader, recipe, package_dir, nested_label, sink, folders)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # nothing to do when no format made it
    warnings = list(recipe.warnings)
    unused = recipe.unused_patterns_warning(asset.assetId)
    if unused is not None:
        warnings.append(unused)
    return ExtractResult(
        tuple(sink.files),
        tuple(sink.certified.values()),
        tuple(warnings),
        tuple(sink.written),
        {f: sink.facts[f] for f in sink.files if f in sink.facts},
    )
