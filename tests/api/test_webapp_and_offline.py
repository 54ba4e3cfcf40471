"""The static web-app (--web-app-dir) and working offline from cached channel data."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from sc4pac.services import RETRY_DELAY_ENV
from tests import plain_http
from tests.api.conftest import init_profile
from tests.daemon import start_daemon
from tests.http_channel import http_channel
from tests.thread_daemon import start_thread_daemon
from tests.update_client import non_progress, run_update


def test_web_app_is_served_without_token(tmp_path: Path) -> None:
    web = tmp_path / "webapp"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<html>gui</html>", "utf-8")
    (web / "main.dart.js").write_text("console.log(1)", "utf-8")
    (web / "assets" / "app.wasm").write_bytes(b"\0asm")
    d = start_daemon(tmp_path / "p", extra_args=["--web-app-dir", str(web), "--cookie-secure=false"])
    try:
        deadline = time.monotonic() + 10
        while not any("launch-token=" in line for line in d.stdout_lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        url_line = next(line for line in d.stdout_lines if "launch-token=" in line)
        quoted = re.search(r"launch-token=(\S+)", url_line).group(1)  # type: ignore[union-attr]
        secret = unquote(quoted)
        assert secret == d.secret
        r = plain_http.get(f"{d.base}/", follow_redirects=False)
        assert r.status_code == 308
        assert r.headers["location"].endswith("webapp/")
        assert plain_http.get(f"{d.base}/webapp/").text == "<html>gui</html>"
        js = plain_http.get(f"{d.base}/webapp/main.dart.js")
        assert js.status_code == 200
        assert "javascript" in js.headers["content-type"]
        assert (
            plain_http.get(f"{d.base}/webapp/assets/app.wasm").headers["content-type"] == "application/wasm"
        )
        assert plain_http.get(f"{d.base}/webapp/missing.js").status_code == 404
        assert plain_http.get(f"{d.base}/webapp/../sc4pac-profiles.json").status_code in (400, 404)
        # The web-app exchanges the launch token for a cookie session (no Secure flag when asked).
        from tests.daemon import basic_auth

        r = plain_http.post(
            f"{d.base}/auth/token",
            data={"grant_type": "client_credentials_cookie_sc4pac"},
            headers={"Authorization": basic_auth(secret)},
        )
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("access-token=")
        assert "Secure" not in cookie
        value = cookie.split(";")[0].split("=", 1)[1]
        status = plain_http.get(
            f"{d.base}/server.status",
            headers={"Authorization": f"Bearer {r.json()['csrf_token']}", "Cookie": f"access-token={value}"},
        )
        assert status.status_code == 200
    finally:
        d.stop()


def test_update_works_offline_from_cached_channel(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    profiles = tmp_path / "profiles"
    with http_channel(tmp_path / "channel", packages=1) as url:
        d = start_thread_daemon(profiles)
        try:
            d.authenticate()
            with d.client() as http:
                pid = init_profile(http, "offline", [url])
                assert http.get("/packages.search", params={"profile": pid, "q": "pkg0"}).status_code == 200
        finally:
            d.stop()
    # The channel server is gone now (its port refuses); the contents file is cached on disk. A new
    # daemon (nothing in memory) retries the channel without pausing (0.5 + 1 + 2 s otherwise).
    caplog.set_level(logging.INFO)
    d = start_thread_daemon(profiles, env={RETRY_DELAY_ENV: "0"})
    try:
        token = d.authenticate()
        messages = run_update(d.ws_base, token, pid, query="&refreshChannels")
        assert non_progress(messages)[:2] == [
            "/prompt/json/update/initial-arguments",
            "/prompt/confirmation/update/plan",
        ]
        with d.client() as http:
            r = http.get("/channels.stats", params={"profile": pid})
            assert r.status_code == 200
            assert r.headers["x-sc4pac-stale-channels"] == url
        assert any("cached" in m.lower() or "stale" in m.lower() for m in caplog.messages)
    finally:
        d.stop()
