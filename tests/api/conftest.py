"""Fixtures for black-box tests: a real daemon process per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.daemon import Daemon, start_daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A daemon on a fresh profiles dir, already authenticated with a desktop token."""
    d = start_daemon(tmp_path_factory.mktemp("profiles"), extra_args=["--indent", "1"])
    try:
        d.authenticate()
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def http(daemon: Daemon) -> Iterator[httpx.Client]:
    with daemon.client() as client:
        yield client


@pytest.fixture()
def fresh_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon of its own for tests that consume the secret or change global state."""
    d = start_daemon(tmp_path / "profiles")
    try:
        yield d
    finally:
        d.stop()
