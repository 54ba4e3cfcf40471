"""Endpoints working on local files only (added list, variants list and reset) and their bad inputs."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.conftest import init_profile
from tests.daemon import Daemon

OK = {"$type": "/result", "ok": True}

# A lock file as the reference server writes it (indent 2, defaults omitted).
REFERENCE_LOCK = {
    "scheme": 2,
    "installed": [
        {
            "group": "memo",
            "name": "package-template-variants",
            "variant": {"driveside": "right"},
            "version": "1.0",
            "files": ["150-mods/memo.package-template-variants.right.1.0.sc4pac"],
            "category": ["150-mods"],
            "installedAt": "2026-05-01T10:00:00Z",
            "updatedAt": "2026-05-02T10:00:00Z",
        },
        {
            "group": "memo",
            "name": "demo-package",
            "variant": {},
            "version": "1.0",
            "files": ["100-props-textures/memo.demo-package.1.0.sc4pac"],
            "summary": "Demo",
        },
    ],
    "assets": [],
}


@pytest.fixture
def profile(http: httpx.Client, daemon: Daemon, request: pytest.FixtureRequest) -> str:
    """A fresh initialized profile for each test (the daemon is shared by the module)."""
    return init_profile(http, request.node.name)


def test_added_list_add_remove(http: httpx.Client, profile: str) -> None:
    q = {"profile": profile}
    assert http.get("/plugins.added.list", params=q).json() == []
    for _ in range(2):
        r = http.post("/plugins.add", params=q, json=["memo:demo-package"])
        assert r.status_code == 200
        assert r.json() == OK
    assert http.get("/plugins.added.list", params=q).json() == ["memo:demo-package"]
    assert http.post("/plugins.add", params=q, json=["test:nonexistent"]).status_code == 200
    assert http.get("/plugins.added.list", params=q).json() == ["memo:demo-package", "test:nonexistent"]
    assert http.post("/plugins.remove", params=q, json=["test:nonexistent"]).json() == OK
    assert http.get("/plugins.added.list", params=q).json() == ["memo:demo-package"]
    r = http.post("/plugins.remove", params=q, json=["test:nonexistent", "a:b"])
    assert r.status_code == 400
    assert r.json()["title"] == "Package is not among explicitly added plugins: test:nonexistent, a:b"


@pytest.mark.parametrize(
    "body", [b"", b"{}", b'"memo:x"', b"[1]", b'["nocolon"]', b'["a:b:c"]', b'["a/b:c"]', b'[":x"]']
)
def test_add_remove_reject_malformed_ids(http: httpx.Client, profile: str, body: bytes) -> None:
    for endpoint in ("/plugins.add", "/plugins.remove", "/plugins.reinstall"):
        r = http.post(endpoint, params={"profile": profile}, content=body)
        assert r.status_code == 400, endpoint
        assert r.json()["$type"] == "/error/bad-request"
        assert r.json()["title"] == "Malformed package names"


def test_installed_state_from_reference_lock(http: httpx.Client, daemon: Daemon, profile: str) -> None:
    q = {"profile": profile}
    assert http.post("/plugins.add", params=q, json=["memo:demo-package"]).json() == OK
    (daemon.profiles_dir / profile / "sc4pac-plugins-lock.json").write_text(
        json.dumps(REFERENCE_LOCK, indent=2), "utf-8"
    )
    assert http.get("/plugins.installed.list", params=q).json() == [
        {"package": "memo:demo-package", "version": "1.0", "variant": {}, "explicit": True},
        {
            "package": "memo:package-template-variants",
            "version": "1.0",
            "variant": {"driveside": "right"},
            "explicit": False,
        },
    ]
    assert http.post("/variants.set", params=q, json={"driveside": "right", "nightmode": "dark"}).json() == OK
    assert http.get("/variants.list", params=q).json() == {
        "variants": {
            "driveside": {"value": "right", "unused": False},
            "nightmode": {"value": "dark", "unused": True},
        }
    }
    assert http.post("/variants.reset", params=q, json=["nightmode"]).json() == OK
    r = http.post("/variants.reset", params=q, json=["nightmode"])
    assert r.status_code == 400
    assert r.json()["title"] == "Variant does not exist: nightmode"
    assert http.get("/variants.list", params=q).json() == {
        "variants": {"driveside": {"value": "right", "unused": False}}
    }


def test_reinstall_marks_lock(http: httpx.Client, daemon: Daemon, profile: str) -> None:
    q = {"profile": profile}
    lock_path = daemon.profiles_dir / profile / "sc4pac-plugins-lock.json"
    lock_path.write_text(json.dumps(REFERENCE_LOCK, indent=2), "utf-8")
    # One rule with the CLI: without redownload every package must be installed, else nothing is marked.
    refused = http.post("/plugins.reinstall", params=q, json=["memo:demo-package", "not:installed"])
    assert refused.status_code == 404
    assert refused.json()["$type"] == "/error/package-not-found"
    assert refused.json()["title"] == "Not installed: not:installed"
    assert json.loads(lock_path.read_text("utf-8")) == REFERENCE_LOCK
    assert http.post("/plugins.reinstall", params=q, json=["memo:demo-package"]).json() == OK
    lock = json.loads(lock_path.read_text("utf-8"))
    flags = {e["name"]: e.get("reinstall", False) for e in lock["installed"]}
    assert flags == {"package-template-variants": False, "demo-package": True}
    assert "redownload" not in lock
    # Lock entries keep their reference defaults: the omitted timestamps stay omitted.
    demo = next(e for e in lock["installed"] if e["name"] == "demo-package")
    assert "installedAt" not in demo
    assert demo["summary"] == "Demo"
    assert (
        http.post(
            "/plugins.reinstall", params={**q, "redownload": ""}, json=["memo:demo-package", "x:pending"]
        ).json()
        == OK
    )
    assert json.loads(lock_path.read_text("utf-8"))["redownload"] == ["memo:demo-package", "x:pending"]


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/variants.reset", b'{"a": "b"}'),
        ("/variants.reset", b"[1]"),
        ("/variants.set", b'["a"]'),
        ("/variants.set", b'{"a": 1}'),
        ("/variants.set", b""),
    ],
)
def test_variant_bad_inputs(http: httpx.Client, profile: str, endpoint: str, body: bytes) -> None:
    r = http.post(endpoint, params={"profile": profile}, content=body)
    assert r.status_code == 400
    assert r.json()["$type"] == "/error/bad-request"


def test_uninitialized_profile_gives_409(http: httpx.Client) -> None:
    pid = http.post("/profiles.add", json={"name": "u"}).json()["id"]
    q = {"profile": pid}
    for path in ("/plugins.added.list", "/plugins.installed.list", "/variants.list"):
        assert http.get(path, params=q).status_code == 409, path
    for path, body in (
        ("/plugins.add", ["a:b"]),
        ("/plugins.remove", ["a:b"]),
        ("/variants.set", {}),
        ("/variants.reset", []),
    ):
        assert http.post(path, params=q, json=body).status_code == 409, path
