"""Fixtures shared by the download tests: a local HTTP server and a downloader with short retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sc4pac.fetch.download import Downloader
from tests.unit.test_download_server import LocalServer


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A local HTTP server on 127.0.0.1 (modules serving a channel folder override this)."""
    srv = LocalServer().start()
    yield srv
    srv.stop()


@pytest.fixture
async def downloader() -> AsyncIterator[Downloader]:
    """A downloader whose retries wait only 10 ms."""
    async with Downloader(retry_backoff=0.01) as d:
        yield d
