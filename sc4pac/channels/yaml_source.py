"""YAML channel sources: multi-document YAML streams parsed into Package and Asset records.

The same parser serves the channel builder and single-file YAML channels. Typing follows the
reference, which reads YAML through SnakeYAML into upickle: numbers become strings, booleans where
strings are expected are errors, unquoted timestamps keep their text and unknown keys are ignored.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import msgspec
import yaml

from ..errors import ChannelBuildError
from ..models.channel import (
    EMPTY_INFO,
    NO_CHECKSUM,
    ArchiveType,
    Asset,
    AssetReference,
    Checksum,
    Contents,
    Dependency,
    IncludeWithChecksum,
    Info,
    Package,
    VariantChoice,
    VariantData,
    VariantInfo,
)
from ..variant_tree import VariantTreeError, build_variant_tree
from .ids import format_package_id, parse_package_id

__all__ = [
    "ChannelRecord",
    "ParsedSource",
    "YamlIssue",
    "channel_from_yaml_text",
    "duplicate_issues",
    "format_issues",
    "parse_yaml_source",
    "record_key",
    "variant_choices",
]

ChannelRecord = Package | Asset

LATEST_RELEASE = "latest.release"


# --- YAML loading -----------------------------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


# The base is chosen at import (libyaml's C loader when present), which a type checker cannot follow.
class _ChannelLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader with the reference's scalar typing: numbers as strings, timestamps as their text."""


# Unquoted timestamps must keep their original text (the reference reads them as plain strings), so
# the implicit timestamp resolver is dropped; they then resolve as ordinary strings.
_ChannelLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def _number_text(value: float) -> str:
    # Integral values lose their decimals ("1.0" -> "1"), as a double printed without a fraction does.
    if math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


def _construct_int_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(yaml.constructor.SafeConstructor.construct_yaml_int(loader, node))


def _construct_float_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return _number_text(yaml.constructor.SafeConstructor.construct_yaml_float(loader, node))


_ChannelLoader.add_constructor("tag:yaml.org,2002:int", _construct_int_text)
_ChannelLoader.add_constructor("tag:yaml.org,2002:float", _construct_float_text)


# --- The YAML document schema -------------------------------------------------------------------------


class _YamlVariant(msgspec.Struct):
    variant: dict[str, str]
    dependencies: list[str] = []
    assets: list[AssetReference] = []
    conflicting: list[str] = []


class _YamlVariantValue(msgspec.Struct):
    value: str
    description: str = ""
    default: bool = False


class _YamlVariantInfo(msgspec.Struct):
    variantId: str
    description: str = ""
    values: list[_YamlVariantValue] = []


class _YamlPackage(msgspec.Struct):
    group: str
    name: str
    version: str
    subfolder: str
    info: Info = EMPTY_INFO
    dependencies: list[str] = []
    assets: list[AssetReference] = []
    conflicting: list[str] = []
    variants: list[_YamlVariant] = []
    variantInfo: list[_YamlVariantInfo] = []


class _YamlAsset(msgspec.Struct):
    assetId: str
    version: str
    url: str
    lastModified: str | None = None
    archiveType: ArchiveType | None = None
    checksum: Checksum = NO_CHECKSUM


class _YamlArray(msgspec.Struct):
    packages: list[_YamlPackage]
    assets: list[_YamlAsset] = []


# --- Results ------------------------------------------------------------------------------------------


class YamlIssue(NamedTuple):
    """One document that could not be read: ``document`` counts from 1 within ``source``."""

    source: str
    document: int
    message: str


class ParsedSource(NamedTuple):
    """The records of one YAML stream, the document number of each, and the unreadable documents."""

    source: str
    records: list[ChannelRecord]
    record_documents: list[int]
    issues: list[YamlIssue]
    document_count: int


def record_key(record: ChannelRecord) -> tuple[str, str]:
    """``(id, version)`` of a record; assets use the id ``sc4pacAsset:<assetId>``."""
    return record.id, record.version


def format_issues(issues: Iterable[YamlIssue]) -> str:
    """One line per file: ``Format error in <file>: document N: ..., document M: ...``."""
    per_source: dict[str, list[str]] = {}
    for issue in issues:
        per_source.setdefault(issue.source, []).append(f"document {issue.document}: {issue.message}")
    return "\n".join(f"Format error in {source}: {', '.join(msgs)}" for source, msgs in per_source.items())


# --- Parsing ------------------------------------------------------------------------------------------


def parse_yaml_source(text: str, source_name: str, *, metadata_source: str | None = None) -> ParsedSource:
    """Parse a multi-document YAML stream; ``metadata_source`` is stamped on every package."""
    records: list[ChannelRecord] = []
    record_documents: list[int] = []
    issues: list[YamlIssue] = []
    index = 0
    documents = yaml.load_all(text, Loader=_ChannelLoader)
    while True:
        try:
            document = next(documents)
        except StopIteration:
            break
        except yaml.YAMLError as exc:
            # The stream cannot be read past a syntax error; report it at the document it broke.
            issues.append(YamlIssue(source_name, index + 1, f"YAML syntax error: {_one_line(str(exc))}"))
            break
        index += 1
        if document is None:
            continue
        try:
            parsed = _parse_document(document, metadata_source)
        except _DocumentError as exc:
            issues.append(YamlIssue(source_name, index, str(exc)))
            continue
        records.extend(parsed)
        record_documents.extend([index] * len(parsed))
    return ParsedSource(source_name, records, record_documents, issues, index)


def duplicate_issues(sources: Iterable[ParsedSource]) -> list[YamlIssue]:
    """Issues for every record whose ``(id, version)`` was already defined by an earlier document."""
    first_seen: dict[tuple[str, str], tuple[str, int]] = {}
    issues: list[YamlIssue] = []
    for parsed in sources:
        for record, document in zip(parsed.records, parsed.record_documents, strict=True):
            key = record_key(record)
            earlier = first_seen.get(key)
            if earlier is None:
                first_seen[key] = (parsed.source, document)
                continue
            message = (
                f"{key[0]} version {key[1]} is defined twice (first in {earlier[0]}, document {earlier[1]})"
            )
            issues.append(YamlIssue(parsed.source, document, message))
    return issues


class _DocumentError(ValueError):
    """A YAML document that is neither a package, an asset nor an array document."""


def _parse_document(document: Any, metadata_source: str | None) -> list[ChannelRecord]:
    errors: list[str] = []
    for attempt in (_try_package, _try_asset, _try_array):
        try:
            return attempt(document, metadata_source)
        except (msgspec.ValidationError, ValueError) as exc:
            errors.append(str(exc))
    raise _DocumentError("(" + " | ".join(errors) + ")")


def _try_package(document: Any, metadata_source: str | None) -> list[ChannelRecord]:
    return [_package(msgspec.convert(document, _YamlPackage), metadata_source)]


def _try_asset(document: Any, metadata_source: str | None) -> list[ChannelRecord]:
    return [_asset(msgspec.convert(document, _YamlAsset))]


def _try_array(document: Any, metadata_source: str | None) -> list[ChannelRecord]:
    array = msgspec.convert(document, _YamlArray)
    records: list[ChannelRecord] = []
    for i, package in enumerate(array.packages):
        records.append(_located(f"$.packages[{i}]", functools.partial(_package, package, metadata_source)))
    for i, asset in enumerate(array.assets):
        records.append(_located(f"$.assets[{i}]", functools.partial(_asset, asset)))
    return records


def _located(where: str, build: Callable[[], ChannelRecord]) -> ChannelRecord:
    try:
        return build()
    except ValueError as exc:
        raise ValueError(f"{exc} - at `{where}`") from exc


# --- Mapping to channel records ------------------------------------------------------------------------


def _package(source: _YamlPackage, metadata_source: str | None) -> Package:
    variants = source.variants or [_YamlVariant(variant={})]
    shared_deps = [_dependency(s) for s in source.dependencies]
    shared_conflicts = [_package_id(s) for s in source.conflicting]
    shared_assets = [_asset_reference(a) for a in source.assets]
    variant_data = [
        VariantData(
            variant=v.variant,
            dependencies=shared_deps + [_dependency(s) for s in v.dependencies],
            assets=shared_assets + [_asset_reference(a) for a in v.assets],
            conflictingPackages=shared_conflicts + [_package_id(s) for s in v.conflicting],
        )
        for v in variants
    ]
    try:
        build_variant_tree([v.variant for v in variant_data])
    except VariantTreeError as exc:
        raise ValueError(str(exc)) from exc
    return Package(
        group=source.group,
        name=source.name,
        version=source.version,
        subfolder=normalize_subpath(source.subfolder),
        info=_info(source.info),
        variants=variant_data,
        variantInfo={info.variantId: _variant_info(info) for info in source.variantInfo},
        variantChoices=variant_choices(variant_data),
        metadataSource=[metadata_source] if metadata_source is not None else [],
    )


def _asset(source: _YamlAsset) -> Asset:
    return Asset(
        assetId=source.assetId,
        version=source.version,
        url=source.url,
        lastModified=normalize_instant(source.lastModified) if source.lastModified is not None else None,
        archiveType=[source.archiveType] if source.archiveType is not None else [],
        checksum=Checksum(normalize_hex(source.checksum.sha256)) if source.checksum.sha256 else NO_CHECKSUM,
    )


def _dependency(package_id: str) -> Dependency:
    group, name = parse_package_id(package_id)
    return Dependency(group=group, name=name, version=LATEST_RELEASE)


def _package_id(package_id: str) -> str:
    return format_package_id(*parse_package_id(package_id))


def _with_checksum(entries: list[IncludeWithChecksum]) -> list[IncludeWithChecksum]:
    if not entries:
        return entries
    return [msgspec.structs.replace(e, sha256=normalize_hex(e.sha256)) for e in entries]


def _asset_reference(ref: AssetReference) -> AssetReference:
    if not ref.withChecksum and not ref.withConditions:
        return ref
    return msgspec.structs.replace(
        ref,
        withChecksum=_with_checksum(ref.withChecksum),
        withConditions=[
            msgspec.structs.replace(c, withChecksum=_with_checksum(c.withChecksum))
            for c in ref.withConditions
        ],
    )


def _info(info: Info) -> Info:
    if info is EMPTY_INFO:
        return info
    if not info.websites and info.website:
        info = msgspec.structs.replace(info, websites=[info.website], website="")
    return EMPTY_INFO if info == EMPTY_INFO else info


def _variant_info(source: _YamlVariantInfo) -> VariantInfo:
    default = next((v.value for v in source.values if v.default), None)
    return VariantInfo(
        description=source.description,
        valueDescriptions={v.value: v.description for v in source.values},
        default=[default] if default is not None else [],
    )


def variant_choices(variants: Iterable[VariantData]) -> list[VariantChoice]:
    """Variant ids with their values in first-appearance order, conditional ones included."""
    choices: dict[str, dict[str, None]] = {}

    def add(mapping: Mapping[str, str]) -> None:
        for key, value in mapping.items():
            choices.setdefault(key, {})[value] = None

    for data in variants:
        add(data.variant)
        for ref in data.assets:
            for condition in ref.withConditions:
                add(condition.ifVariant)
    return [VariantChoice(variantId=key, choices=list(values)) for key, values in choices.items()]


# --- Scalar normalisation -----------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-fA-F]+")


def normalize_hex(text: str) -> str:
    """A hex checksum lower-cased; empty or odd-length strings are errors (the length is not checked)."""
    if len(text) % 2 or not _HEX.fullmatch(text):
        raise ValueError(f"invalid hex string: {text!r}")
    return text.lower()


def normalize_subpath(text: str) -> str:
    """A relative ``/``-separated path with ``.``, ``..`` and empty segments resolved."""
    segments: list[str] = []
    for segment in text.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                raise ValueError(f"sub-path climbs above its root: {text!r}")
            segments.pop()
        else:
            segments.append(segment)
    return "/".join(segments)


def normalize_instant(text: str) -> str:
    """An ISO-8601 date-time with offset, rewritten in UTC the way Java's ``Instant.toString`` does."""
    stripped = text.strip()
    try:
        moment = datetime.fromisoformat(stripped) if "T" in stripped else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"Text '{stripped}' could not be parsed as a date-time with offset")
    moment = moment.astimezone(UTC)
    out = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        fraction = f"{moment.microsecond:06d}"
        out += "." + (fraction[:3] if fraction.endswith("000") else fraction)
    return out + "Z"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- Single-file YAML channels ------------------------------------------------------------------------


def channel_from_yaml_text(
    text: str, source_name: str
) -> tuple[Contents, dict[tuple[str, str], ChannelRecord]]:
    """The in-memory channel of a single-file YAML channel: empty checksums, no channel info."""
    # Imported here to keep the parser importable without the assembly code (and free of cycles).
    from .assemble import assemble_channel, channel_contents

    parsed = parse_yaml_source(text, source_name)
    issues = parsed.issues or duplicate_issues([parsed])
    if issues:
        raise ChannelBuildError(format_issues(issues), issues=issues)
    assembled = assemble_channel(parsed.records)
    contents = channel_contents(assembled, info=None)
    records: list[ChannelRecord] = [*assembled.packages, *assembled.assets]
    return contents, {record_key(r): r for r in records}
