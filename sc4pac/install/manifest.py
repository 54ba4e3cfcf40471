"""What each installed package put into the Plugins folder: every file's size and sha256.

Recorded right after an update publishes packages, and compared with the Plugins folder by ``verify``,
which finds files that were deleted, changed (a damaged disk, an over-eager cleaner, a manual edit) or
added inside a package's folders. The lock file only names the package folders, so it cannot tell.

The record is a file of its own next to the lock (``sc4pac-plugins-files.json``): the reference server
ignores it, and a profile it opened still verifies (its packages show as not recorded).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

import msgspec

from ..atomic import atomic_write_bytes, backup_path

__all__ = [
    "MANIFEST_FILE",
    "FileRecord",
    "Manifest",
    "PackageCheck",
    "check_package",
    "read_manifest",
    "record_packages",
    "scan_files",
]

MANIFEST_FILE = "sc4pac-plugins-files.json"
MANIFEST_SCHEME = 1
# Records of removed packages kept for undo; older ones are dropped (their packages then verify as
# "not recorded" after a revert, never wrongly as damaged).
_KEPT_RECORDS = 500
_CHUNK = 1 << 20


class FileRecord(msgspec.Struct, array_like=True, frozen=True):
    """Size and sha256 (hex) of one installed file; stored as ``[size, "sha256"]``."""

    size: int
    sha256: str


class KeptRecord(msgspec.Struct, kw_only=True):
    """The record of a removed package whose folders were kept for undo (restored by a revert)."""

    package: str
    files: dict[str, FileRecord]


class Manifest(msgspec.Struct, kw_only=True):
    """The recorded files of every package, by package id, by path relative to the Plugins folder."""

    scheme: int = MANIFEST_SCHEME
    packages: dict[str, dict[str, FileRecord]] = msgspec.field(default_factory=dict)
    kept: list[KeptRecord] = msgspec.field(default_factory=list)  # newest last


class PackageCheck(msgspec.Struct, kw_only=True, omit_defaults=True):
    """How one installed package's files compare with their record."""

    package: str
    recorded: bool = True
    missing: list[str] = msgspec.field(default_factory=list)
    changed: list[str] = msgspec.field(default_factory=list)
    added: list[str] = msgspec.field(default_factory=list)

    @property
    def damaged(self) -> bool:
        """Whether any recorded file is missing or changed, or a file was added."""
        return bool(self.missing or self.changed or self.added)


def _digest(path: Path) -> FileRecord:
    hasher = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return FileRecord(size, hasher.hexdigest())


def _files_below(plugins_root: Path, subpath: str) -> Iterable[str]:
    """Paths (relative to ``plugins_root``, with ``/``) of the files of one lock entry's subpath.

    A symbolic link (a DLL placed at the Plugins root) counts as the file it points to.
    """
    top = plugins_root / subpath
    if top.is_file():
        yield PurePosixPath(subpath).as_posix()
        return
    for folder, _dirs, names in os.walk(top):
        # One Path per folder, plain strings per file: a package holds thousands of files in a few folders.
        rel_folder = Path(folder).relative_to(plugins_root).as_posix()
        prefix = "" if rel_folder == "." else rel_folder + "/"
        for name in names:
            yield prefix + name


def scan_files(
    plugins_root: Path, subpaths: Iterable[str], known: Mapping[str, FileRecord] | None = None
) -> dict[str, FileRecord]:
    """Size and sha256 of every file under the given package subpaths (unreadable ones left out).

    Files found in ``known`` (learnt while the update wrote them) are not read again.
    """
    records: dict[str, FileRecord] = {}
    known = known or {}
    for subpath in subpaths:
        if not subpath.strip("/"):
            continue
        for rel in _files_below(plugins_root, subpath):
            record = known.get(rel)
            if record is not None:
                records[rel] = record
                continue
            try:
                records[rel] = _digest(plugins_root / rel)
            except OSError:
                continue  # verify reports it as missing
    return records


def read_manifest(path: Path) -> Manifest:
    """The recorded manifest (else its previous version kept as ``.bak``); an empty one when neither
    can be read.

    An unreadable record must never block an update: verify then reports the packages as not recorded.
    """
    return _read_manifest(path)[0]


def _read_manifest(path: Path) -> tuple[Manifest, bool]:
    """The manifest, and whether ``path`` itself decoded (so that a damaged file never replaces the
    good backup)."""
    for candidate in (path, backup_path(path)):
        try:
            return msgspec.json.decode(candidate.read_bytes(), type=Manifest), candidate == path
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            continue
    return Manifest(), False


def _covers(subpaths: Iterable[str], files: Mapping[str, FileRecord]) -> bool:
    """Whether ``files`` are exactly below the lock ``subpaths`` (package folders name version and
    variant, so this tells one installation of a package from another)."""
    tops = {PurePosixPath(s).as_posix().strip("/") for s in subpaths if s.strip("/")}
    return bool(files) and all(any(rel == t or rel.startswith(t + "/") for t in tops) for rel in files)


def record_packages(
    path: Path,
    plugins_root: Path,
    installed: Mapping[str, Iterable[str]],
    removed: Iterable[str],
    restored: Mapping[str, Iterable[str]] | None = None,
    known: Mapping[str, FileRecord] | None = None,
) -> dict[str, int]:
    """Record the files of the freshly ``installed`` packages (id -> lock subpaths) and forget ``removed``.

    Returns the bytes recorded in each installed package's folder (the history's keep budget uses them).

    ``known`` holds records learnt while staging wrote the files (by path relative to the Plugins root);
    only the files it does not cover are read.

    Records of removed packages are set aside, since undo may rename their kept folders back; a revert
    passes those as ``restored`` (id -> lock subpaths) and gets their records back without re-reading
    the files.
    """
    manifest, intact = _read_manifest(path)
    gone = set(removed)
    kept = [
        *manifest.kept,
        *(KeptRecord(package=p, files=f) for p, f in manifest.packages.items() if p in gone),
    ]
    packages = {pkg: files for pkg, files in manifest.packages.items() if pkg not in gone}
    for pkg, subpaths in (restored or {}).items():
        subpaths = list(subpaths)
        match = next((k for k in reversed(kept) if k.package == pkg and _covers(subpaths, k.files)), None)
        if match is not None:
            packages[pkg] = match.files
            kept.remove(match)
    sizes: dict[str, int] = {}
    for pkg, subpaths in installed.items():
        packages[pkg] = scan_files(plugins_root, subpaths, known)
        # What keeping the package's folder keeps: a file at the Plugins root (a DLL's link) is left out.
        sizes[pkg] = sum(record.size for rel, record in packages[pkg].items() if "/" in rel)
    manifest = Manifest(packages=dict(sorted(packages.items())), kept=kept[-_KEPT_RECORDS:])
    # Not fsynced: the record is written after the publish journal is gone, so a crash before this
    # write already leaves the previous record; a power cut can do no worse (a file it cuts short
    # falls back to its ``.bak``), and verify only reports what it cannot match.
    atomic_write_bytes(
        path,
        msgspec.json.format(msgspec.json.encode(manifest), indent=1),
        previous_ok=lambda _data: intact,
        durable=False,
    )
    return sizes


def check_package(
    plugins_root: Path, package: str, subpaths: Iterable[str], recorded: Mapping[str, FileRecord] | None
) -> PackageCheck:
    """Compare one package's files on disk with its record (None: installed before recording began)."""
    subpaths = list(subpaths)
    if recorded is None:
        missing = [s for s in subpaths if s.strip("/") and not os.path.exists(plugins_root / s)]
        return PackageCheck(package=package, recorded=False, missing=missing)
    on_disk = scan_files(plugins_root, subpaths)
    return PackageCheck(
        package=package,
        missing=sorted(rel for rel in recorded if rel not in on_disk),
        changed=sorted(rel for rel, record in recorded.items() if rel in on_disk and on_disk[rel] != record),
        added=sorted(rel for rel in on_disk if rel not in recorded),
    )
