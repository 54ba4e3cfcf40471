"""The long-lived services shared by the daemon's routes, the update job and the CLI."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..models.profile import PluginsSpec
from ..ports import ProgressSink
from ..profiles import ProfileStore

if TYPE_CHECKING:
    from ..channels.index import ChannelIndex
    from ..channels.repository import ChannelRepository
    from ..fetch.download import Downloader

log = logging.getLogger(__name__)


class Services:
    """Profile files, downloads and loaded channels of one process.

    The downloader and the channel repository are made on first use: a CLI command that only reads
    profile files (``sc4pac list``) then never imports the HTTP and channel machinery.
    """

    def __init__(self, store: ProfileStore, *, max_downloads_per_host: int = 2, long_running: bool = True):
        self.store = store
        self._max_downloads_per_host = max_downloads_per_host
        self._long_running = long_running

    @classmethod
    def create(
        cls, profiles_dir: Path, *, max_downloads_per_host: int = 2, long_running: bool = True
    ) -> Services:
        """The services of one process; ``long_running`` (the daemon) prepares search indexes ahead."""
        return cls(
            ProfileStore(profiles_dir),
            max_downloads_per_host=max_downloads_per_host,
            long_running=long_running,
        )

    @functools.cached_property
    def downloader(self) -> Downloader:
        """The process's HTTP downloader (per-host limits, the download cache)."""
        from ..fetch.download import Downloader

        return Downloader(max_per_host=self._max_downloads_per_host)

    @functools.cached_property
    def repository(self) -> ChannelRepository:
        """Loaded channel indexes and memoised package metadata."""
        from ..channels.repository import ChannelRepository

        return ChannelRepository(self.downloader, prepare_search_index=self._long_running)

    async def aclose(self) -> None:
        """Close the downloader's connections, if it was ever used."""
        if "downloader" in self.__dict__:
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
        from ..install import publish

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
