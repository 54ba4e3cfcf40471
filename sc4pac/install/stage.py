"""Staging one package: extract its assets into a staging Plugins tree.

Produces everything the update job needs afterwards: the files to publish (relative to the Plugins
root), warnings, the DLLs and script files to confirm, and the INI files for the lock and the
``_sc4pacnew`` notice. Nothing in the real Plugins folder is touched; it is only looked at for INIs.
"""

from __future__ import annotations

import enum
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ExtractionFailed, PackageFileCollision
from ..models.channel import Asset, Checksum, Package, VariantData
from ..models.messages import DllInstalled, IniManualEdit, ScriptInstalled
from ..models.profile import IniFile
from ..winnames import segment_problem, shown
from .archives import DEFAULT_LIMITS, ExtractionLimits
from .dbpf import DbpfFormatError, Tgi
from .extract import CertifiedFile, FileFacts, extract_asset
from .links import link_or_move
from .manifest import FileRecord
from .scripts_scan import scan_file

MAX_PATH_LENGTH_ENV = "SC4PAC_MAX_PATH_LENGTH"
STARTUP_OPTIMIZATION_DLL = "null-45:startup-performance-optimization-dll"
INI_NEW_SUFFIX = "_sc4pacnew"


@dataclass(frozen=True, slots=True)
class FetchedAsset:
    """A downloaded asset: its metadata, the cached file and what the server called it."""

    asset: Asset
    path: Path
    content_disposition_name: str | None = None
    metadata_url: str = ""


@dataclass(frozen=True, slots=True)
class StageInput:
    """Everything needed to stage one package; paths are absolute."""

    package: Package
    variant: Mapping[str, str]
    package_metadata_url: str
    assets: Mapping[str, FetchedAsset]  # by assetId
    staging_plugins: Path
    nested_dir: Path
    plugins_root: Path
    previous_ini_files: Sequence[IniFile] = ()
    resolved_package_ids: frozenset[str] = frozenset()
    limits: ExtractionLimits = DEFAULT_LIMITS
    # Paths below the Plugins root other packages own (see :func:`path_key`) -> the owning package id.
    claimed: Mapping[str, str] = field(default_factory=dict)


class IniStrategy(enum.Enum):
    INSTALL_NEW = "install-new"
    REINSTALL_SILENTLY = "reinstall-silently"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class StageResult:
    """The outcome of staging one package."""

    package_folder: str
    files: list[str]
    warnings: list[str]
    dlls: list[DllInstalled] = field(default_factory=list)
    ini_files: list[IniFile] = field(default_factory=list)  # for the lock
    ini_edits: list[IniManualEdit] = field(default_factory=list)  # InstallNew only: the notice
    scripts: list[ScriptInstalled] = field(default_factory=list)
    # Size and sha256 of the files written into the package folder (paths relative to the Plugins
    # root), learnt while writing them, so the install record need not read them back.
    records: dict[str, FileRecord] = field(default_factory=dict)


def package_folder(pkg: Package, variant: Mapping[str, str]) -> str:
    """``<subfolder>/<group>.<name>[.<values by sorted key>].<version>.sc4pac`` (values joined by ``-``)."""
    values = "-".join(variant[key] for key in sorted(variant))
    variant_part = f".{values}" if variant else ""
    return f"{pkg.subfolder}/{pkg.group}.{pkg.name}{variant_part}.{pkg.version}.sc4pac"


def path_key(relative: str) -> str:
    """How a path below the Plugins root is compared for ownership: Windows ignores case (and
    ``Shared.DLL`` and ``shared.dll`` are one file there), so keys are case-folded."""
    return relative.replace("\\", "/").strip("/").casefold()


def claimed_paths(owners: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Map every path the given packages own (``{package id: lock files}``) to its owner."""
    claimed: dict[str, str] = {}
    for package_id, files in owners.items():
        for rel in files:
            claimed.setdefault(path_key(rel), package_id)
    return claimed


def refuse_claimed(claimed: Mapping[str, str], package_id: str, relative: str) -> None:
    """Raise :class:`PackageFileCollision` if another package owns ``relative`` (see :func:`path_key`)."""
    owner = claimed.get(path_key(relative))
    if owner is not None and owner != package_id:
        raise PackageFileCollision(owner, package_id, relative)


def _refuse_claimed(inp: StageInput, relative: str) -> None:
    refuse_claimed(inp.claimed, inp.package.id, relative)


def _refuse_case_twins(pkg_id: str, written: Sequence[str]) -> None:
    # On Windows two paths differing only in case are one file: the second would silently replace
    # the first, so the package is refused instead (on every OS alike).
    seen: dict[str, str] = {}
    for rel in written:
        twin = seen.setdefault(rel.casefold(), rel)
        if twin != rel:
            raise ExtractionFailed(
                f'Failed to install package "{pkg_id}".',
                f"The files {shown(twin)} and {shown(rel)} differ only in upper and lower case, so Windows "
                "would store them as one file. Please report this to the maintainers of the package "
                "metadata.",
            )


def _checked_folder(folder: str) -> Path:
    # Channel metadata is remote input: the folder must stay a plain relative path Windows can store
    # (a subfolder named "CON" or "aux.x" would be a device there).
    segments = folder.replace("\\", "/").split("/")
    problem = next((p for p in map(segment_problem, segments) if p is not None), None)
    if problem is not None:
        raise ExtractionFailed(
            "Failed to install a package.", f"Invalid package folder {shown(folder)}: {problem}."
        )
    return Path(*segments)


def ini_new_name(final_name: str) -> str:
    """``magic.ini`` -> ``magic_sc4pacnew.ini`` (the extension keeps its case)."""
    stem, dot, ext = final_name.rpartition(".")
    return f"{stem}{INI_NEW_SUFFIX}.{ext}" if dot else f"{final_name}{INI_NEW_SUFFIX}"


def ini_strategy(
    final_name: str, sha256: str, plugins_root: Path, previous: Sequence[IniFile]
) -> IniStrategy:
    """Decide how a new INI is installed, keeping a user's edited copy."""
    if not (plugins_root / final_name).exists():
        return IniStrategy.INSTALL_NEW
    recorded = [i.checksum.sha256.lower() for i in previous if i.finalName == final_name]
    if sha256.lower() not in recorded:
        return IniStrategy.INSTALL_NEW
    if (plugins_root / ini_new_name(final_name)).exists():
        return IniStrategy.REINSTALL_SILENTLY
    return IniStrategy.SKIP


def _path_length_limit(inp: StageInput) -> int | None:
    raw = os.environ.get(MAX_PATH_LENGTH_ENV, "").strip()
    try:
        limit = int(raw)
    except ValueError:
        return None
    if limit <= 0 or STARTUP_OPTIMIZATION_DLL in inp.resolved_package_ids:
        return None
    # Compare staging paths as if they were already below the real Plugins folder.
    return limit - len(str(inp.plugins_root)) + len(str(inp.staging_plugins))


def _enriched(exc: ExtractionFailed, inp: StageInput, fetched: FetchedAsset) -> ExtractionFailed:
    detail = (
        f"{exc.detail}\nRedownloading the package might resolve the problem (if the cached file is damaged). "
        f"Package: {inp.package.id}, asset: {fetched.asset.assetId}, variant: {dict(inp.variant)}, "
        f"cached file: {fetched.path}"
    )
    enriched = ExtractionFailed(exc.title, detail, **exc.extra)
    enriched.__cause__ = exc
    return enriched


def stage_package(inp: StageInput) -> StageResult:
    """Extract all assets of the package's resolved variant into the staging Plugins folder."""
    pkg = inp.package
    folder = package_folder(pkg, inp.variant)
    _refuse_claimed(inp, folder)
    package_dir = inp.staging_plugins / _checked_folder(folder)
    package_dir.mkdir(parents=True, exist_ok=True)
    warnings: list[str] = []
    if pkg.info.warning:
        warnings.append(pkg.info.warning)

    origin: dict[Path, FetchedAsset] = {}  # which asset each file came from (last writer wins)
    written: list[str] = []
    certified: dict[Path, tuple[CertifiedFile, FetchedAsset]] = {}
    facts: dict[Path, FileFacts] = {}
    for reference in _variant_data(pkg, inp.variant).assets:
        fetched = inp.assets.get(reference.assetId)
        if fetched is None:
            warnings.append(
                "An asset is missing and has been skipped, so it needs to be installed manually: "
                f"sc4pacAsset:{reference.assetId}. Please report this to the maintainers of the package metadata."
            )
            continue
        try:
            result = extract_asset(
                fetched.path,
                content_disposition_name=fetched.content_disposition_name,
                asset=fetched.asset,
                reference=reference,
                variant=inp.variant,
                package_dir=package_dir,
                nested_dir=inp.nested_dir,
                limits=inp.limits,
            )
        except ExtractionFailed as exc:
            raise _enriched(exc, inp, fetched) from exc
        warnings.extend(result.warnings)
        for file in result.files:
            origin[file] = fetched
            certified.pop(file, None)
            facts.pop(file, None)
        facts.update(result.facts)
        for cert in result.certified:
            certified[cert.path] = (cert, fetched)
        written.extend(result.written)
    _refuse_case_twins(pkg.id, written)

    limit = _path_length_limit(inp)
    if limit is not None and any(len(str(f)) > limit for f in origin):
        warnings.append(
            "The package contains file paths that may be too long for the game to load. Consider installing "
            f"`pkg={STARTUP_OPTIMIZATION_DLL}`, which removes this limit, or choose a shorter Plugins folder."
        )

    scripts = _scan_scripts(inp, folder, package_dir, origin, facts)
    records = {
        _relative_to_plugins(folder, package_dir, file): FileRecord(f.size, f.sha256)
        for file, f in facts.items()
    }
    files = [folder]
    dlls: list[DllInstalled] = []
    ini_files: list[IniFile] = []
    ini_edits: list[IniManualEdit] = []
    for cert, _ in certified.values():
        if cert.is_dll:
            _refuse_claimed(inp, cert.path.name)
        elif cert.is_ini:
            _refuse_claimed(inp, ini_new_name(cert.path.name))
    _refuse_root_twins(pkg.id, [c.path.name for c, _ in certified.values() if c.is_dll])
    for cert, fetched in certified.values():
        if cert.is_dll:
            dlls.append(_install_dll(inp, folder, package_dir, cert, fetched))
            files.append(cert.path.name)
        elif cert.is_ini:
            installed = _install_ini(inp, cert, ini_files, ini_edits)
            if installed is not None:
                files.append(installed)
    return StageResult(folder, files, warnings, dlls, ini_files, ini_edits, scripts, records)


def _refuse_root_twins(pkg_id: str, names: Sequence[str]) -> None:
    # Two DLLs of one package from different subfolders would land on one root name.
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise ExtractionFailed(
                f'Failed to install package "{pkg_id}".',
                f"The package contains more than one DLL named {name!r}, but only one can be placed in "
                "the Plugins folder. Please report this to the maintainers of the package metadata.",
            )
        seen.add(name.casefold())


def _variant_data(pkg: Package, variant: Mapping[str, str]) -> VariantData:
    wanted = dict(variant)
    for data in pkg.variants:
        if data.variant == wanted:
            return data
    for data in pkg.variants:  # a selection may carry ids this package does not use
        if all(wanted.get(k) == v for k, v in data.variant.items()):
            return data
    raise ExtractionFailed(
        f'Failed to install package "{pkg.id}".', f"The package has no variant {dict(variant)}."
    )


def _relative_to_plugins(folder: str, package_dir: Path, file: Path) -> str:
    # Called for every staged file: cutting the prefix off the string is far cheaper than relative_to.
    base, text = str(package_dir), str(file)
    if text.startswith(base) and text[len(base) : len(base) + 1] == os.sep:
        relative = text[len(base) + 1 :]
        return f"{folder}/{relative if os.sep == '/' else relative.replace(os.sep, '/')}"
    return f"{folder}/{file.relative_to(package_dir).as_posix()}"


def _scan_scripts(
    inp: StageInput,
    folder: str,
    package_dir: Path,
    origin: Mapping[Path, FetchedAsset],
    facts: Mapping[Path, FileFacts],
) -> list[ScriptInstalled]:
    scripts: list[ScriptInstalled] = []
    for file, fetched in origin.items():
        known = facts.get(file)
        if known is None and not file.is_file():
            continue
        try:
            tgis = _script_tgis(file, known)
        except (DbpfFormatError, OSError) as exc:
            raise ExtractionFailed(
                f'Failed to install package "{inp.package.id}" as it seems to contain a corrupted DBPF file.',
                f"File: {file}, asset: {fetched.asset.assetId}. {exc}",
            ) from exc
        if tgis:
            scripts.append(
                ScriptInstalled(
                    file=_relative_to_plugins(folder, package_dir, file),
                    url=fetched.asset.url,
                    package=inp.package.id,
                    packageVersion=inp.package.version,
                    assetMetadataUrl=fetched.metadata_url,
                    packageMetadataUrl=inp.package_metadata_url,
                    tgis=[t.display() for t in tgis],
                )
            )
    return scripts


def _script_tgis(file: Path, known: FileFacts | None) -> list[Tgi]:
    """The script entries of a file: as scanned while it was written, else read from disk."""
    if known is None or known.scripts is None:
        return scan_file(file)
    if isinstance(known.scripts, DbpfFormatError):
        raise known.scripts
    return list(known.scripts)


def _install_dll(
    inp: StageInput, folder: str, package_dir: Path, cert: CertifiedFile, fetched: FetchedAsset
) -> DllInstalled:
    # The game loads DLLs only from the Plugins root, so a root entry points into the package folder.
    link_or_move(
        cert.path, inp.staging_plugins / cert.path.name, _relative_to_plugins(folder, package_dir, cert.path)
    )
    return DllInstalled(
        dll=cert.path.name,
        checksum=Checksum(sha256=cert.sha256),
        url=fetched.asset.url,
        package=inp.package.id,
        packageVersion=inp.package.version,
        assetMetadataUrl=fetched.metadata_url,
        packageMetadataUrl=inp.package_metadata_url,
    )


def _install_ini(
    inp: StageInput, cert: CertifiedFile, ini_files: list[IniFile], ini_edits: list[IniManualEdit]
) -> str | None:
    final_name = cert.path.name
    new_name = ini_new_name(final_name)
    ini_files.append(IniFile(file=new_name, checksum=Checksum(sha256=cert.sha256), finalName=final_name))
    strategy = ini_strategy(final_name, cert.sha256, inp.plugins_root, inp.previous_ini_files)
    if strategy is IniStrategy.SKIP:
        cert.path.unlink(missing_ok=True)
        return None
    target = inp.staging_plugins / new_name
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    os.replace(cert.path, target)
    if strategy is IniStrategy.INSTALL_NEW:
        ini_edits.append(IniManualEdit(tmpIni=new_name, finalName=final_name, package=inp.package.id))
    return new_name
