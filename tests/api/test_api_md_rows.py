"""api.md says what the server does: one test per behaviour that once disagreed with the document.

The daemon runs in this process (no port) on the generated demo channel, so these need no ``../shared``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sc4pac.api.state import ServerState
from sc4pac.api.update_ws import precheck_update
from sc4pac.channels.demo import generate_demo_channel
from sc4pac.errors import BadRequest
from tests.api.inprocess import api_client, demo_profiles


@pytest.fixture(scope="module")
def demo_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_demo_channel(tmp_path_factory.mktemp("rows") / "demo-channel")


@pytest.fixture
def env(tmp_path: Path, demo_channel: Path) -> Iterator[tuple[TestClient, ServerState, Path]]:
    """Profile 1 initialized on the demo channel, profile 2 listed but not initialized."""
    store = demo_profiles(tmp_path / "profiles", demo_channel, ids=("1",))
    asyncio.run(store.add_profile("not initialized"))
    with api_client(store.profiles_dir) as (http, state):
        yield http, state, store.profiles_dir


# --- an unknown profile id is a bad request; a listed one without spec file is not initialized ---


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/profile.read", None),
        ("GET", "/channels.list", None),
        ("GET", "/plugins.added.list", None),
        ("GET", "/variants.list", None),
        ("POST", "/plugins.add", ["demo:park-bench-props"]),
        ("POST", "/variants.set", {"driveside": "left"}),
    ],
)
def test_unknown_profile_id_is_400(
    env: tuple[TestClient, ServerState, Path], method: str, path: str, body: Any
) -> None:
    http, _, profiles_dir = env
    r = http.request(method, path, params={"profile": "99"}, json=body)
    assert r.status_code == 400
    assert r.json() == {
        "$type": "/error/bad-request",
        "title": 'Profile ID "99" does not exist.',
        "detail": "Use an id from the profile list, or create the profile first.",
    }
    assert not (profiles_dir / "99").exists()


def test_listed_profile_without_spec_is_409_with_platform_defaults(
    env: tuple[TestClient, ServerState, Path],
) -> None:
    http, _, _ = env
    r = http.get("/profile.read", params={"profile": "2"})
    assert r.status_code == 409
    body = r.json()
    assert body["$type"] == "/error/profile-not-initialized"
    assert body["platformDefaults"]["plugins"]
    assert body["platformDefaults"]["cache"]


def test_update_refuses_an_unknown_profile_before_the_upgrade(
    env: tuple[TestClient, ServerState, Path],
) -> None:
    _, state, _ = env
    with pytest.raises(BadRequest, match='Profile ID "99" does not exist'):
        asyncio.run(precheck_update(state, {"profile": "99"}))


# --- /variants.choices carries both Option fields, empty ones included ---


def test_variants_choices_has_imported_values(env: tuple[TestClient, ServerState, Path]) -> None:
    http, _, _ = env
    q = {"profile": "1", "pkg": "demo:street-lights", "variantId": "demo:street-lights:color"}
    prompt = http.get("/variants.choices", params=q).json()
    assert prompt["choices"] == ["warm", "cool"]
    assert prompt["previouslySelectedValue"] == []
    assert prompt["importedValues"] == []
    assert prompt["responses"] == {}
    assert (
        http.post("/variants.set", params={"profile": "1"}, json={q["variantId"]: "cool"}).status_code == 200
    )
    again = http.get("/variants.choices", params=q).json()
    assert (again["previouslySelectedValue"], again["importedValues"]) == (["cool"], [])


# --- repair: "incomplete" means a recorded package folder is missing ---


def _install_fake(profiles_dir: Path) -> Path:
    """A lock with two installed packages and their package folders (one file each) in Plugins."""
    plugins = profiles_dir / "1" / "plugins"
    installed = []
    for name in ("kept", "gone"):
        folder = plugins / "100-props" / f"demo.{name}.1.0.sc4pac"
        folder.mkdir(parents=True)
        (folder / "props.SC4Desc").write_bytes(b"DBPF")
        entry: dict[str, Any] = {"group": "demo", "name": name, "variant": {}, "version": "1.0"}
        installed.append({**entry, "files": [f"100-props/demo.{name}.1.0.sc4pac/"]})
    lock = {"scheme": 2, "installed": installed, "assets": []}
    (profiles_dir / "1" / "sc4pac-plugins-lock.json").write_text(json.dumps(lock), "utf-8")
    return plugins


def test_repair_reports_missing_package_folders_only(env: tuple[TestClient, ServerState, Path]) -> None:
    http, _, profiles_dir = env
    plugins = _install_fake(profiles_dir)
    # A file deleted inside a package folder is not detected: only the folders are recorded.
    (plugins / "100-props" / "demo.kept.1.0.sc4pac" / "props.SC4Desc").unlink()
    shutil.rmtree(plugins / "100-props" / "demo.gone.1.0.sc4pac")
    plan = http.get("/plugins.repair.scan", params={"profile": "1"}).json()["plan"]
    assert plan == {"incompletePackages": ["demo:gone"], "orphanFiles": []}


# --- reinstall: one rule with the CLI ---


def test_reinstall_refuses_packages_that_are_not_installed(
    env: tuple[TestClient, ServerState, Path],
) -> None:
    http, _, profiles_dir = env
    _install_fake(profiles_dir)
    lock_path = profiles_dir / "1" / "sc4pac-plugins-lock.json"
    before = lock_path.read_bytes()
    q = {"profile": "1"}
    r = http.post("/plugins.reinstall", params=q, json=["demo:kept", "demo:never"])
    assert r.status_code == 404
    assert r.json()["$type"] == "/error/package-not-found"
    assert r.json()["title"] == "Not installed: demo:never"
    assert lock_path.read_bytes() == before
    assert http.post("/plugins.reinstall", params=q, json=["demo:kept"]).status_code == 200
    kept = json.loads(lock_path.read_text("utf-8"))["installed"][0]
    assert kept["reinstall"] is True
    # With redownload, packages that are only pending installation are accepted and recorded.
    assert (
        http.post("/plugins.reinstall", params={**q, "redownload": ""}, json=["demo:never"]).status_code
        == 200
    )
    assert json.loads(lock_path.read_text("utf-8"))["redownload"] == ["demo:never"]
