"""``sc4pac channel build``: YAML channel sources into a JSON channel directory.

Everything is written into a temporary directory inside the output first; the old ``metadata`` folder
is swapped out only once every file has been written, so a failed build leaves the output untouched.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import msgspec

from ..atomic import atomic_write_bytes
from ..errors import ChannelBuildError, FileOperationsFailed
from ..models.channel import ASSET_GROUP, Asset, ChannelInfo, Checksum, Package
from ..version import max_version
from ..wire import encode
from .assemble import CHANNEL_SCHEME, AssembledChannel, assemble_channel, channel_contents
from .urls import CONTENTS_FILENAME, resolve_relative, sanitize_channel_url
from .yaml_source import ParsedSource, duplicate_issues, format_issues, parse_yaml_source, record_key

__all__ = ["BuildReport", "build_channel", "discover_sources", "write_channel"]

DEFAULT_PKG_INDENT = 1
DEFAULT_CONTENTS_INDENT = -1

_GITHUB_REPO = re.compile(r"^https://github\.com/([^/]+)/([^/]+)/")


class BuildReport(msgspec.Struct, frozen=True):
    """What a build wrote: counts of channel items and source documents, plus non-fatal warnings."""

    output: Path
    package_count: int
    asset_count: int
    document_count: int
    file_count: int
    warnings: tuple[str, ...] = ()


def discover_sources(inputs: Sequence[Path]) -> list[tuple[Path, str]]:
    """Every ``*.yaml`` file below the inputs as ``(path, path relative to its input dir)``, sorted."""
    found: list[tuple[Path, str]] = []
    for root in inputs:
        if not root.is_dir():
            raise FileOperationsFailed(f"{root} does not exist.")
        # Sorted for reproducible output: the reference walks in file-system order.
        # The suffix check is exact: globbing ignores case on Windows, the reference does not.
        files = sorted(
            (p for p in root.rglob("*.yaml") if p.name.endswith(".yaml") and p.is_file()),
            key=lambda p: p.relative_to(root).as_posix(),
        )
        found.extend((p, p.relative_to(root).as_posix()) for p in files)
    return found


def _read_sources(sources: Sequence[tuple[Path, str]]) -> list[ParsedSource]:
    parsed: list[ParsedSource] = []
    for path, relative in sources:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise FileOperationsFailed(f"Failed to read {path}.", str(exc)) from exc
        parsed.append(parse_yaml_source(text, str(path), metadata_source=relative))
    return parsed


def _issue_url(repo_match: re.Match[str], package: Package, source_url: str) -> str:
    owner, repo = repo_match.group(1), repo_match.group(2)
    package_id = package.id
    title = f"[{package_id}] New bug report"
    website = f" from {package.info.websites[0]}" if package.info.websites else ""
    body = f"Package: [`{package_id}`]({source_url}){website}\n\nDescribe the problem here…"
    return f"https://github.com/{owner}/{repo}/issues/new?title={quote(title, safe='')}&body={quote(body, safe='')}"


def _stamp(
    package: Package, label: str | None, source_base: str | None, repo_match: re.Match[str] | None
) -> Package:
    """Add the build-wide fields: channel label, source URL and issue URL."""
    changes: dict[str, list[str]] = {}
    if label:
        changes["channelLabel"] = [label]
    if source_base is not None and package.metadataSource:
        source_url = resolve_relative(source_base, package.metadataSource[0])
        changes["metadataSourceUrl"] = [source_url]
        if repo_match is not None:
            changes["metadataIssueUrl"] = [_issue_url(repo_match, package, source_url)]
    return msgspec.structs.replace(package, **changes) if changes else package


def _channel_info(
    label: str | None, source_base: str | None, repo_match: re.Match[str] | None
) -> ChannelInfo | None:
    issues = f"https://github.com/{repo_match.group(1)}/{repo_match.group(2)}/issues" if repo_match else None
    if not label and source_base is None and issues is None:
        return None
    return ChannelInfo(
        channelLabel=[label] if label else [],
        metadataSourceUrl=[source_base] if source_base is not None else [],
        metadataIssueUrl=[issues] if issues is not None else [],
    )


class _DirectoryMaker:
    """Creates each directory once; thousands of ``mkdir(parents=True)`` calls dominate a build otherwise."""

    def __init__(self) -> None:
        self._made: set[Path] = set()

    def ensure(self, directory: Path) -> None:
        if directory in self._made:
            return
        if directory.parent not in self._made and directory.parent != directory:
            self.ensure(directory.parent)
        directory.mkdir(exist_ok=True)
        self._made.add(directory)


def _write(path: Path, data: bytes, dirs: _DirectoryMaker) -> Checksum:
    dirs.ensure(path.parent)
    path.write_bytes(data)
    return Checksum(hashlib.sha256(data).hexdigest())


def _link_latest(directory: Path, version: str, warnings: list[str]) -> None:
    try:
        os.symlink(version, directory / "latest", target_is_directory=True)
    except (OSError, NotImplementedError) as exc:
        # Only the web page of a channel uses these links; without symlink rights (Windows) skip them.
        if not warnings or not warnings[-1].startswith("Could not create"):
            warnings.append(
                f"Could not create 'latest' symlinks ({exc}); the channel works without them. "
                "On Windows, enable Developer Mode to allow symlinks."
            )


def _write_metadata(
    metadata: Path, assembled: AssembledChannel, indent: int, warnings: list[str]
) -> tuple[dict[tuple[str, str], Checksum], dict[str, Checksum], int]:
    checksums: dict[tuple[str, str], Checksum] = {}
    versions: dict[tuple[str, str], list[str]] = {}
    dirs = _DirectoryMaker()
    records: list[Package | Asset] = [*assembled.packages, *assembled.assets]
    for record in records:
        group, name = (
            (record.group, record.name) if isinstance(record, Package) else (ASSET_GROUP, record.assetId)
        )
        checksums[record_key(record)] = _write(
            metadata / group / name / record.version / "pkg.json", encode(record, indent), dirs
        )
        versions.setdefault((group, name), []).append(record.version)
    external: dict[str, Checksum] = {}
    for ext_pkg in assembled.external_packages:
        path = metadata / "_extpkg" / ext_pkg.group / ext_pkg.name / "latest" / "pkg.json"
        external[f"{ext_pkg.group}:{ext_pkg.name}"] = _write(path, encode(ext_pkg, indent), dirs)
    for ext_asset in assembled.external_assets:
        path = metadata / "_extasset" / ext_asset.assetId / "latest" / "pkg.json"
        external[f"{ASSET_GROUP}:{ext_asset.assetId}"] = _write(path, encode(ext_asset, indent), dirs)
    for (group, name), listed in versions.items():
        _link_latest(metadata / group / name, max_version(listed), warnings)
    return checksums, external, len(checksums) + len(external)


def _replace_metadata(output: Path, new_metadata: Path, staging: Path) -> None:
    target = output / "metadata"
    old = staging / "old-metadata"
    moved_old = False
    try:
        if target.exists() or target.is_symlink():
            os.replace(target, old)
            moved_old = True
        os.replace(new_metadata, target)
    except OSError as exc:
        if moved_old and not target.exists():
            # Put the previous channel back rather than leave the output without metadata.
            os.replace(old, target)
        raise FileOperationsFailed(f"Failed to overwrite folder {target}.", str(exc)) from exc


def build_channel(
    inputs: Sequence[Path],
    output: Path,
    *,
    label: str | None = None,
    metadata_source_url: str | None = None,
    indent: int | None = None,
) -> BuildReport:
    """Build the JSON channel of the YAML files below ``inputs`` into ``output``."""
    _check_indent(indent)
    parsed = _read_sources(discover_sources(inputs))
    issues = [issue for source in parsed for issue in source.issues] or duplicate_issues(parsed)
    if issues:
        raise ChannelBuildError(format_issues(issues), issues=issues)
    records = [r for source in parsed for r in source.records]
    report = write_channel(
        records, output, label=label, metadata_source_url=metadata_source_url, indent=indent
    )
    return msgspec.structs.replace(report, document_count=sum(source.document_count for source in parsed))


def _check_indent(indent: int | None) -> None:
    if indent is not None and indent < -1:
        raise FileOperationsFailed(f"Invalid indentation {indent}: use -1 (compact) or more.")


def write_channel(
    records: Sequence[Package | Asset],
    output: Path,
    *,
    label: str | None = None,
    metadata_source_url: str | None = None,
    indent: int | None = None,
) -> BuildReport:
    """Write already parsed (and duplicate-free) records as a JSON channel into ``output``."""
    _check_indent(indent)
    source_base = sanitize_channel_url(metadata_source_url) if metadata_source_url else None
    repo_match = _GITHUB_REPO.match(source_base) if source_base is not None else None
    stamped = [_stamp(r, label, source_base, repo_match) if isinstance(r, Package) else r for r in records]
    assembled = assemble_channel(stamped)

    output.mkdir(parents=True, exist_ok=True)
    staging = output / f"json{secrets.token_hex(8)}"
    staging.mkdir()
    warnings: list[str] = []
    try:
        pkg_indent = DEFAULT_PKG_INDENT if indent is None else indent
        checksums, external, file_count = _write_metadata(
            staging / "metadata", assembled, pkg_indent, warnings
        )
        contents = channel_contents(
            assembled,
            info=_channel_info(label, source_base, repo_match),
            checksums=checksums,
            external_checksums=external,
            scheme=CHANNEL_SCHEME,
        )
        contents_bytes = encode(contents, DEFAULT_CONTENTS_INDENT if indent is None else indent)
        if stamped:
            _replace_metadata(output, staging / "metadata", staging)
        atomic_write_bytes(output / CONTENTS_FILENAME, contents_bytes, backup=False)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildReport(
        output=output,
        package_count=len(contents.packages),
        asset_count=len(contents.assets),
        document_count=0,
        file_count=file_count + 1,
        warnings=tuple(warnings),
    )
