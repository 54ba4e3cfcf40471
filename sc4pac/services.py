"""The long-lived services shared by the daemon's routes, the update job and the CLI."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .channels.index import ChannelIndex
from .channels.repository import ChannelRepository
from .fetch.download import METADATA_PER_HOST, Downloader
from .install import publish
from .models.profile import PluginsSpec
from .ports import ProgressSink
from .profiles import ProfileStore

log = logging.getLogger(__name__)

METADATA_PER_HOST_ENV = "SC4PAC_METADATA_PER_HOST"


def _metadata_limit_from_env() -> int:
    raw = os.environ.get(METADATA_PER_HOST_ENV, "").strip()
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        if raw:
            log.warning("Ignoring %s=%r (expected a positive number)", METADATA_PER_HOST_ENV, raw)
        return METADATA_PER_HOST
    return value


@dataclass
class Services:
    """Profile files, downloads and loaded channels of one process."""

    store: ProfileStore
    downloader: Downloader
    repository: ChannelRepository

    @classmethod
    def create(
        cls,
        profiles_dir: Path,
        *,
        max_downloads_per_host: int = 2,
        max_metadata_per_host: int | None = None,
    ) -> Services:
        """The services of one process; the metadata limit defaults to ``$SC4PAC_METADATA_PER_HOST``."""
        downloader = Downloader(
            max_per_host=max_downloads_per_host,
            max_metadata_per_host=max_metadata_per_host or _metadata_limit_from_env(),
        )
        return cls(ProfileStore(profiles_dir), downloader, ChannelRepository(downloader))

    async def aclose(self) -> None:
        await self.downloader.aclose()

    def cache_root(self, profile_id: str, spec: PluginsSpec) -> Path:
        return self.store.cache_root(profile_id, spec.config)

    async def channel_index(
        self,
        profile_id: str,
        spec: PluginsSpec,
        *,
        refresh: bool = False,
        progress: ProgressSink | None = None,
    ) -> ChannelIndex:
        """The merged index of the profile's channels (from memory while fresh)."""
        return await self.repository.index(
            spec.config.channels, self.cache_root(profile_id, spec), refresh=refresh, progress=progress
        )

    def recover_publish(self, profile_id: str, spec: PluginsSpec) -> None:
        """Finish an installation interrupted by a crash, or discard its unjournaled leftovers."""
        journal = self.store.profile_dir(profile_id) / publish.JOURNAL_FILE
        publish.recover(journal, lambda lock: self.store.write_lock_sync(profile_id, lock))
        publish.discard_unjournaled_work(self.store.plugins_root(profile_id, spec.config), journal)

    def recover_all(self) -> None:
        """Run :meth:`recover_publish` for every initialized profile (at daemon start)."""
        for entry in self.store.read_profiles().profiles:
            try:
                if self.store.spec_exists(entry.id):
                    self.recover_publish(entry.id, self.store.read_spec(entry.id))
            except Exception as exc:  # one broken profile must not keep the daemon from starting
                log.error("Could not check profile %s for an interrupted installation: %s", entry.id, exc)
