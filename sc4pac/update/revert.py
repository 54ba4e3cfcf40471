"""RevertJob: return a profile to the state right after an earlier transaction (undo and redo).

It speaks the update protocol: the plan prompt, the warnings prompt, the journaled publish of
:mod:`sc4pac.install.publish`, then the final ``/result``. Package folders kept by earlier transactions
are renamed back into Plugins (the publish journal lists them as ``sources``, so a crash at any point
is completed by the next run); packages whose folders were pruned are staged from the download cache or
downloaded, exactly as an update does. The revert is itself a transaction, so it can be undone too.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import msgspec

from ..errors import PublishedFilesIncomplete, VersionNotFound
from ..history.records import StateSnapshot
from ..history.service import plan_items
from ..install import manifest, publish
from ..install.stage import StageResult
from ..install.staging_dirs import StagingFolder
from ..models.channel import Asset, Package
from ..models.messages import PlanItem, PlanPrompt, Warnings
from ..models.profile import InstalledData, PluginsLock, PluginsSpec, empty_lock
from ..ports import ProgressSink, Prompter
from ..resolve.plan import Plan, installed_identity
from ..resolve.resolution import Resolution, ResolvedPackage
from ..services import Services
from .job import UpdateJob, UpdateRequest, removed_paths
from .metadata import ChannelMetadataProvider
from .prompts import YES_NO

__all__ = ["RevertJob"]


class RevertJob(UpdateJob):
    """One revert of one profile to transaction ``revert_to`` (empty: undo the newest change)."""

    def __init__(
        self,
        services: Services,
        request: UpdateRequest,
        prompter: Prompter,
        progress: ProgressSink,
        revert_to: str,
    ) -> None:
        super().__init__(services, request, prompter, progress)
        self.revert_to = revert_to

    async def _run(self) -> None:
        store = self.services.store
        pid = self.request.profile_id
        spec = store.read_spec(pid)

        def prepare() -> _RestorePlan | None:
            self.services.recover_publish(pid, spec)
            if self.history.unfinished():
                return None  # a killed run to end first (on the loop: it may restore choices)
            return self._restore_plan(spec)

        # Usually one worker hop for everything up to the plan prompt: a revert is mostly
        # bookkeeping, and each hop costs about what renaming ten package folders does.
        restore = await asyncio.to_thread(prepare)
        if restore is None:
            await self.history.recover()
            restore = await asyncio.to_thread(self._restore_plan, spec)
        target, lock, to_remove, staying, to_install, install_items, kept = restore
        await self._confirm(
            PlanPrompt(
                toRemove=plan_items(to_remove),
                toInstall=install_items,
                choices=list(YES_NO),
                token="",
                responses={},
            )
        )
        missing = [e for e in to_install if e.id not in kept]

        plugins_root = store.plugins_root(pid, spec.config)
        # Claimed only when something must be staged: renaming kept folders back needs no staging.
        staging_folder = StagingFolder(store.temp_root(pid, spec.config))
        if missing:
            staging_folder.claim()
        staging = staging_folder.path
        try:
            staged = (
                await self._stage_missing(spec, missing, to_remove, staging, plugins_root, lock)
                if missing
                else {}
            )
            warnings = {p: r.warnings for p, r in staged.items() if r.warnings}
            await self._confirm(Warnings(warnings=warnings, choices=list(YES_NO), token="", responses={}))
            # Strings: the journal stores them so, and hundreds of Path joins cost more than the renames.
            sources: dict[str, str] = {}
            for entry in to_install:
                folder = kept.get(entry.id)
                if folder is not None:
                    base = os.fspath(folder)
                    sources.update((rel, os.path.join(base, rel)) for rel in entry.files if rel.strip("/"))
            new_lock = _restored_lock(target, staged)

            def record_files() -> None:
                # The file records of verify: restaged packages are hashed as an update does;
                # packages renamed back from kept folders get the records set aside when they were
                # removed (re-hashing them would cost what renaming saves).
                manifest.record_packages(
                    store.profile_dir(pid) / manifest.MANIFEST_FILE,
                    plugins_root,
                    {pkg: result.files for pkg, result in staged.items()},
                    [e.id for e in [*to_remove, *to_install]],
                    {e.id: e.files for e in to_install if e.id in kept},
                )

            report = await self._publish_revert(
                plugins_root, staging, to_remove, staged, sources, new_lock, staying, record_files
            )
        finally:
            if missing:
                await asyncio.to_thread(staging_folder.discard)
        await self.history.restore_choices(target)
        if report.failed_paths:
            raise PublishedFilesIncomplete(
                "Failed to correctly restore the following packages (manual intervention needed): "
                f"{', '.join(sorted(set(report.failed_paths)))}.",
                "Some files could not be moved into your Plugins folder. " + " ".join(report.warnings),
            )

    def _restore_plan(self, spec: PluginsSpec) -> _RestorePlan:
        """The target state, the difference to the current lock and where kept folders are; records
        the transaction's beginning (blocking)."""
        target = self.history.state(self.revert_to)
        lock = self.services.store.read_lock(self.request.profile_id) or empty_lock()
        current = [(installed_identity(e), e) for e in lock.installed]
        targeted = [(installed_identity(e), e) for e in target.lock.installed]
        wanted = {key for key, _ in targeted}
        to_remove = [e for key, e in current if key not in wanted]
        staying = [e for key, e in current if key in wanted]
        current_keys = {key for key, _ in current}
        to_install = [e for key, e in targeted if key not in current_keys]
        install_items = plan_items(to_install)
        self._begin_transaction(spec, lock, install_items, to_remove, revert_to=target.id)
        newest_first = list(reversed(self.history.finished_ids()))
        kept = self.history.generations(spec).locate(to_install, newest_first)
        return _RestorePlan(target, lock, to_remove, staying, to_install, install_items, kept)

    async def _stage_missing(
        self,
        spec: PluginsSpec,
        missing: list[InstalledData],
        to_remove: list[InstalledData],
        staging: Path,
        plugins_root: Path,
        lock: PluginsLock,
    ) -> dict[str, StageResult]:
        """Packages without a kept folder: the same version and variant from the channels, staged from
        the download cache (or downloaded) as an update would."""
        pid = self.request.profile_id
        cache_root = self.services.store.cache_root(pid, spec.config)
        index = await self.services.channel_index(pid, spec, progress=self.progress)
        provider = ChannelMetadataProvider(
            self.services.repository, index, spec.config.channels, cache_root, self.progress
        )
        packages: list[ResolvedPackage] = []
        assets: dict[str, Asset] = {}
        for entry in missing:
            package, known_assets = await self._metadata_of(provider, entry)
            resolved = _exact_package(package, entry)
            packages.append(resolved)
            for aid in resolved.asset_ids:
                asset = known_assets.get(aid) or await provider.asset(aid)
                if asset is None:
                    raise VersionNotFound(
                        f"Asset {aid} of {entry.id} is no longer available.",
                        "Its kept folder was pruned and no channel offers the asset any more.",
                    )
                assets.setdefault(aid, asset)
        resolution = Resolution(packages=tuple(packages), assets=tuple(assets.values()))
        plan = Plan(
            install_packages=resolution.packages,
            install_assets=resolution.assets,
            remove_packages=tuple(to_remove),  # their paths are free for the restaged packages
            remove_assets=(),
            reinstall=frozenset(),
            redownload_asset_ids=frozenset(),
        )
        # Staged as the downloads arrive, like an update (the worker stops before this returns).
        self._start_staging_processes(len(plan.install_packages))
        stager = self._staging_pipeline(plan, resolution, provider, staging, plugins_root, lock)
        stager.start()
        try:
            await self._download(plan, provider, cache_root, stager.asset_ready)
            return await self._stage(plan, stager)
        finally:
            await stager.aclose()

    async def _metadata_of(
        self, provider: ChannelMetadataProvider, entry: InstalledData
    ) -> tuple[Package, dict[str, Asset]]:
        """The metadata ``entry`` was installed from: as recorded by its transaction, else the
        channels' latest when it is still that version."""
        recorded = await asyncio.to_thread(self.history.installed_metadata, entry.id, entry.version)
        if recorded is not None:
            return recorded.package, {a.assetId: a for a in recorded.assets}
        package = await provider.package(entry.id)
        if package is None or package.version != entry.version:
            offered = "no version" if package is None else f"only version {package.version}"
            raise VersionNotFound(
                f"{entry.id} {entry.version} is no longer available.",
                f"Its kept folder was pruned and the channels offer {offered}. Run an update instead, "
                "or revert to a more recent transaction.",
            )
        return package, {}

    async def _publish_revert(
        self,
        plugins_root: Path,
        staging: Path,
        to_remove: list[InstalledData],
        staged: dict[str, StageResult],
        sources: dict[str, str],
        new_lock: PluginsLock,
        staying: list[InstalledData],
        then: Callable[[], None],
    ) -> publish.PublishReport:
        """The journaled publish, then ``then`` in the same worker hop."""
        removals = removed_paths(to_remove, staying)
        staged_files = [f for r in staged.values() for f in r.files]
        installs = list(dict.fromkeys([*sources, *staged_files]))

        def work() -> publish.PublishReport:
            plugins_root.mkdir(parents=True, exist_ok=True)
            work_dir = publish.prepare(plugins_root, staging / "plugins", staged_files)
            report = self._journaled_publish(plugins_root, work_dir, removals, installs, new_lock, sources)
            then()
            return report

        return await self._publish_to_the_end(work)


class _RestorePlan(NamedTuple):
    """What a revert changes, worked out before its plan prompt."""

    target: StateSnapshot
    lock: PluginsLock  # the current lock
    to_remove: list[InstalledData]
    staying: list[InstalledData]
    to_install: list[InstalledData]
    install_items: list[PlanItem]
    kept: dict[str, Path]  # packages of ``to_install`` held by kept generations: where


def _exact_package(package: Package, entry: InstalledData) -> ResolvedPackage:
    """``entry``'s package resolved to exactly its recorded variant."""
    for data in package.variants:
        if all(entry.variant.get(k) == v for k, v in data.variant.items()):
            break
    else:
        raise VersionNotFound(
            f"{entry.id} {entry.version} no longer has the variant {entry.variant}.",
            "Its kept folder was pruned. Run an update instead.",
        )
    return ResolvedPackage(package=package, variant=dict(entry.variant), variant_data=data)


def _restored_lock(target: StateSnapshot, staged: dict[str, StageResult]) -> PluginsLock:
    """The target's lock file; restaged packages list the files staged now."""
    installed = []
    for entry in target.lock.installed:
        result = staged.get(entry.id)
        if result is not None and result.files != entry.files:
            entry = msgspec.structs.replace(entry, files=result.files, iniFiles=result.ini_files)
        installed.append(entry)
    return msgspec.structs.replace(target.lock, installed=installed)
