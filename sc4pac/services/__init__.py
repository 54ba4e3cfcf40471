"""The long-lived services shared by the daemon's routes, the update job and the CLI."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from ..env_settings import env_number
from ..models.profile import PluginsSpec
from ..notices import notify
from ..ports import ProgressSink
from ..profiles import ProfileStore

if TYPE_CHECKING:
    from ..channels.index import ChannelIndex
    from ..channels.repository import ChannelRepository
    from ..fetch.download import Downloader

log = logging.getLogger(__name__)

METADATA_PER_HOST_ENV = "SC4PAC_METADATA_PER_HOST"
RETRY_DELAY_ENV = "SC4PAC_DOWNLOAD_RETRY_DELAY"


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
        from ..fetch.download import METADATA_PER_HOST, RETRY_DELAY, Downloader

        return Downloader(
            max_per_host=self._max_downloads_per_host,
            max_metadata_per_host=env_number(
                METADATA_PER_HOST_ENV,
                METADATA_PER_HOST,
                parse=int,
                valid=lambda n: n > 0,
                expected="a positive number",
            ),
            # Seconds before the first retry of a failed download, doubling for each further one.
            retry_backoff=env_number(
                RETRY_DELAY_ENV,
                RETRY_DELAY,
                parse=float,
                valid=lambda s: 0 <= s <= 60,
                expected="seconds from 0 to 60",
            ),
        )

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
        """Finish an installation interrupted by a crash, or discard its unjournaled leftovers, and
        delete what killed processes left in the profile's folders (runs in a worker thread; the
        caller must not hold the profile lock)."""
        from ..install import publish
        from ..install.staging_dirs import remove_abandoned

        store = self.store
        journal = store.profile_dir(profile_id) / publish.JOURNAL_FILE
        plugins_root = store.plugins_root(profile_id, spec.config)
        # Usually there is nothing to finish, and looking costs two listings instead of the lock.
        if publish.needs_recovery(plugins_root, journal):
            with store.profile_lock_sync(profile_id):
                report = publish.recover(journal, lambda lock: store.write_lock_sync(profile_id, lock))
                publish.discard_unjournaled_work(plugins_root, journal)
                if report is not None and report.journal_damaged:
                    self._flag_incomplete(profile_id, plugins_root)
        store.clean_leftovers(profile_id)
        remove_abandoned(store.temp_root(profile_id, spec.config))

    def _flag_incomplete(self, profile_id: str, plugins_root: Path) -> None:
        """Mark installed packages with missing files for reinstallation (under the profile lock)."""
        lock = self.store.read_lock(profile_id)
        if lock is None:
            return
        flagged = []
        installed = []
        for entry in lock.installed:
            missing = any(not os.path.lexists(plugins_root / f) for f in entry.files if f.strip("/"))
            if missing and not entry.reinstall:
                entry = msgspec.structs.replace(entry, reinstall=True)
                flagged.append(entry.id)
            installed.append(entry)
        if flagged:
            self.store.write_lock_sync(profile_id, msgspec.structs.replace(lock, installed=installed))
        notify(
            f"An installation in profile {profile_id} was interrupted and its journal was damaged; "
            + (
                f"the next update reinstalls {', '.join(flagged)}."
                if flagged
                else "no installed package is missing files."
            )
        )

    def recover_all(self) -> None:
        """At daemon start: run :meth:`recover_publish` for every initialized profile and delete
        leftovers of killed processes. Nothing here may keep the daemon from starting."""
        try:
            self.store.clean_leftovers()
            entries = self.store.read_profiles().profiles
        except Exception as exc:  # a damaged profile list is reported by every request that needs it
            log.error("Could not read the profile list: %s", exc)
            return
        for entry in entries:
            try:
                if self.store.spec_exists(entry.id):
                    self.recover_publish(entry.id, self.store.read_spec(entry.id))
            except Exception as exc:  # one broken profile must not keep the daemon from starting
                log.error("Could not check profile %s for an interrupted installation: %s", entry.id, exc)
