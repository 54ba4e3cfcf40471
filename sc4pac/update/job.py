"""UpdateJob: turn a profile's explicit packages into files in its Plugins folder.

resolve -> plan -> (confirm) -> download -> stage -> (confirm) -> publish. The job talks only to a
:class:`~sc4pac.ports.Prompter` and a :class:`~sc4pac.ports.ProgressSink`, so the websocket and the
terminal drive it alike. Nothing is downloaded before the plan is confirmed and nothing in the Plugins
folder changes before the last confirmation; publishing cannot be cancelled once started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from ..channels.index import ChannelIndex
from ..errors import (
    Aborted,
    DownloadFailed,
    PublishedFilesIncomplete,
    Sc4pacError,
    UpdateAlreadyRunning,
    disk_full,
    find_fixable_os_error,
    is_disk_full,
)
from ..fetch.download import CachedFile
from ..fetch.failures import DownloadFailure, refuse_local_asset
from ..filelock import InterProcessLock
from ..history.service import history_of, outcome_of
from ..install import manifest, publish
from ..install.stage import (
    FetchedAsset,
    StageInput,
    StageResult,
    claimed_paths,
    path_key,
    refuse_claimed,
    stage_package,
)
from ..install.staging_dirs import StagingFolder
from ..models.channel import Asset, Package
from ..models.messages import (
    DownloadFailedSelectMirror,
    Extraction,
    Fraction,
    IniManualEditPrompt,
    InitialArguments,
    InitialArgumentsBody,
    InstallingDlls,
    InstallingScripts,
    MirrorBody,
    PlanItem,
    PlanPrompt,
    Prompt,
    RemoveConflicting,
    RemoveUnresolvable,
    VariantPrompt,
    Warnings,
)
from ..models.profile import LOCK_SCHEME, InstalledData, PluginsLock, PluginsSpec, empty_lock
from ..ports import ProgressSink, Prompter
from ..profiles import UPDATE_LOCK_FILE
from ..resolve.plan import Plan, compute_plan, installed_identity
from ..resolve.resolution import Resolution, ResolvedPackage
from ..resolve.selection import VariantSelection
from ..resolve.session import ConflictAnswer, resolve_interactively
from ..resolve.variants import VariantQuestion
from ..services import Services
from ..wire import opt
from .metadata import ChannelMetadataProvider
from .overlap import STAGING_WORKERS, StagingPipeline, staging_order
from .pipelined import PipelinedProvider
from .prompts import CANCEL, DEFAULT, RETRY, YES, YES_NO, dll_description, scripts_description

if TYPE_CHECKING:
    from ..install.stage_processes import StagingProcesses

log = logging.getLogger(__name__)

LUA_SANDBOX = "memo:lua-sandbox-dll"
ASSET_TTL_WITHOUT_LAST_MODIFIED = 12 * 3600.0
__all__ = ["FAULT_ENV", "UPDATE_LOCK_FILE", "UpdateJob", "UpdateRequest", "upgrade_lock"]
# Fault injection for tests of the error path: an injected error or crash must reach the client as an
# /error/server-error message (values: README, "Environment variables").
FAULT_ENV = "SC4PAC_FAULT_INJECT"


@dataclass(frozen=True)
class UpdateRequest:
    profile_id: str
    simtropolis_token: str | None = None
    refresh_channels: bool = False
    client: str = "gui"  # recorded in the update history: gui, cli or another client's name


def _now() -> str:
    return _instant(datetime.now(UTC).timestamp())


class UpdateJob:
    """One update run of one profile."""

    def __init__(
        self, services: Services, request: UpdateRequest, prompter: Prompter, progress: ProgressSink
    ) -> None:
        self.services = services
        self.request = request
        self.prompter = prompter
        self.progress = progress
        self.simtropolis_token = request.simtropolis_token
        # Undo support (sc4pac.history): the transaction recorded once the plan is reached, and where
        # the package folders it removes are kept.
        self.history = history_of(services.store, request.profile_id)
        self.recorded_transaction = ""
        """The id of this run's history entry, once it reached the plan ("" before, or without history)."""
        self.transaction: str | None = None
        self.keep_dir: Path | None = None
        # The lock file the publish wrote (None until it has): the history records it without
        # reading and decoding it again.
        self.published_lock: PluginsLock | None = None
        # Bytes of each package this run installed, from the install record (for the keep budget).
        self.installed_sizes: dict[str, int] = {}
        # Worker processes for staging a large plan (sc4pac.install.stage_processes), started during the
        # resolution or once the plan is known; their start runs in a thread (the task is kept so that
        # it is not collected).
        self.staging_processes: StagingProcesses | None = None
        self._processes_started: asyncio.Future[None] | None = None

    async def _confirm(self, prompt: Prompt) -> None:
        if await self.prompter.ask(prompt) != YES:
            raise Aborted()

    # --- the run ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the update to completion; raises an Sc4pacError (``Aborted`` for a "No")."""
        # One update per profile across processes (daemon and CLI may share a profiles dir).
        guard = InterProcessLock(self.services.store.profile_dir(self.request.profile_id) / UPDATE_LOCK_FILE)
        if not guard.try_acquire():
            raise UpdateAlreadyRunning(
                "Another update of this profile is still running.",
                "Wait until it has finished (in the GUI or in a terminal running sc4pac), then try again.",
            )
        try:
            await self._run()
        except BaseException as exc:
            await self._end_transaction(exc)
            raise
        else:
            await self._end_transaction(None)
        finally:
            if self.staging_processes is not None:
                self.staging_processes.close()  # nothing is staged any more: the pipeline was closed
            guard.release()

    def _start_staging_processes(self, packages: int) -> None:
        """Start worker processes if ``packages`` packages to install repay their start."""
        # Imported here: multiprocessing is needed by large updates only, not at every daemon start.
        from ..install.stage_processes import StagingProcesses, staging_processes_for

        count = staging_processes_for(packages)
        if count and self.staging_processes is None:
            self.staging_processes = StagingProcesses(count)
            self._processes_started = asyncio.ensure_future(asyncio.to_thread(self.staging_processes.start))

    # --- history hooks (sc4pac.history) -----------------------------------------------------------

    def _begin_transaction(
        self,
        spec: PluginsSpec,
        lock: PluginsLock,
        installed: list[PlanItem],
        removed: Sequence[InstalledData],
        revert_to: str = "",
        plan: Plan | None = None,
    ) -> None:
        """Record that this run reached its plan (blocking; a failure is logged, never raised)."""
        try:
            txid = self.history.begin(
                spec,
                lock,
                client=self.request.client,
                installed=installed,
                removed_entries=removed,
                revert_to=revert_to,
                metadata=installed_metadata(plan) if plan is not None else (),
            )
        except (OSError, Sc4pacError) as exc:  # no history must never mean no update
            log.error("Could not record the update in the profile's history: %s", exc)
            return
        self.transaction = self.recorded_transaction = txid
        self.keep_dir = self.history.generations(spec).folder(txid)

    async def _end_transaction(self, exc: BaseException | None) -> None:
        if self.transaction is None:
            return
        txid, self.transaction = self.transaction, None
        try:
            if isinstance(exc, asyncio.CancelledError):
                # No more awaiting in a cancelled task.
                self.history.finish(
                    txid, outcome_of(exc), lock=self.published_lock, sizes=self.installed_sizes
                )
            else:
                await asyncio.to_thread(
                    self.history.finish,
                    txid,
                    outcome_of(exc),
                    lock=self.published_lock,
                    sizes=self.installed_sizes,
                )
        except (OSError, Sc4pacError) as error:  # the update's own outcome stands
            log.error("Could not record the end of update %s in the profile's history: %s", txid, error)

    async def _run(self) -> None:
        if os.environ.get(FAULT_ENV) == "update-start":
            raise RuntimeError("injected error at the start of the update")
        store = self.services.store
        pid = self.request.profile_id
        spec = store.read_spec(pid)
        await asyncio.to_thread(self.services.recover_publish, pid, spec)
        await self.history.recover()
        config = spec.config
        cache_root = store.cache_root(pid, config)
        index = await self.services.channel_index(
            pid, spec, refresh=self.request.refresh_channels, progress=self.progress
        )

        arguments: InitialArgumentsBody = await self.prompter.ask(
            InitialArguments(choices=[DEFAULT], token="", responses={})
        )
        selection = VariantSelection.from_imports(config.variant, arguments.importedSelections)

        lock = store.read_lock(pid)
        if lock is None:
            async with store.profile_lock(pid):
                lock = store.read_lock(pid)
                if lock is None:
                    lock = empty_lock()
                    await asyncio.to_thread(store.write_lock_sync, pid, lock)
        elif lock.scheme < LOCK_SCHEME:
            lock = upgrade_lock(lock, index, store.plugins_root(pid, config))
        started_lock = lock
        # Explicit packages not installed yet will be installed (with their dependencies): if they are
        # many, the workers start now, during the resolution, instead of when the plan is known.
        installed_ids = {entry.id for entry in lock.installed}
        self._start_staging_processes(sum(1 for pkg_id in set(spec.explicit) if pkg_id not in installed_ids))

        provider = ChannelMetadataProvider(
            self.services.repository, index, config.channels, cache_root, self.progress
        )
        pipelined = PipelinedProvider(provider, selection, self.progress)
        try:
            # The pkg.json files go to the download cache once the plan is known (while it is read).
            async with self.services.downloader.metadata_writes_deferred():
                resolution, explicit = await resolve_interactively(
                    spec.explicit,
                    selection,
                    pipelined,
                    self._ask_variant,
                    self._ask_remove_unresolvable,
                    self._ask_remove_conflicting,
                )
        finally:
            await pipelined.aclose()
        plan = compute_plan(resolution, lock)
        if not plan.up_to_date:
            self._start_staging_processes(len(plan.install_packages))
            await asyncio.to_thread(
                self._begin_transaction,
                spec,
                started_lock,
                plan.to_install_items(),
                plan.remove_packages,
                "",
                plan,
            )
        await self._confirm(
            PlanPrompt(
                toRemove=plan.to_remove_items(),
                toInstall=plan.to_install_items(),
                choices=list(YES_NO),
                token="",
                responses={},
            )
        )
        await self._save_choices(spec, selection, explicit)
        if plan.up_to_date:
            return

        staging_folder = StagingFolder(store.temp_root(pid, config)).claim()
        staging = staging_folder.path
        # Staging overlaps the downloads (into the private staging folder only); the Extraction
        # messages still follow the last download.
        stager = self._staging_pipeline(
            plan, resolution, provider, staging, store.plugins_root(pid, config), lock
        )
        try:
            stager.start()
            await self._download(plan, provider, cache_root, stager.asset_ready)
            results = await self._stage(plan, stager)
            await self._confirm_installation(results, resolution)
            report = await self._publish(
                plan, results, started_lock, staging, store.plugins_root(pid, config)
            )
        finally:
            await stager.aclose()
            await asyncio.to_thread(staging_folder.discard)
        self.installed_sizes = await asyncio.to_thread(
            manifest.record_packages,
            store.profile_dir(pid) / manifest.MANIFEST_FILE,
            store.plugins_root(pid, config),
            {pkg: result.files for pkg, result in results.items()},
            [entry.id for entry in plan.remove_packages],
            known={rel: record for result in results.values() for rel, record in result.records.items()},
        )
        if report.failed_paths:
            raise PublishedFilesIncomplete(
                "Failed to correctly install the following packages (manual intervention needed): "
                f"{', '.join(sorted(set(report.failed_paths)))}.",
                "Some files could not be copied into your Plugins folder. " + " ".join(report.warnings),
            )
        ini_edits = [edit for r in results.values() for edit in r.ini_edits]
        if ini_edits:
            await self.prompter.ask(
                IniManualEditPrompt(iniFiles=ini_edits, choices=[YES], token="", responses={})
            )

    # --- resolution callbacks ---------------------------------------------------------------------

    async def _ask_variant(self, q: VariantQuestion) -> str:
        prompt = VariantPrompt(
            package=q.package,
            variantId=q.variant_id,
            choices=list(q.choices),
            info=q.info,
            previouslySelectedValue=opt(q.previously_selected),
            importedValues=list(q.imported_values),
            token="",
            responses={},
        )
        choice: str = await self.prompter.ask(prompt)  # the prompters return one of prompt.choices
        return choice

    async def _ask_remove_unresolvable(self, packages: list[str]) -> bool:
        prompt = RemoveUnresolvable(packages=packages, choices=list(YES_NO), token="", responses={})
        answer: str = await self.prompter.ask(prompt)
        return answer == YES

    async def _ask_remove_conflicting(
        self, conflict: tuple[str, str], explicit1: list[str], explicit2: list[str]
    ) -> ConflictAnswer:
        prompt = RemoveConflicting(
            conflict=conflict,
            explicitPackages=(explicit1, explicit2),
            choices=["1", "2", CANCEL],
            token="",
            responses={},
        )
        answer: ConflictAnswer = await self.prompter.ask(prompt)
        return answer

    async def _save_choices(
        self, spec: PluginsSpec, selection: VariantSelection, explicit: list[str]
    ) -> None:
        """Persist confirmed variant answers and dropped packages (only after the plan is confirmed)."""
        dropped = set(spec.explicit) - set(explicit)
        if not selection.current and not dropped:
            return

        def change(on_disk: PluginsSpec) -> PluginsSpec | None:
            # Merge into what is on disk now, so packages added meanwhile are kept.
            variant = {**on_disk.config.variant, **selection.current}
            remaining = [p for p in on_disk.explicit if p not in dropped]
            if variant == on_disk.config.variant and remaining == on_disk.explicit:
                return None
            config = msgspec.structs.replace(on_disk.config, variant=variant)
            return msgspec.structs.replace(on_disk, config=config, explicit=remaining)

        await self.services.store.modify_spec(self.request.profile_id, change)

    # --- downloads --------------------------------------------------------------------------------

    async def _download(
        self,
        plan: Plan,
        provider: ChannelMetadataProvider,
        cache_root: Path,
        on_fetched: Callable[[str, FetchedAsset], None] | None = None,
    ) -> dict[str, FetchedAsset]:
        """Fetch every asset of the plan, offering a mirror for failed downloads.

        ``on_fetched`` hears of each asset as soon as it is in the cache.
        """
        mirrored: set[str] = set()
        assets = _download_order(plan)
        for asset in assets:
            refuse_local_asset(
                asset.url, provider.metadata_url(f"sc4pacAsset:{asset.assetId}", asset.version)
            )
        forced = plan.redownload_asset_ids
        while True:
            try:
                async with asyncio.TaskGroup() as group:
                    tasks = {
                        a.assetId: group.create_task(
                            self._fetched_asset(a, provider, cache_root, a.assetId in forced, on_fetched)
                        )
                        for a in assets
                    }
                return {asset_id: task.result() for asset_id, task in tasks.items()}
            except* DownloadFailed as group_error:
                failure = group_error.exceptions[0]
                if not isinstance(failure, DownloadFailure) or failure.url is None or failure.url in mirrored:
                    raise failure from None
                answer: MirrorBody = await self.prompter.ask(
                    DownloadFailedSelectMirror(
                        url=failure.url,
                        reason=failure.to_wire(),
                        promptForSimtropolisToken=failure.prompt_for_simtropolis_token,
                        choices=[RETRY, CANCEL],
                        token="",
                        responses={},
                    )
                )
                if not answer.retry:
                    raise failure from None
                if answer.simtropolisToken:
                    self.simtropolis_token = answer.simtropolisToken[0]
                if answer.localMirror:
                    mirrored.add(failure.url)
                    await self.services.downloader.copy_local_mirror(
                        failure.url, Path(answer.localMirror[0]), cache_root
                    )
                # A retry reuses what is cached by now, including files re-downloaded in the first round.
                forced = frozenset()
            except* Sc4pacError as group_error:  # e.g. a full disk: no mirror can help
                raise group_error.exceptions[0] from None

    async def _fetched_asset(
        self,
        asset: Asset,
        provider: ChannelMetadataProvider,
        cache_root: Path,
        force: bool,
        on_fetched: Callable[[str, FetchedAsset], None] | None,
    ) -> FetchedAsset:
        cached = await self._fetch_asset(asset, cache_root, force)
        fetched = FetchedAsset(
            asset=asset,
            path=cached.path,
            content_disposition_name=cached.filename,
            metadata_url=provider.metadata_url(f"sc4pacAsset:{asset.assetId}", asset.version),
        )
        if on_fetched is not None:
            on_fetched(asset.assetId, fetched)
        return fetched

    async def _fetch_asset(self, asset: Asset, cache_root: Path, force: bool) -> CachedFile:
        return await self.services.downloader.fetch(
            asset.url,
            cache_root=cache_root,
            changing_ttl=None if asset.lastModified else ASSET_TTL_WITHOUT_LAST_MODIFIED,
            last_modified=asset.lastModified,
            expected_sha256=asset.checksum.sha256 or None,
            force=force,
            progress=self.progress,
            simtropolis_token=self.simtropolis_token,
        )

    # --- staging ----------------------------------------------------------------------------------

    def _staging_pipeline(
        self,
        plan: Plan,
        resolution: Resolution,
        provider: ChannelMetadataProvider,
        staging: Path,
        plugins_root: Path,
        lock: PluginsLock,
    ) -> StagingPipeline:
        previous_inis = [ini for entry in lock.installed for ini in entry.iniFiles]
        resolved_ids = frozenset(p.id for p in resolution.packages)
        by_id = {rp.id: rp for rp in plan.install_packages}
        metadata_urls = {rp.id: provider.metadata_url(rp.id, rp.version) for rp in plan.install_packages}
        # Who owns which path after this update: packages that stay, then each package committed so
        # far (in staging order). A package staged while an earlier one still runs may miss that one's
        # files, so each result is checked again when it is committed.
        claimed = claimed_paths({e.id: e.files for e in plan.kept_lock_packages(lock)})
        claims = threading.Lock()  # the worker threads copy it while the event loop commits
        processes = self.staging_processes
        # Each package unpacks nested archives into a folder of its own, so that packages sharing an
        # asset can be staged at the same time.
        position = {rp.id: n for n, rp in enumerate(plan.install_packages)}

        def stage(pkg_id: str, fetched: Mapping[str, FetchedAsset]) -> StageResult:
            rp = by_id[pkg_id]
            with claims:
                known = dict(claimed)
            inp = StageInput(
                package=rp.package,
                variant=rp.variant,
                package_metadata_url=metadata_urls[pkg_id],
                assets=dict(fetched),
                staging_plugins=staging / "plugins",
                nested_dir=staging / "nested" / str(position[pkg_id]),
                plugins_root=plugins_root,
                previous_ini_files=previous_inis,
                resolved_package_ids=resolved_ids,
                claimed=known,
            )
            return stage_package(inp) if processes is None else processes.stage(inp)

        def commit(pkg_id: str, result: StageResult) -> None:
            with claims:
                for rel in result.files:
                    refuse_claimed(claimed, pkg_id, rel)
                for rel in result.files:
                    claimed.setdefault(path_key(rel), pkg_id)

        download_ids = [a.assetId for a in _download_order(plan)]
        order = staging_order([(rp.id, rp.asset_ids) for rp in plan.install_packages], download_ids)
        # With worker processes, each staging thread waits for one of them.
        workers = STAGING_WORKERS if processes is None else max(STAGING_WORKERS, processes.count)
        return StagingPipeline(order, stage, commit, workers=workers)

    async def _stage(self, plan: Plan, stager: StagingPipeline) -> dict[str, StageResult]:
        """Report the staging of each package in plan order (most are staged during the downloads)."""
        total = len(plan.install_packages)
        results: dict[str, StageResult] = {}
        for n, rp in enumerate(plan.install_packages, start=1):
            self.progress.emit(Extraction(package=rp.id, progress=Fraction(numerator=n, denominator=total)))
            results[rp.id] = await stager.result(rp.id)
        return results

    async def _confirm_installation(self, results: dict[str, StageResult], resolution: Resolution) -> None:
        warnings = {pid: r.warnings for pid, r in results.items() if r.warnings}
        await self._confirm(Warnings(warnings=warnings, choices=list(YES_NO), token="", responses={}))
        dlls = [d for r in results.values() for d in r.dlls]
        if dlls:
            await self._confirm(
                InstallingDlls(
                    description=dll_description(len(dlls)),
                    dllsInstalled=dlls,
                    choices=list(YES_NO),
                    token="",
                    responses={},
                )
            )
        scripts = [s for r in results.values() for s in r.scripts]
        if scripts:
            sandbox = resolution.package(LUA_SANDBOX) is not None
            await self._confirm(
                InstallingScripts(
                    description=scripts_description(len(scripts), sandbox),
                    scriptsInstalled=scripts,
                    luaSandboxInstalled=sandbox,
                    choices=list(YES_NO),
                    token="",
                    responses={},
                )
            )

    # --- publishing -------------------------------------------------------------------------------

    def _next_lock(
        self, plan: Plan, results: dict[str, StageResult], started: PluginsLock, on_disk: PluginsLock
    ) -> PluginsLock:
        now = _now()
        previous_by_id = {e.id: e for e in started.installed}
        kept = plan.kept_lock_packages(started)
        # Flags set while this update ran (e.g. /plugins.reinstall) survive for packages it did not touch.
        flagged = {installed_identity(e) for e in on_disk.installed if e.reinstall}
        installed = [msgspec.structs.replace(e, reinstall=installed_identity(e) in flagged) for e in kept]
        for rp in plan.install_packages:
            result = results[rp.id]
            previous = previous_by_id.get(rp.id)
            installed.append(_installed_entry(rp, result, previous.installedAt if previous else now, now))
        assets = [msgspec.structs.replace(a, requiredBy=[]) for a in plan.next_lock_assets(started)]
        redownload = [p for p in on_disk.redownload if p not in started.redownload]
        return PluginsLock(scheme=LOCK_SCHEME, installed=installed, assets=assets, redownload=redownload)

    async def _publish(
        self,
        plan: Plan,
        results: dict[str, StageResult],
        started: PluginsLock,
        staging: Path,
        plugins_root: Path,
    ) -> publish.PublishReport:
        store = self.services.store
        pid = self.request.profile_id
        removals = removed_paths(plan.remove_packages, plan.kept_lock_packages(started))
        installs = [f for r in results.values() for f in r.files]

        def work() -> publish.PublishReport:
            on_disk = store.read_lock(pid) or started
            new_lock = self._next_lock(plan, results, started, on_disk)
            plugins_root.mkdir(parents=True, exist_ok=True)
            try:
                work_dir = publish.prepare(plugins_root, staging / "plugins", installs)
            except OSError as exc:
                found = find_fixable_os_error(exc)
                if found is not None and is_disk_full(found):
                    # Temp on another drive: the staged files are copied, so all of them must fit.
                    # Their sizes were recorded as they were written (no walk of the staged tree
                    # before every publish just for this message).
                    staged = sum(rec.size for result in results.values() for rec in result.records.values())
                    raise disk_full(found, needed=staged or _tree_size(staging / "plugins")) from exc
                raise
            return self._journaled_publish(plugins_root, work_dir, removals, installs, new_lock)

        return await self._publish_to_the_end(work)

    def _journaled_publish(
        self,
        plugins_root: Path,
        work_dir: Path,
        removals: list[str],
        installs: list[str],
        new_lock: PluginsLock,
        sources: Mapping[str, str] | None = None,
    ) -> publish.PublishReport:
        """The journaled publish into this profile, keeping removed folders for undo (blocking)."""
        store = self.services.store
        pid = self.request.profile_id
        report = publish.publish(
            store.profile_dir(pid) / publish.JOURNAL_FILE,
            plugins_root,
            work_dir,
            removals,
            installs,
            new_lock,
            lambda lock: store.write_lock_sync(pid, lock),
            sources=sources,
            keep_dir=self.keep_dir,
        )
        self.published_lock = new_lock
        return report

    async def _publish_to_the_end(self, work: Callable[[], publish.PublishReport]) -> publish.PublishReport:
        """Run ``work`` (a journaled publish) in a worker under the profile's lock, to its end."""
        async with self.services.store.profile_lock(self.request.profile_id):
            task = asyncio.ensure_future(asyncio.to_thread(work))
            try:
                # Shielded: a closed socket must not leave the Plugins folder half-published.
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                await asyncio.wait({task})  # the publish runs to its end before the job stops
                raise


def removed_paths(leaving: Sequence[InstalledData], staying: Sequence[InstalledData]) -> list[str]:
    """The lock paths of the packages ``leaving``, except those a package ``staying`` also lists
    (possible in locks written before collisions were refused): those are never deleted."""
    owned = {path_key(f) for e in staying for f in e.files}
    return [f for entry in leaving for f in entry.files if path_key(f) not in owned]


def installed_metadata(plan: Plan) -> list[tuple[Package, list[Asset]]]:
    """The channel metadata of each package the plan installs, with the assets of its variant."""
    assets = {a.assetId: a for a in plan.install_assets}
    return [(rp.package, [assets[a] for a in rp.asset_ids if a in assets]) for rp in plan.install_packages]


def upgrade_lock(lock: PluginsLock, index: ChannelIndex, plugins_root: Path) -> PluginsLock:
    """A scheme-1 lock in the current scheme: summaries and categories from the channels, timestamps
    from the package folders (written with the next lock update)."""
    installed = []
    for entry in lock.installed:
        item = index.item(entry.id)
        if item is not None:
            folder = next((plugins_root / f for f in entry.files if (plugins_root / f).is_dir()), None)
            stamp = _now() if folder is None else _instant(folder.stat().st_mtime)
            entry = msgspec.structs.replace(
                entry, summary=item.summary, category=item.category, installedAt=stamp, updatedAt=stamp
            )
        installed.append(entry)
    return msgspec.structs.replace(lock, scheme=LOCK_SCHEME, installed=installed)


def _download_order(plan: Plan) -> list[Asset]:
    # The order downloads are queued in (the reference's); staging follows it.
    return list(reversed(plan.install_assets))


def _instant(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _installed_entry(rp: ResolvedPackage, result: StageResult, installed_at: str, now: str) -> InstalledData:
    pkg = rp.package
    return InstalledData(
        group=pkg.group,
        name=pkg.name,
        variant=dict(rp.variant),
        version=pkg.version,
        files=result.files,
        summary=pkg.info.summary,
        category=opt(pkg.category),
        installedAt=installed_at,
        updatedAt=now,
        iniFiles=result.ini_files,
    )


def _tree_size(folder: Path) -> int:
    """Bytes of the regular files below ``folder`` (what copying it to another drive needs)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
