"""The long-lived services shared by the daemon's routes, the update job and the CLI."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import msgspec

from .channels.index import ChannelIndex
from .channels.repository import ChannelRepository
from .fetch.download import Downloader
from .install import publish
from .install.staging_dirs import remove_abandoned
from .models.profile import PluginsSpec
from .notices import notify
from .ports import ProgressSink
from .profiles import ProfileStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Profile files, downloads and loaded channels of one process."""

    store: ProfileStore
    downloader: Downloader
    repository: ChannelRepository

    @classmethod
    def create(cls, profiles_dir: Path, *, max_downloads_per_host: int = 2) -> Services:
        downloader = Downloader(max_per_host=max_downloads_per_host)
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
        """Finish an installation interrupted by a crash, or discard its unjournaled leftovers, and
        delete what killed processes left in the profile's folders (runs in a worker thread; the
        caller must not hold the profile lock)."""
        store = self.store
        journal = store.profile_dir(profile_id) / publish.JOURNAL_FILE
        plugins_root = store.plugins_root(profile_id, spec.config)
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
