"""The desktop GUI's startup calls in its order (connect, status, settings, profiles, stats, profile init)."""

from __future__ import annotations

from pathlib import Path

from websockets.sync.client import connect

from tests import plain_http
from tests.daemon import start_daemon


def test_gui_startup_sequence_up_to_profile_init(tmp_path: Path) -> None:
    # The GUI's launch line: server --port P --profiles-dir D --auto-shutdown --startup-tag [LISTENING] --client-secret-stdin
    d = start_daemon(tmp_path / "profiles", extra_args=["--auto-shutdown"])
    try:
        token = d.authenticate()
        headers = {"authorization": f"bearer {token}"}  # the GUI writes the scheme in lower case
        with (
            connect(f"{d.ws_base}/server.connect?token={token}"),
            plain_http.http_client(base_url=d.base, headers=headers) as gui,
        ):
            assert isinstance(gui.get("/server.status").json()["sc4pacVersion"], str)
            settings = gui.get("/settings.all.get")
            assert settings.status_code == 200
            assert settings.json() == {}
            profiles = gui.get("/profiles.list").json()
            assert profiles["profiles"] == []
            assert profiles["currentProfileId"] == []
            assert isinstance(profiles["profilesDir"], str)
            created = gui.post("/profiles.add", json={"name": "Main"}).json()
            assert created == {"id": "1", "name": "Main"}
            profiles = gui.get("/profiles.list").json()
            current = next(p for p in profiles["profiles"] if p["id"] in profiles["currentProfileId"])
            pid = current["id"]
            stats = gui.get("/channels.stats", params={"profile": pid})
            assert stats.status_code == 409
            assert stats.json()["$type"] == "/error/profile-not-initialized"
            read = gui.get("/profile.read", params={"profile": pid})
            assert read.status_code == 409
            defaults = read.json()["platformDefaults"]
            assert isinstance(defaults["plugins"][0], str)
            assert isinstance(defaults["cache"][0], str)
            assert gui.get("/profiles.list?includePlugins").status_code == 200
            body = {"plugins": str(tmp_path / "Plugins"), "cache": defaults["cache"][1], "temp": "../temp"}
            init = gui.post("/profile.init", params={"profile": pid}, json=body)
            assert init.status_code == 200
            assert isinstance(init.json()["pluginsRoot"], str)
            assert isinstance(init.json()["cacheRoot"], str)
            assert init.json()["pluginsRoot"] == str(
                tmp_path / "Plugins"
            )  # outside the profile dir: absolute
            assert gui.get("/profile.read", params={"profile": pid}).json() == init.json()
            assert gui.get("/variants.list", params={"profile": pid}).json() == {"variants": {}}
            assert (tmp_path / "Plugins").is_dir()
        # The GUI quits: its /server.connect closes and the daemon exits by itself.
        d.proc.wait(15)
        assert d.proc.returncode == 0
    finally:
        d.stop()
