"""Undo on the reference test channel: variants, a DLL (installed as a symlink) and an INI file are
kept and restored exactly; skipped when ../shared is absent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import REFERENCE_CHANNEL_JSON, init_profile
from tests.daemon import start_daemon
from tests.update_client import answering, non_progress, run_update

OK = {"$type": "/result", "ok": True}

pytestmark = pytest.mark.skipif(
    not REFERENCE_CHANNEL_JSON.is_dir(), reason="../shared test channel not available"
)


def _state(profile: Path) -> dict[str, Any]:
    plugins = profile / "plugins"
    entries: dict[str, Any] = {}
    for p in sorted(plugins.rglob("*")):
        rel = p.relative_to(plugins).as_posix()
        if p.is_symlink():
            entries[rel] = ("link", os.readlink(p), p.read_bytes())
        elif p.is_file():
            entries[rel] = p.read_bytes()
    return {
        "plugins": entries,
        "lock": (profile / "sc4pac-plugins-lock.json").read_bytes(),
        "spec": (profile / "sc4pac-plugins.json").read_bytes(),
    }


def test_revert_and_redo_with_variants_dll_and_ini(reference_channel: str, tmp_path: Path) -> None:
    d = start_daemon(tmp_path / "profiles")
    try:
        token = d.authenticate()
        with d.client() as http:
            pid = init_profile(http, "ref-undo", [reference_channel])
            q = {"profile": pid}
            profile = d.profiles_dir / pid
            http.post("/plugins.add", params=q, json=["memo:demo-package", "test:dll"])
            assert run_update(d.ws_base, token, pid, answering({"driveside": "right"}))[-1] == OK
            a = _state(profile)
            assert any(isinstance(v, tuple) for v in a["plugins"].values())  # the DLL symlink

            http.post("/variants.reset", params=q, json=["driveside"])
            http.post("/plugins.remove", params=q, json=["test:dll"])
            http.post("/plugins.add", params=q, json=["test:ini"])
            assert run_update(d.ws_base, token, pid, answering({"driveside": "left"}))[-1] == OK
            b = _state(profile)

            history = http.get("/plugins.history", params=q).json()["transactions"]
            assert [t["outcome"] for t in history] == ["ok", "ok", "baseline"]
            dry = http.get("/plugins.plan", params=q).json()
            assert dry == {"toInstall": [], "toRemove": [], "variantQuestions": []}

            messages = run_update(d.ws_base, token, pid, query=f"&revertTo={history[1]['id']}")
            assert non_progress(messages) == [
                "/prompt/confirmation/update/plan",
                "/prompt/confirmation/update/warnings",
                "/result",
            ]
            assert _state(profile) == a
            assert run_update(d.ws_base, token, pid, query=f"&revertTo={history[0]['id']}")[-1] == OK
            assert _state(profile) == b
            # Back to the baseline, the state when the history began: nothing installed yet, the two
            # packages added but not installed.
            assert run_update(d.ws_base, token, pid, query=f"&revertTo={history[2]['id']}")[-1] == OK
            assert _state(profile)["plugins"] == {}
            assert http.get("/plugins.added.list", params=q).json() == ["memo:demo-package", "test:dll"]
    finally:
        d.stop()
