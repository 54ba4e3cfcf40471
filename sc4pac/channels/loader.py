"""Loading channels: contents files (JSON or single-file YAML) and the ``pkg.json`` files they list.

Everything remote goes through the :class:`~sc4pac.fetch.download.Downloader` and its cache; ``file:``
channels are read in place (no copy, no checksum), so a channel can be edited live. Unlike the
reference, a failed refresh falls back to the cached contents file, marking the channel stale.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from ..errors import ChannelsNotAvailable, DownloadFailed, VersionNotFound
from ..fetch import cache
from ..fetch.download import CachedFile, Downloader
from ..fetch.failures import (
    TITLE_UNEXPECTED,
    ChecksumMismatch,
    DownloadFailure,
    FailureReason,
    title_metadata_checksum,
)
from ..gc_pause import gc_paused
from ..models.channel import (
    ASSET_GROUP,
    Asset,
    Checksum,
    CompactContents,
    Contents,
    ExtAssetFile,
    ExtPkgFile,
    Package,
)
from ..ports import ProgressSink
from .ids import parse_package_id
from .loaded import LoadedChannel
from .stats import stats_of_items
from .urls import (
    contents_url,
    external_asset_url,
    external_package_url,
    is_yaml_channel,
    package_metadata_url,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

CONTENTS_TTL = 30 * 60.0  # seconds a contents file stays fresh
NOT_FOUND_RETRY_TTL = 60.0  # used by callers for the one reload when an id is missing
MIN_SCHEME, MAX_SCHEME = 6, 9

_contents_decoder = msgspec.json.Decoder(CompactContents)
_record_decoder = msgspec.json.Decoder(Package | Asset)
_ext_pkg_decoder = msgspec.json.Decoder(ExtPkgFile)
_ext_asset_decoder = msgspec.json.Decoder(ExtAssetFile)


def channel_not_available(url: str, detail: str) -> ChannelsNotAvailable:
    """The error for a channel that could not be fetched or read."""
    return ChannelsNotAvailable(
        f"Channel not available. Check your internet connection and that the channel URL is correct: {url}",
        detail,
    )


def check_scheme(contents: Contents, contents_location: str) -> None:
    """Reject contents files whose scheme this version cannot read."""
    if contents.scheme < MIN_SCHEME:
        msg = (
            f"The channel {contents_location} uses an old scheme ({contents.scheme}) that is not supported "
            "anymore by your version of sc4pac. Contact the maintainer of the channel."
        )
    elif contents.scheme > MAX_SCHEME:
        msg = (
            f"The channel {contents_location} has a newer scheme ({contents.scheme}) than supported by your "
            f"installation ({MIN_SCHEME}..{MAX_SCHEME}). Please update to the latest version of sc4pac."
        )
    else:
        return
    raise ChannelsNotAvailable(f"Failed to read channel data: {msg}", "")


def with_stats(contents: Contents) -> Contents:
    """``contents`` with its stats computed from the packages when the file has none."""
    if contents.stats is not None:
        return contents
    return msgspec.structs.replace(contents, stats=stats_of_items(contents.packages))


def _json_format_error(path: Path) -> DownloadFailure:
    return DownloadFailure(
        TITLE_UNEXPECTED,
        f"Json format error in file {path}. If the problem persists, try to manually delete the file from "
        "the cache.",
        url=None,
        reason=FailureReason.FORMAT_ERROR,
    )


def _parse_contents(data: bytes, location: str) -> Contents:
    with gc_paused():
        contents = _contents_decoder.decode(data)
        # A Raw refers into the whole downloaded file; copies let that buffer go.
        for item in (*contents.packages, *contents.assets):
            item.checksums = item.checksums.copy()
    check_scheme(contents, location)
    return with_stats(contents)


def _parse_yaml_channel(data: bytes, url: str) -> tuple[Contents, Mapping[tuple[str, str], Package | Asset]]:
    # Imported here: the YAML parser is a separate (and heavier) module only YAML channels need.
    from .yaml_source import channel_from_yaml_text

    try:
        contents, records = channel_from_yaml_text(data.decode("utf-8"), url)
    except Exception as exc:
        detail = getattr(exc, "title", None) or str(exc)
        raise ValueError(f"{type(exc).__name__}: {detail}") from exc
    return with_stats(contents), records


class ChannelLoader:
    """Loads channels and their metadata files into one cache root."""

    def __init__(self, downloader: Downloader, cache_root: Path) -> None:
        self.downloader = downloader
        self.cache_root = cache_root

    # --- contents ---------------------------------------------------------------------------------

    async def load_all(
        self,
        channel_urls: Sequence[str],
        *,
        ttl: float = CONTENTS_TTL,
        progress: ProgressSink | None = None,
    ) -> list[LoadedChannel]:
        """Load every channel concurrently; the first failing channel (in list order) fails the whole."""
        results = await asyncio.gather(
            *(self.load(url, ttl=ttl, progress=progress) for url in channel_urls), return_exceptions=True
        )
        loaded: list[LoadedChannel] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            loaded.append(result)
        return loaded

    async def load(
        self, url: str, *, ttl: float = CONTENTS_TTL, progress: ProgressSink | None = None
    ) -> LoadedChannel:
        """Load one (sanitised) channel URL."""
        location = contents_url(url)
        yaml = is_yaml_channel(url)
        stale_reason = ""
        for forced in (False, True):
            try:
                file = await self.downloader.fetch(
                    location,
                    cache_root=self.cache_root,
                    changing_ttl=ttl,
                    force=forced,
                    progress=progress,
                    metadata=True,
                )
            except DownloadFailed as exc:
                cached = self._cached_copy(location)
                if cached is None:
                    raise channel_not_available(url, exc.detail or exc.title) from exc
                file = cached
                stale_reason = exc.detail or exc.title
                log.warning(
                    "Using the cached copy of channel %s, since refreshing it failed: %s", url, stale_reason
                )
            except OSError as exc:
                raise channel_not_available(url, str(exc)) from exc
            try:
                data = (
                    file.content
                    if file.content is not None
                    else await asyncio.to_thread(file.path.read_bytes)
                )
                if yaml:
                    contents, records = await asyncio.to_thread(_parse_yaml_channel, data, url)
                else:
                    contents, records = await asyncio.to_thread(_parse_contents, data, location), None
            except ChannelsNotAvailable:
                raise
            except (msgspec.DecodeError, UnicodeDecodeError, OSError, ValueError) as exc:
                # A corrupt cached copy gets one fresh download before giving up.
                if forced or stale_reason or cache.is_file_url(location):
                    raise channel_not_available(url, f"{type(exc).__name__}: {exc}") from exc
                continue
            return LoadedChannel(
                url=url,
                contents=contents,
                records=records,
                stale=bool(stale_reason),
                stale_reason=stale_reason,
            )
        raise AssertionError("unreachable")

    def _cached_copy(self, location: str) -> CachedFile | None:
        if cache.is_file_url(location):
            return None
        try:
            path = cache.cache_path(self.cache_root, location)
        except ValueError:
            return None  # a URL the cache cannot store (``..`` in it) was never cached
        return CachedFile(path=path) if path.is_file() else None

    # --- metadata files ---------------------------------------------------------------------------

    async def fetch_package_json(
        self,
        channel: LoadedChannel,
        pkg_id: str,
        version: str,
        checksum: Checksum | str | None = None,
        *,
        progress: ProgressSink | None = None,
    ) -> Package | Asset:
        """The ``pkg.json`` of ``pkg_id`` (``sc4pacAsset:<id>`` for assets) at ``version`` in ``channel``."""
        if channel.records is not None:
            record = channel.records.get((pkg_id, version))
            if record is None:
                raise _version_not_found(pkg_id, channel.url)
            return record
        group, name = parse_package_id(pkg_id)
        if checksum is None:
            checksum = _listed_checksum(channel.contents, group, name, version)
            if checksum is None:
                raise _version_not_found(pkg_id, channel.url)
        sha = checksum if isinstance(checksum, str) else checksum.sha256
        url = package_metadata_url(channel.url, group, name, version)
        return await self._fetch_json(url, sha, _record_decoder, pkg_id, progress)

    async def fetch_external_package(
        self, channel: LoadedChannel, pkg_id: str, *, progress: ProgressSink | None = None
    ) -> ExtPkgFile | None:
        """This channel's reverse links to ``pkg_id`` defined elsewhere; ``None`` if it has none."""
        group, name = parse_package_id(pkg_id)
        if channel.records is not None:
            return _external_package_from_records(channel.records, group, name)
        for ext in channel.contents.externalPackages:
            if ext.group == group and ext.name == name:
                url = external_package_url(channel.url, group, name)
                return await self._fetch_json(url, ext.checksum.sha256, _ext_pkg_decoder, pkg_id, progress)
        return None

    async def fetch_external_asset(
        self, channel: LoadedChannel, asset_id: str, *, progress: ProgressSink | None = None
    ) -> ExtAssetFile | None:
        """The packages of this channel that use asset ``asset_id`` defined elsewhere; ``None`` if none."""
        if channel.records is not None:
            return _external_asset_from_records(channel.records, asset_id)
        for ext in channel.contents.externalAssets:
            if ext.assetId == asset_id:
                url = external_asset_url(channel.url, asset_id)
                pkg_id = f"{ASSET_GROUP}:{asset_id}"
                return await self._fetch_json(url, ext.checksum.sha256, _ext_asset_decoder, pkg_id, progress)
        return None

    def _cached_json(self, url: str, sha256: str, decoder: msgspec.json.Decoder[T]) -> T | None:
        """The cached copy of a metadata file whose checksum the channel lists, if it matches.

        A file is fully identified by its checksum, so a match needs no refresh check, check file or
        lock: one read instead of the downloader's several file operations, for each of the hundreds
        of ``pkg.json`` files a resolution reads from a warm cache.
        """
        if not sha256 or cache.is_file_url(url):
            return None
        try:
            data = cache.cache_path(self.cache_root, url).read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(data).hexdigest() != sha256.lower():
            return None
        try:
            return decoder.decode(data)
        except msgspec.DecodeError:
            return None

    async def _fetch_json(
        self,
        url: str,
        sha256: str,
        decoder: msgspec.json.Decoder[T],
        pkg_id: str,
        progress: ProgressSink | None,
    ) -> T:
        known = self._cached_json(url, sha256, decoder)
        if known is not None:
            return known
        for forced in (False, True):
            try:
                file = await self.downloader.fetch(
                    url,
                    cache_root=self.cache_root,
                    expected_sha256=sha256 or None,
                    redownload_on_mismatch=True,
                    force=forced,
                    progress=progress,
                    metadata=True,
                )
            except ChecksumMismatch as exc:
                raise exc.retitled(title_metadata_checksum(pkg_id)) from exc
            except DownloadFailure as exc:
                raise exc.for_metadata() from exc
            try:
                # Received just now, or read from the cache: a pkg.json is small, so reading it on the
                # loop is cheaper than a thread hop.
                data = file.content if file.content is not None else file.path.read_bytes()
                return decoder.decode(data)
            except (msgspec.DecodeError, OSError) as exc:
                # One forced re-download repairs a corrupt cached copy; file: channels have no copy.
                if forced or cache.is_file_url(url):
                    raise _json_format_error(file.path) from exc
        raise AssertionError("unreachable")


def _version_not_found(pkg_id: str, channel_url: str) -> VersionNotFound:
    return VersionNotFound(f"No versions of {pkg_id} found in repository {channel_url}.", "")


def _listed_checksum(contents: Contents, group: str, name: str, version: str) -> Checksum | None:
    items = contents.assets if group == ASSET_GROUP else contents.packages
    for item in items:
        if item.group == group and item.name == name:
            sha256 = item.sha256_of(version)
            return None if sha256 is None else Checksum(sha256)
    return None


def _external_package_from_records(
    records: Mapping[tuple[str, str], Package | Asset], group: str, name: str
) -> ExtPkgFile | None:
    # A YAML channel keeps no external files; derive the reverse links from the packages it defines.
    pkg_id = f"{group}:{name}"
    if any(key[0] == pkg_id for key in records):
        return None
    required_by: set[str] = set()
    conflicting: set[str] = set()
    for record in records.values():
        if not isinstance(record, Package):
            continue
        for variant in record.variants:
            if any(f"{d.group}:{d.name}" == pkg_id for d in variant.dependencies):
                required_by.add(record.id)
            if pkg_id in variant.conflictingPackages:
                conflicting.add(record.id)
    if not required_by and not conflicting:
        return None
    return ExtPkgFile(
        group=group, name=name, requiredBy=sorted(required_by), reverseConflictingPackages=sorted(conflicting)
    )


def _external_asset_from_records(
    records: Mapping[tuple[str, str], Package | Asset], asset_id: str
) -> ExtAssetFile | None:
    if any(key[0] == f"{ASSET_GROUP}:{asset_id}" for key in records):
        return None
    required_by = {
        record.id
        for record in records.values()
        if isinstance(record, Package)
        for variant in record.variants
        for ref in variant.assets
        if ref.assetId == asset_id
    }
    return ExtAssetFile(assetId=asset_id, requiredBy=sorted(required_by)) if required_by else None
