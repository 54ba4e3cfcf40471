"""The frozen bundle (scripts/build_bundle.py), launched exactly as the GUI launches its cli/ folder.

Building takes a minute or two, so these tests carry the ``bundle`` marker: the README's test command
leaves them out and `.ci/run` runs them as a step of their own. Set ``SC4PAC_BUNDLE_DIR`` to test a
folder built beforehand instead of building one.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from sc4pac.install.stage_processes import MIN_PACKAGES_ENV, PROCESSES_ENV
from tests.daemon import CLIENT_ID, STARTUP_TAG, free_port
from tests.update_client import run_update

pytestmark = pytest.mark.bundle

ROOT = Path(__file__).resolve().parents[2]
BUNDLE_ENV = "SC4PAC_BUNDLE_DIR"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prebuilt = os.environ.get(BUNDLE_ENV)
    if prebuilt:
        return Path(prebuilt)
    pytest.importorskip("PyInstaller", reason='PyInstaller is not installed (pip install -e ".[bundle]")')
    output = tmp_path_factory.mktemp("bundle") / "cli"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_bundle.py"), "--output", str(output)],
        check=True,
        timeout=900,
    )
    return output


def _player_env(home: Path) -> dict[str, str]:
    """A player's environment: no virtualenv, no Python of ours on PATH, no profiles dir preset."""
    if os.name == "nt":  # the GitHub workflow's Windows runner: cmd.exe must still be found for the .bat
        system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        return {"SYSTEMROOT": system_root, "PATH": rf"{system_root}\System32", "USERPROFILE": str(home)}
    return {"PATH": os.pathsep.join(["/usr/bin", "/bin"]), "HOME": str(home), "LANG": "C.UTF-8"}


def _launcher(bundle: Path) -> Path:
    return bundle / ("sc4pac.bat" if os.name == "nt" else "sc4pac")


def _cli(bundle: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_launcher(bundle)), *args],
        capture_output=True,
        text=True,
        env=_player_env(home),
        cwd=home,
        timeout=120,
        check=False,
    )


def test_gui_launch_token_status_install_and_auto_shutdown(bundle: Path, tmp_path: Path) -> None:
    home = tmp_path
    profiles = home / "profiles"
    made = _cli(bundle, home, "--profiles-dir", str(profiles), "demo")
    assert made.returncode == 0, made.stderr

    port = free_port()
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(_launcher(bundle)),
            "server",
            "--port",
            str(port),
            "--profiles-dir",
            str(profiles),
            "--auto-shutdown",
            "--startup-tag",
            STARTUP_TAG,
            "--client-secret-stdin",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # The frozen executable must start itself again as a staging worker process (freeze_support):
        # every update stages in worker processes here.
        env={**_player_env(home), PROCESSES_ENV: "2", MIN_PACKAGES_ENV: "1"},
        cwd=home,
    )
    listening = threading.Event()
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if STARTUP_TAG in line:
                listening.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert proc.stdin is not None
        proc.stdin.write(secret + "\n")
        proc.stdin.flush()
        assert listening.wait(60), f"no {STARTUP_TAG}: {lines}"
        print(f"\nbundle: {STARTUP_TAG} after {time.perf_counter() - started:.2f} s")
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(
            f"{base}/auth/token",
            auth=(CLIENT_ID, secret),
            data={"grant_type": "client_credentials"},
        ).json()["access_token"]
        auth = {"Authorization": f"bearer {token}"}
        assert httpx.get(f"{base}/server.status", headers=auth).json()["apiVersion"] == "3.1"
        # Search runs on numpy's vendored libraries, which a stripped bundle could no longer load.
        found = httpx.get(f"{base}/packages.search", params={"profile": "1", "q": "mall"}, headers=auth)
        assert found.status_code == 200, found.text
        assert "mega-mall" in found.text
        with connect(f"ws://127.0.0.1:{port}/server.connect?token={token}"):
            added = httpx.post(
                f"{base}/plugins.add", params={"profile": "1"}, json=["demo:mega-mall"], headers=auth
            )
            assert added.json() == {"$type": "/result", "ok": True}
            assert run_update(f"ws://127.0.0.1:{port}", token, "1")[-1] == {"$type": "/result", "ok": True}
        assert list((profiles / "1" / "plugins").rglob("mega-mall.SC4Lot"))
        # The GUI closed its connection: the daemon shuts itself down, with status 0.
        assert proc.wait(30) == 0
        assert proc.stderr is not None
        log = proc.stderr.read()
        assert "Staging in worker processes" in log, log
        assert "staging in threads instead" not in log, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_from_the_bundle_installs_a_demo_package(bundle: Path, tmp_path: Path) -> None:
    home = tmp_path
    profiles = home / "profiles"
    for args in (("demo",), ("add", "demo:park-bench-props"), ("update", "--yes")):
        done = _cli(bundle, home, "--profiles-dir", str(profiles), *args)
        assert done.returncode == 0, done.stderr
    listed = _cli(bundle, home, "--profiles-dir", str(profiles), "list", "--json")
    assert json.loads(listed.stdout)["demo:park-bench-props"]["installed"]["version"] == "1.0"
    assert list((profiles / "1" / "plugins").rglob("demo-park-bench.dat"))
