"""Fixtures for black-box tests: a real daemon process per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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
def reference_channel() -> str:
    """The reference test channel on 127.0.0.1:8090, served for the whole run by tests/conftest.py."""
    if not REFERENCE_CHANNEL_JSON.is_dir():
        pytest.skip("../shared test channel not available")
    contents = "sc4pac-channel-contents.json"
    try:
        served = httpx.get(f"http://127.0.0.1:8090/{contents}", timeout=10).content
    except httpx.HTTPError as exc:
        pytest.skip(f"the reference test channel is not served on port 8090: {exc!r}")
    if served != (REFERENCE_CHANNEL_JSON / contents).read_bytes():
        pytest.skip("port 8090 (hard-coded in the test channel) is used by another program")
    return REFERENCE_CHANNEL_URL


def init_profile(http: httpx.Client, name: str, channels: list[str] | None = None) -> str:
    """Create and initialize a profile (folders inside the profile dir); returns its id."""
    pid = http.post("/profiles.add", json={"name": name}).json()["id"]
    body = {"plugins": "plugins", "cache": "cache", "temp": "../temp"}
    assert http.post("/profile.init", params={"profile": pid}, json=body).status_code == 200
    if channels is not None:
        assert http.post("/channels.set", params={"profile": pid}, json=channels).status_code == 200
    return pid
