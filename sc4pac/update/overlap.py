"""Staging that overlaps the downloads: each package is staged as soon as all of its assets are cached.

Two worker threads stage packages (bounded, so the event loop and ``/server.status`` stay responsive)
into the job's private staging folder; the real Plugins folder is only read. Two, because creating a
file costs a disk round trip that a second thread overlaps (measured: 2 threads create files in two
folders about twice as fast as one; more add little). For a large plan each thread hands its package to
a worker process (:mod:`sc4pac.install.stage_processes`), and there is one thread per process. Packages
that share an asset may be staged at the same time: each unpacks nested archives into its own folder.

The order is fixed from the plan before any download starts (the order the downloads are queued in),
and results are *committed* in that order on the event loop, so two runs stage alike whatever the
network and the threads do: the commit step sees every earlier package's result (the job uses it to
refuse files another package already owns). Results are handed out per package; the job reports
``Extraction`` messages only after the last download, so the GUI sees today's message order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..install.stage import FetchedAsset, StageResult

log = logging.getLogger(__name__)

StageFunction = Callable[[str, Mapping[str, FetchedAsset]], StageResult]  # in a worker thread
CommitFunction = Callable[[str, StageResult], None]  # on the event loop, in staging order; may raise
STAGING_WORKERS = 2


def staging_order(
    packages: Sequence[tuple[str, Sequence[str]]], download_order: Sequence[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """``packages`` (id, asset ids) sorted by when their last asset is queued for download.

    Ties keep the plan order; assets not being downloaded are left out of a package's wait list.
    """
    position = {asset_id: n for n, asset_id in enumerate(download_order)}
    keyed = []
    for index, (pkg_id, asset_ids) in enumerate(packages):
        waits = tuple(a for a in dict.fromkeys(asset_ids) if a in position)
        keyed.append((max((position[a] for a in waits), default=-1), index, pkg_id, waits))
    keyed.sort()
    return [(pkg_id, waits) for _, _, pkg_id, waits in keyed]


class StagingPipeline:
    """Stages packages in a fixed order as their assets arrive (:meth:`asset_ready`)."""

    def __init__(
        self,
        order: Sequence[tuple[str, Sequence[str]]],
        stage: StageFunction,
        commit: CommitFunction | None = None,
        *,
        workers: int = STAGING_WORKERS,
    ) -> None:
        self._order = [(pkg_id, tuple(asset_ids)) for pkg_id, asset_ids in order]
        self._stage = stage
        self._commit = commit
        self._workers = workers
        self._fetched: dict[str, FetchedAsset] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self._results: dict[str, asyncio.Future[StageResult]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start staging (in the running event loop)."""
        loop = asyncio.get_running_loop()
        self._results = {pkg_id: loop.create_future() for pkg_id, _ in self._order}
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="sc4pac-stage")
        self._worker = asyncio.ensure_future(self._work())

    def asset_ready(self, asset_id: str, fetched: FetchedAsset) -> None:
        """An asset is in the cache; the first report wins (a retry round reports it again)."""
        if asset_id not in self._fetched:
            self._fetched[asset_id] = fetched
            self._event(asset_id).set()

    async def result(self, pkg_id: str) -> StageResult:
        """The staging result of ``pkg_id`` (raises its staging error)."""
        return await asyncio.shield(self._results[pkg_id])

    async def aclose(self) -> None:
        """Stop staging; returns once no thread writes into the staging folder any more."""
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            await asyncio.wait({self._worker})
        if self._executor is not None:
            executor, self._executor = self._executor, None
            # Packages being staged right now finish first: the caller deletes the folder next.
            shutdown = asyncio.get_running_loop().run_in_executor(None, executor.shutdown, True)
            try:
                await asyncio.shield(shutdown)
            except asyncio.CancelledError:
                await asyncio.wait({shutdown})
                raise
        for future in self._results.values():
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: an unused failure is not worth a log line
            elif not future.done():
                future.cancel()

    def _event(self, asset_id: str) -> asyncio.Event:
        event = self._ready.get(asset_id)
        if event is None:
            event = self._ready[asset_id] = asyncio.Event()
        return event

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        free = asyncio.Semaphore(self._workers)
        previous: asyncio.Future[None] | None = None  # the commit of the package before
        running: list[asyncio.Task[None]] = []
        try:
            for pkg_id, asset_ids in self._order:
                for asset_id in asset_ids:
                    await self._event(asset_id).wait()
                await free.acquire()
                committed: asyncio.Future[None] = loop.create_future()
                running.append(asyncio.ensure_future(self._one(pkg_id, asset_ids, free, previous, committed)))
                previous = committed
            await asyncio.gather(*running)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)
            raise

    async def _one(
        self,
        pkg_id: str,
        asset_ids: tuple[str, ...],
        free: asyncio.Semaphore,
        previous: asyncio.Future[None] | None,
        committed: asyncio.Future[None],
    ) -> None:
        loop = asyncio.get_running_loop()
        future = self._results[pkg_id]
        try:
            outcome: StageResult | Exception
            try:
                fetched = {a: self._fetched[a] for a in asset_ids}
                outcome = await loop.run_in_executor(self._executor, self._stage, pkg_id, fetched)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reported when the job gets to this package
                outcome = exc
            finally:
                free.release()
            if previous is not None:
                await previous  # commits happen in staging order
            if self._commit is not None and not isinstance(outcome, Exception):
                try:
                    self._commit(pkg_id, outcome)
                except Exception as exc:  # e.g. a file an earlier package owns
                    outcome = exc
            if not future.done():
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
        finally:
            if not committed.done():
                committed.set_result(None)
