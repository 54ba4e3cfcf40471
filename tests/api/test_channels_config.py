"""Channel list configuration (the defaults, URL normalisation, refusing a bad URL) and its bad inputs."""

from __future__ import annotations

import httpx
import pytest

from tests.daemon import Daemon

DEFAULTS = [
    "https://memo33.github.io/sc4pac/channel/",
    "https://sc4pac.simtropolis.com/",
    "https://sc4evermore.github.io/sc4pac-channel/channel/",
]


@pytest.fixture(scope="module")
def profile(http: httpx.Client, daemon: Daemon) -> str:
    pid = http.post("/profiles.add", json={"name": "channels"}).json()["id"]
    body = {
        "plugins": str(daemon.profiles_dir / pid / "plugins"),
        "cache": str(daemon.profiles_dir / pid / "cache"),
        "temp": "../temp",
    }
    assert http.post("/profile.init", params={"profile": pid}, json=body).status_code == 200
    return pid


def test_channels_list_and_set(http: httpx.Client, profile: str) -> None:
    q = {"profile": profile}
    assert http.get("/channels.list", params=q).json() == DEFAULTS
    r = http.post("/channels.set", params=q, json=[":::"])
    assert r.status_code == 400
    assert r.json()["title"] == "Malformed channel URLs."
    urls = [
        "https://example.org/channel1",
        "https://example.org/channel2/",
        "https://example.org/channel3.yaml",
        "https://example.org/channel3.yaml",
        "file:///local/channel4/",
        "file:///C:/local/channel5.yaml",
    ]
    assert http.post("/channels.set", params=q, json=urls).status_code == 200
    assert http.get("/channels.list", params=q).json() == [
        "https://example.org/channel1/",
        "https://example.org/channel2/",
        "https://example.org/channel3.yaml",
        "file:///local/channel4/",
        "file:///C:/local/channel5.yaml",
    ]
    assert http.post("/channels.set", params=q, json=[]).status_code == 200
    assert http.get("/channels.list", params=q).json() == DEFAULTS


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{}",
        b'"https://x.org/"',
        b"[1]",
        b"[null]",
        b'["example.org/x"]',
        b'["https://x.org/?q=1"]',
        b'["https://x.org/#f"]',
    ],
)
def test_channels_set_bad_inputs(http: httpx.Client, profile: str, body: bytes) -> None:
    before = http.get("/channels.list", params={"profile": profile}).json()
    r = http.post("/channels.set", params={"profile": profile}, content=body)
    assert r.status_code == 400
    assert r.json()["$type"] == "/error/bad-request"
    assert http.get("/channels.list", params={"profile": profile}).json() == before


def test_channels_of_uninitialized_profile(http: httpx.Client) -> None:
    pid = http.post("/profiles.add", json={"name": "uninit"}).json()["id"]
    assert http.get("/channels.list", params={"profile": pid}).status_code == 409
    assert http.post("/channels.set", params={"profile": pid}, json=[]).status_code == 409
    assert http.get("/channels.list").status_code == 400
