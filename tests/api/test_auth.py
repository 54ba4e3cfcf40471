"""Authentication: the one-time client secret, bearer token and cookie combinations, token endpoint errors."""

from __future__ import annotations

import base64

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests import plain_http
from tests.daemon import CLIENT_ID, Daemon, basic_auth

ERROR_URI = "https://www.rfc-editor.org/rfc/rfc6749#section-5.2"


@pytest.mark.parametrize("grant", ["client_credentials", "client_credentials_cookie_sc4pac"])
def test_token_endpoint_flow(fresh_daemon: Daemon, grant: str) -> None:
    url = f"{fresh_daemon.base}/auth/token"
    form = {"grant_type": grant}

    r = plain_http.post(url, data=form)
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_client", "error_uri": ERROR_URI}
    assert r.headers["www-authenticate"].startswith("Basic")

    r = plain_http.post(url, data=form, headers={"Authorization": basic_auth("wrong-secret")})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"

    r = plain_http.post(url, data=form, headers={"Authorization": basic_auth(fresh_daemon.secret)})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"].lower() == "bearer"
    assert set(body["scope"].split()) == {"open", "read", "write"}
    assert r.headers["cache-control"] == "no-store"
    # The plain grant answers the token in the body; the cookie grant sets it as a cookie with a CSRF token.
    cookie_grant = grant == "client_credentials_cookie_sc4pac"
    assert bool(body.get("access_token")) is not cookie_grant
    assert bool(body.get("csrf_token")) is cookie_grant
    cookie = r.headers.get("set-cookie", "")
    expected = (
        ["__Host-access_token=", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"] if cookie_grant else []
    )
    assert [part for part in expected if part in cookie] == expected
    assert cookie.startswith("__Host-access_token=") is cookie_grant

    r = plain_http.post(url, data=form, headers={"Authorization": basic_auth(fresh_daemon.secret)})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_bad_grant_does_not_consume_secret(fresh_daemon: Daemon) -> None:
    url = f"{fresh_daemon.base}/auth/token"
    auth = {"Authorization": basic_auth(fresh_daemon.secret)}
    assert plain_http.post(url, data={}, headers=auth).json()["error"] == "invalid_request"
    assert (
        plain_http.post(url, data={"grant_type": "password"}, headers=auth).json()["error"]
        == "unsupported_grant_type"
    )
    bad_basic = {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}
    assert (
        plain_http.post(url, data={"grant_type": "client_credentials"}, headers=bad_basic).status_code == 401
    )
    wrong_id = {
        "Authorization": "Basic " + base64.b64encode(f"x{CLIENT_ID}:{fresh_daemon.secret}".encode()).decode()
    }
    assert (
        plain_http.post(url, data={"grant_type": "client_credentials"}, headers=wrong_id).json()["error"]
        == "invalid_grant"
    )
    assert plain_http.post(url, data={"grant_type": "client_credentials"}, headers=auth).status_code == 200


def _status(d: Daemon, bearer: str | None, cookie: str | None) -> int:
    headers = {}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    if cookie is not None:
        headers["Cookie"] = f"__Host-access_token={cookie}"
    return plain_http.get(f"{d.base}/server.status", headers=headers).status_code


def test_desktop_token_matrix(daemon: Daemon) -> None:
    token = daemon.token
    assert token
    assert _status(daemon, token, None) == 200
    assert _status(daemon, token, "wrong-cookie") == 200
    assert _status(daemon, "wrong", None) == 401
    assert _status(daemon, None, None) == 401
    r = plain_http.get(f"{daemon.base}/server.status", headers={"Authorization": f"BEARER {token}"})
    assert r.status_code == 200
    assert r.json()["sc4pacVersion"] == "0.10.0"


def test_web_session_matrix(fresh_daemon: Daemon) -> None:
    r = plain_http.post(
        f"{fresh_daemon.base}/auth/token",
        data={"grant_type": "client_credentials_cookie_sc4pac"},
        headers={"Authorization": basic_auth(fresh_daemon.secret)},
    )
    csrf = r.json()["csrf_token"]
    cookie = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert _status(fresh_daemon, csrf, cookie) == 200
    for bearer in (csrf, "wrong", None):
        for jar in (cookie, "wrong", None):
            if (bearer, jar) == (csrf, cookie):
                continue
            assert _status(fresh_daemon, bearer, jar) == 401, (bearer, jar)
    assert _status(fresh_daemon, cookie, None) == 401  # the cookie value is no bearer token


def test_unauthorized_body_and_header(daemon: Daemon) -> None:
    r = plain_http.get(f"{daemon.base}/profiles.list")
    assert r.status_code == 401
    assert r.json() == {
        "$type": "/error/unauthorized",
        "title": "missing Authorization header",
        "detail": "Add Authorization header with Bearer access token",
    }
    assert r.headers["www-authenticate"] == 'Bearer realm="User Profile", scope="read"'
    r = plain_http.get(f"{daemon.base}/settings.all.get", headers={"Authorization": "Bearer nope"})
    assert r.json()["detail"] == "Invalid or expired token."
    assert 'scope="write"' in r.headers["www-authenticate"]


def test_query_token_only_on_websockets(daemon: Daemon) -> None:
    token = daemon.token
    assert token
    assert plain_http.get(f"{daemon.base}/server.status?token={token}").status_code == 401
    with pytest.raises(InvalidStatus) as info:
        connect(f"{daemon.ws_base}/server.connect")
    assert info.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as info:
        connect(f"{daemon.ws_base}/server.connect?token=incorrect")
    assert info.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        connect(f"{daemon.ws_base}/server.connect", additional_headers={"Authorization": "Bearer incorrect"})
    with connect(f"{daemon.ws_base}/server.connect?token={token}"):
        pass


def test_cors_and_preflight(daemon: Daemon) -> None:
    token = daemon.token
    assert token
    origin = "http://example.org"
    r = plain_http.options(
        f"{daemon.base}/profiles.list",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == origin
    assert r.headers["access-control-allow-headers"] == "authorization"
    r = plain_http.get(
        f"{daemon.base}/server.status", headers={"Origin": origin, "Authorization": f"Bearer {token}"}
    )
    assert r.headers["access-control-allow-origin"] == origin
    assert r.headers["access-control-allow-credentials"] == "true"
    r = plain_http.get(f"{daemon.base}/server.status", headers={"Origin": origin})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == origin
    r = plain_http.get(f"{daemon.base}/server.status", headers={"Authorization": f"Bearer {token}"})
    assert "access-control-allow-origin" not in r.headers


def test_foreign_host_is_refused(daemon: Daemon) -> None:
    token = daemon.token
    assert token
    headers = {"Authorization": f"Bearer {token}"}
    for host in ("evil.example", "evil.example:51515", "192.168.1.10"):
        r = plain_http.get(f"{daemon.base}/server.status", headers={**headers, "Host": host})
        assert r.status_code == 403, host
        assert r.json()["$type"] == "/error/bad-request"
    for host in ("localhost", f"localhost:{daemon.port}", f"127.0.0.1:{daemon.port}", "[::1]:1"):
        r = plain_http.get(f"{daemon.base}/server.status", headers={**headers, "Host": host})
        assert r.status_code == 200, host
