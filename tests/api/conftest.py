"""Fixtures for black-box tests: a real daemon process per test module."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.channel_server import serve_directory
from tests.daemon import SHARED, Daemon, start_daemon

REFERENCE_CHANNEL_JSON = SHARED / "data" / "sc4pac-test-channel" / "json"
REFERENCE_CHANNEL_URL = "http://localhost:8090/"


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


@pytest.fixture
def fresh_daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon of its own for tests that consume the secret or change global state."""
    d = start_daemon(tmp_path / "profiles")
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def reference_channel() -> Iterator[str]:
    """The reference test channel on 127.0.0.1:8090 (its metadata hard-codes that address)."""
    if not REFERENCE_CHANNEL_JSON.is_dir():
        pytest.skip("../shared test channel not available")
    try:
        with serve_directory(REFERENCE_CHANNEL_JSON, port=8090):
            yield REFERENCE_CHANNEL_URL
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            pytest.skip("port 8090 (hard-coded in the test channel) is in use")
        raise


def init_profile(http: httpx.Client, name: str, channels: list[str] | None = None) -> str:
    """Create and initialize a profile (folders inside the profile dir); returns its id."""
    pid = http.post("/profiles.add", json={"name": name}).json()["id"]
    body = {"plugins": "plugins", "cache": "cache", "temp": "../temp"}
    assert http.post("/profile.init", params={"profile": pid}, json=body).status_code == 200
    if channels is not None:
        assert http.post("/channels.set", params={"profile": pid}, json=channels).status_code == 200
    return pid
