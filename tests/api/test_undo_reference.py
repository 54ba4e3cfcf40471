"""Undo with variants, a DLL (installed as a symlink) and an INI file: kept and restored exactly.

Runs on the generated scenario channel (tests/scenario_channel.py) and on the reference test channel
from ../shared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import init_profile
from tests.scenario_channel import REFERENCE, Scenario, scenario_channel
from tests.thread_daemon import start_thread_daemon
from tests.update_client import answering, non_progress, run_update

OK = {"$type": "/result", "ok": True}


@pytest.fixture(params=["generated", pytest.param("reference", marks=pytest.mark.shared_twin)])
def scen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scenario]:
    if request.param == "reference":
        request.getfixturevalue("reference_channel")
        yield REFERENCE
        return
    with scenario_channel(tmp_path / "scenario-channel") as scenario:
        yield scenario


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


def test_revert_and_redo_with_variants_dll_and_ini(scen: Scenario, tmp_path: Path) -> None:
    d = start_thread_daemon(tmp_path / "profiles")
    try:
        token = d.authenticate()
        with d.client() as http:
            pid = init_profile(http, "ref-undo", [scen.url])
            q = {"profile": pid}
            profile = d.profiles_dir / pid
            http.post("/plugins.add", params=q, json=[scen.bundle, scen.dll])
            assert run_update(d.ws_base, token, pid, answering({"driveside": "right"}))[-1] == OK
            a = _state(profile)
            assert any(isinstance(v, tuple) for v in a["plugins"].values())  # the DLL symlink

            http.post("/variants.reset", params=q, json=["driveside"])
            http.post("/plugins.remove", params=q, json=[scen.dll])
            http.post("/plugins.add", params=q, json=[scen.ini])
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
            assert http.get("/plugins.added.list", params=q).json() == [scen.bundle, scen.dll]
    finally:
        d.stop()
