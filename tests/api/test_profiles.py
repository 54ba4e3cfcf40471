"""Settings round-trip; adding, switching, renaming, removing and initializing profiles; their bad inputs."""

from __future__ import annotations

import json

import httpx

from tests.daemon import Daemon

OK = {"$type": "/result", "ok": True}
DEFAULT_CHANNELS = [
    "https://memo33.github.io/sc4pac/channel/",
    "https://sc4pac.simtropolis.com/",
    "https://sc4evermore.github.io/sc4pac-channel/channel/",
]


def test_settings(http: httpx.Client) -> None:
    assert http.get("/settings.all.get").json() == {}
    value = {"a": 1, "b": {"c": 3, "d": [4, 5]}}
    r = http.post("/settings.all.set", json=value)
    assert r.status_code == 200
    assert r.json() == OK
    assert http.get("/settings.all.get").json() == value
    for bad in (b"", b"{", b"nope"):
        r = http.post("/settings.all.set", content=bad)
        assert r.status_code == 400
        assert r.json()["$type"] == "/error/bad-request"
    assert http.get("/settings.all.get").json() == value


def test_profiles_scenario(http: httpx.Client, daemon: Daemon) -> None:
    listing = http.get("/profiles.list").json()
    assert listing == {"profiles": [], "currentProfileId": [], "profilesDir": str(daemon.profiles_dir)}

    name1 = "Test-Profile 🐛 1234"
    assert http.post("/profiles.add", json={"name": name1}).json() == {"id": "1", "name": name1}
    listing = http.get("/profiles.list").json()
    assert listing["profiles"] == [{"id": "1", "name": name1}]
    assert listing["currentProfileId"] == ["1"]
    assert http.post("/profiles.add", json={"name": name1 + "~"}).json() == {"id": "2", "name": name1 + "~"}
    assert http.get("/profiles.list").json()["currentProfileId"] == ["2"]

    before = http.get("/profiles.list").json()
    r = http.post("/profiles.switch", json={"id": "42"})
    assert r.status_code == 400
    assert r.json()["title"] == 'Profile ID "42" does not exist.'
    assert http.get("/profiles.list").json() == before
    assert http.post("/profiles.switch", json={"id": "1"}).json() == OK
    assert http.get("/profiles.list").json()["currentProfileId"] == ["1"]
    listing = http.get("/profiles.list?includePlugins").json()
    assert all("pluginsRoot" not in p for p in listing["profiles"])

    assert http.post("/profiles.rename", json={"id": "42", "name": "x"}).status_code == 400
    assert http.post("/profiles.rename", json={"id": "2", "name": "Profile2-Renamed"}).json() == OK
    assert {"id": "2", "name": "Profile2-Renamed"} in http.get("/profiles.list").json()["profiles"]

    assert http.post("/profiles.remove", json={"id": "42"}).status_code == 400
    sub = daemon.profiles_dir / "2" / "subfolder"
    sub.mkdir(parents=True)
    r = http.post("/profiles.remove", json={"id": "2"})
    assert r.status_code == 500
    assert r.json()["$type"] == "/error/file-access-denied"
    assert sub.exists()
    sub.rmdir()
    assert http.post("/profiles.remove", json={"id": "2"}).json() == OK
    assert [p["id"] for p in http.get("/profiles.list").json()["profiles"]] == ["1"]
    assert not (daemon.profiles_dir / "2").exists()
    assert daemon.profiles_dir.exists()

    # Profile 1 (current) is not initialized yet.
    r = http.get("/profile.read", params={"profile": "1"})
    assert r.status_code == 409
    body = r.json()
    assert body["$type"] == "/error/profile-not-initialized"
    assert set(body["platformDefaults"]) == {"plugins", "cache", "temp"}
    assert body["platformDefaults"]["plugins"]
    assert body["platformDefaults"]["cache"]

    init = {
        "plugins": str(daemon.profiles_dir / "1" / "plugins"),
        "cache": str(daemon.profiles_dir / "1" / "cache"),
        "temp": "../temp",
    }
    r = http.post("/profile.init", params={"profile": "1"}, json=init)
    expected = {
        "pluginsRoot": "plugins",
        "cacheRoot": "cache",
        "tempRoot": "../temp",
        "variant": {},
        "channels": DEFAULT_CHANNELS,
    }
    assert r.status_code == 200
    assert r.json() == expected
    assert (daemon.profiles_dir / "1" / "plugins").is_dir()
    assert (daemon.profiles_dir / "1" / "cache").is_dir()
    r = http.post("/profile.init", params={"profile": "1"}, json=init)
    assert r.status_code == 409
    assert r.json()["$type"] == "/error/init/not-allowed"
    assert http.get("/profile.read", params={"profile": "1"}).json() == expected
    listing = http.get("/profiles.list", params={"includePlugins": ""}).json()
    assert any(p.get("pluginsRoot") for p in listing["profiles"])

    # On-disk formats are the reference's: indent 2, Option arrays, no trailing newline.
    raw = (daemon.profiles_dir / "sc4pac-profiles.json").read_text("utf-8")
    assert not raw.endswith("\n")
    assert '\n  "profiles": [' in raw
    spec = json.loads((daemon.profiles_dir / "1" / "sc4pac-plugins.json").read_text("utf-8"))
    assert spec == {"config": expected, "explicit": []}


def test_profile_bad_inputs(http: httpx.Client, daemon: Daemon) -> None:
    r = http.get("/profile.read")
    assert r.status_code == 400
    assert r.json()["title"] == 'URL query parameter "profile" is required.'
    for bad_id in ("../x", "..", "a/b", "a\\b", "", "C:", " 1"):
        r = http.get("/profile.read", params={"profile": bad_id})
        assert r.status_code == 400, bad_id
        assert r.json()["$type"] == "/error/bad-request"
        r = http.post(
            "/profile.init", params={"profile": bad_id}, json={"plugins": "p", "cache": "c", "temp": "t"}
        )
        assert r.status_code == 400, bad_id
    assert not (daemon.profiles_dir.parent / "x").exists()
    r = http.post("/profile.init", params={"profile": "77"}, json={"plugins": "p", "cache": "c", "temp": "t"})
    assert r.status_code == 400
    assert not (daemon.profiles_dir / "77").exists()
    for body in (b"", b"{}", b'{"plugins": 1, "cache": "c", "temp": "t"}', b"[", b'"str"'):
        r = http.post("/profile.init", params={"profile": "5"}, content=body)
        assert r.status_code == 400
        assert r.json()["$type"] == "/error/init/bad-request"
        assert r.json()["platformDefaults"]["plugins"]
    for endpoint, body in (
        ("/profiles.add", b"{}"),
        ("/profiles.add", b'{"name": 5}'),
        ("/profiles.add", b"not json"),
        ("/profiles.switch", b"[]"),
        ("/profiles.rename", b'{"id": "1"}'),
        ("/profiles.remove", b""),
    ):
        r = http.post(endpoint, content=body)
        assert r.status_code == 400, endpoint
        assert r.json()["$type"] == "/error/bad-request"
        assert r.json()["title"]
        assert r.json()["detail"]


def test_unknown_route_and_method_give_json(http: httpx.Client) -> None:
    r = http.get("/no.such.endpoint")
    assert r.status_code == 404
    assert r.json()["$type"] == "/error/bad-request"
    r = http.get("/profiles.add")
    assert r.status_code == 405
    assert r.json()["$type"] == "/error/bad-request"


def test_broken_profile_files_give_read_errors(http: httpx.Client, daemon: Daemon) -> None:
    (daemon.profiles_dir / "9").mkdir(exist_ok=True)
    (daemon.profiles_dir / "9" / "sc4pac-plugins.json").write_text("{broken", "utf-8")
    r = http.get("/profile.read", params={"profile": "9"})
    assert r.status_code == 500
    assert r.json()["$type"] == "/error/profile-read-error"
    assert "sc4pac-plugins.json" in r.json()["detail"]
