"""Staging that overlaps the downloads: each package is staged as soon as all of its assets are cached.

One worker thread stages packages one at a time (bounded, so the event loop and ``/server.status``
stay responsive) into the job's private staging folder; the real Plugins folder is only read. The
order is fixed from the plan before any download starts (the order the downloads are queued in), so
two runs stage alike whatever the network does. Results are handed out per package; the job reports
``Extraction`` messages only after the last download, so the GUI sees today's message order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..install.stage import FetchedAsset, StageResult

log = logging.getLogger(__name__)

StageFunction = Callable[[str, Mapping[str, FetchedAsset]], StageResult]


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

    def __init__(self, order: Sequence[tuple[str, Sequence[str]]], stage: StageFunction) -> None:
        self._order = [(pkg_id, tuple(asset_ids)) for pkg_id, asset_ids in order]
        self._stage = stage
        self._fetched: dict[str, FetchedAsset] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self._results: dict[str, asyncio.Future[StageResult]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the worker (in the running event loop)."""
        loop = asyncio.get_running_loop()
        self._results = {pkg_id: loop.create_future() for pkg_id, _ in self._order}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sc4pac-stage")
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
            # A package being staged right now finishes first: the caller deletes the folder next.
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
        for pkg_id, asset_ids in self._order:
            future = self._results[pkg_id]
            try:
                for asset_id in asset_ids:
                    await self._event(asset_id).wait()
                fetched = {a: self._fetched[a] for a in asset_ids}
                result: Any = await loop.run_in_executor(self._executor, self._stage, pkg_id, fetched)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reported when the job gets to this package
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)
