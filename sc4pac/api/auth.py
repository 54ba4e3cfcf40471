"""Authentication (API 3.0+): the one-time client secret, issued tokens, and request verification.

Tokens live in memory only and die with the process. A desktop token is a bearer access token; a web-app
session is the pair (access token in an HttpOnly cookie, CSRF token as bearer) and needs both halves.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

CLIENT_ID = "sc4pacGUIxDI5NjY4MzE2MDQ5OTQ0"
EXPIRES_IN = "432000"  # 5 days; a string, as the reference sends it (informational only)
SCOPES = frozenset({"open", "read", "write"})
OAUTH_ERROR_URI = "https://www.rfc-editor.org/rfc/rfc6749#section-5.2"

GRANT_DESKTOP = "client_credentials"
GRANT_WEB = "client_credentials_cookie_sc4pac"


def new_secret(nbytes: int = 32) -> str:
    """A random secret or token: URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")


class OAuthError(Exception):
    """A token-endpoint failure: the RFC 6749 error code and the HTTP status."""

    def __init__(self, code: str, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    csrf_token: str | None  # set for the web-app (cookie) grant


@dataclass
class TokenStore:
    """The one client secret of this process and the tokens issued with it."""

    client_secret: str | None
    cookie_name: str = "__Host-access_token"
    _tokens: dict[tuple[str, str | None], frozenset[str]] = field(default_factory=dict)

    def check_client(self, authorization: str | None) -> tuple[str, str]:
        """The client's Basic credentials when they match the unused secret; else the OAuth error.

        The token endpoint calls this before it reads the request body, so a client without the
        secret cannot make the server read (and hold) a body of any size.
        """
        credentials = _basic_credentials(authorization)
        if credentials is None:
            raise OAuthError("invalid_client", 401)
        client_id, client_secret = credentials
        expected = self.client_secret
        if (
            not expected  # already used, or never set: an empty secret must never unlock anything
            or not client_secret
            or not hmac.compare_digest(client_id.encode(), CLIENT_ID.encode())
            or not hmac.compare_digest(client_secret.encode(), expected.encode())
        ):
            raise OAuthError("invalid_grant")
        return credentials

    def exchange(self, authorization: str | None, body: bytes) -> IssuedTokens:
        """Check a token request (RFC 6749 client credentials) and issue tokens, consuming the secret."""
        self.check_client(authorization)
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)))
        except (UnicodeDecodeError, ValueError):
            raise OAuthError("invalid_request") from None
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request")
        if grant not in (GRANT_DESKTOP, GRANT_WEB):
            raise OAuthError("unsupported_grant_type")
        self.check_client(authorization)  # again: the secret may have been used while the body arrived
        self.client_secret = None  # one-time: no further token can be issued by this process
        access = new_secret()
        csrf = new_secret() if grant == GRANT_WEB else None
        self._tokens[(access, csrf)] = SCOPES
        return IssuedTokens(access, csrf)

    def grant(self, access_token: str, csrf_token: str | None = None) -> None:
        """Register a token directly (used by tests and the CLI's in-process server)."""
        self._tokens[(access_token, csrf_token)] = SCOPES

    def verify(self, bearer: str | None, cookie: str | None, scope: str) -> str | None:
        """None when the request may proceed, else the 401 detail text."""
        if bearer is None:
            return "missing"
        scopes = None
        if cookie is not None:
            scopes = self._tokens.get((cookie, bearer))
        if scopes is None:
            scopes = self._tokens.get((bearer, None))
        if scopes is None:
            return "Invalid or expired token."
        if scope not in scopes:
            return f"Token lacks permission for scope {scope}."
        return None


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return client_id, secret


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <t>`` header (scheme case-insensitive)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value or None
