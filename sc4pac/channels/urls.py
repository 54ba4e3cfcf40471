"""Channel URLs: sanitising, the URLs of files inside a channel, and exchange (STEX/SC4E) ids.

The reference parses channel URLs with ``java.net.URI`` (RFC 2396 plus Java's deviations), so malformed
input is rejected here with the same kinds of messages (``Expected scheme name at index 0: :::``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import unquote

from ..models.channel import ASSET_GROUP

__all__ = [
    "CHANNEL_SCHEMES",
    "CONTENTS_FILENAME",
    "ChannelUrlError",
    "ChannelUrlSyntaxError",
    "asset_metadata_url",
    "contents_url",
    "dedupe_urls",
    "external_asset_url",
    "external_id_from_url",
    "external_package_url",
    "is_yaml_channel",
    "package_metadata_url",
    "resolve_relative",
    "sanitize_channel_url",
    "sanitize_channel_urls",
]

CONTENTS_FILENAME = "sc4pac-channel-contents.json"

# The schemes a channel can be loaded from; anything else (ftp:, gopher:, mailto:) is refused up front.
CHANNEL_SCHEMES = frozenset({"http", "https", "file"})


class ChannelUrlError(ValueError):
    """A channel URL that cannot be used; the message says why."""


class ChannelUrlSyntaxError(ChannelUrlError):
    """A string that is not a URI at all (the API reports it differently from other bad URLs)."""


# --- URI syntax (RFC 2396 character classes, as java.net.URI checks them) --------------------------

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_UNRESERVED = _ALNUM | frozenset("-_.!~*'()")
_RESERVED = frozenset(";/?:@&=+$,[]")
_URIC = _UNRESERVED | _RESERVED
_PCHAR = _UNRESERVED | frozenset(":@&=+$,")
_PATH = _PCHAR | frozenset(";/")
_AUTHORITY = _UNRESERVED | frozenset("$,;:@&=+[]")
_SCHEME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SCHEME = _ALNUM | frozenset("+-.")
_HEX = frozenset("0123456789abcdefABCDEF")


def _is_space_or_control(c: str) -> bool:
    # Java: Character.isSpaceChar (Zs, Zl, Zp) or Character.isISOControl.
    return unicodedata.category(c) in ("Zs", "Zl", "Zp") or ord(c) <= 0x1F or 0x7F <= ord(c) <= 0x9F


def _is_other(c: str) -> bool:
    """RFC 2396 "other" characters that Java accepts raw: non-ASCII, neither space nor control."""
    return ord(c) > 0x7F and not _is_space_or_control(c)


class _UriParts(NamedTuple):
    scheme: str | None
    path: str | None  # None for opaque URIs such as ``mailto:x``
    query: str | None
    fragment: str | None


def _fail(reason: str, index: int, text: str) -> ChannelUrlSyntaxError:
    return ChannelUrlSyntaxError(f"{reason} at index {index}: {text}")


def _check_chars(text: str, start: int, end: int, allowed: frozenset[str], what: str) -> None:
    i = start
    while i < end:
        c = text[i]
        if c == "%":
            if i + 3 <= end and text[i + 1] in _HEX and text[i + 2] in _HEX:
                i += 3
                continue
            raise _fail("Malformed escape pair", i, text)
        if c not in allowed and not _is_other(c):
            raise _fail(f"Illegal character in {what}", i, text)
        i += 1


def _scan(text: str, start: int, stops: str) -> int:
    """Index of the first character of ``stops`` at or after ``start``, or ``len(text)``."""
    for i in range(start, len(text)):
        if text[i] in stops:
            return i
    return len(text)


def _parse_uri(text: str) -> _UriParts:
    """Split ``text`` like ``java.net.URI`` does, raising its syntax errors."""
    n = len(text)
    scheme: str | None = None
    path: str | None = None
    query: str | None = None
    colon = _scan(text, 0, ":/?#")
    if colon < n and text[colon] == ":":
        if colon == 0:
            raise _fail("Expected scheme name", 0, text)
        if text[0] not in _SCHEME_FIRST:
            raise _fail("Illegal character in scheme name", 0, text)
        _check_chars(text, 1, colon, _SCHEME, "scheme name")
        scheme = text[:colon]
        p = colon + 1
        if p < n and text[p] == "/":
            p, path, query = _parse_hierarchical(text, p)
        else:
            q = _scan(text, p, "#")
            if q <= p:
                raise _fail("Expected scheme-specific part", p, text)
            _check_chars(text, p, q, _URIC, "opaque part")
            p = q
    else:
        p, path, query = _parse_hierarchical(text, 0)
    fragment: str | None = None
    if p < n and text[p] == "#":
        _check_chars(text, p + 1, n, _URIC, "fragment")
        fragment = text[p + 1 :]
    return _UriParts(scheme, path, query, fragment)


def _parse_hierarchical(text: str, start: int) -> tuple[int, str, str | None]:
    n = len(text)
    p = start
    if text.startswith("//", p):
        p += 2
        q = _scan(text, p, "/?#")
        if q > p:
            _check_chars(text, p, q, _AUTHORITY, "authority")
            p = q
        elif q >= n:
            raise _fail("Expected authority", p, text)
        # Java deviates from RFC 2396 and allows an empty authority before a path ("file:///x").
    q = _scan(text, p, "?#")
    _check_chars(text, p, q, _PATH, "path")
    path = text[p:q]
    p = q
    query: str | None = None
    if p < n and text[p] == "?":
        q = _scan(text, p + 1, "#")
        _check_chars(text, p + 1, q, _URIC, "query")
        query = text[p + 1 : q]
        p = q
    return p, path, query


# --- Channel URLs -----------------------------------------------------------------------------------


def sanitize_channel_url(url: str) -> str:
    """Validate a channel URL and normalise it (``/`` appended unless it ends in ``/`` or ``.yaml``)."""
    parts = _parse_uri(url)
    if parts.scheme is None or parts.path is None or parts.scheme.lower() not in CHANNEL_SCHEMES:
        raise ChannelUrlError(f"channel URL must start with https://, http:// or file:/// ({url})")
    if parts.query is not None:
        raise ChannelUrlError(f"channel URL must not have query: {url}")
    if parts.fragment is not None:
        raise ChannelUrlError(f"channel URL must not have fragment: {url}")
    decoded_path = unquote(parts.path)
    if decoded_path.endswith(("/", ".yaml")):
        return url
    # The trailing slash makes relative resolution land inside the channel directory.
    return url + "/"


def dedupe_urls(urls: Iterable[str]) -> list[str]:
    """Drop repeated URLs, keeping the first occurrence of each."""
    return list(dict.fromkeys(urls))


def sanitize_channel_urls(urls: Iterable[str]) -> list[str]:
    """Sanitise every URL and remove duplicates (order kept); raises on the first bad URL."""
    return dedupe_urls(sanitize_channel_url(u) for u in urls)


def is_yaml_channel(url: str) -> bool:
    """Whether a sanitised channel URL denotes a single-file YAML channel."""
    return unquote(_parse_uri(url).path or "").endswith(".yaml")


# --- Files inside a channel -------------------------------------------------------------------------


def _quote_path(path: str) -> str:
    """Quote a relative path like Java's ``new URI(null, null, path, null)``: ``+`` stays, non-ASCII raw."""
    out: list[str] = []
    for c in path:
        if c in _PATH or _is_other(c):
            out.append(c)
        else:
            out.extend(f"%{b:02X}" for b in c.encode("utf-8"))
    return "".join(out)


def resolve_relative(base: str, relative_path: str) -> str:
    """Resolve an unquoted relative path against a channel base URL, quoting it."""
    # Sanitised bases carry no query or fragment, so RFC resolution is "drop the last segment, append".
    return base[: base.rfind("/") + 1] + _quote_path(relative_path)


def contents_url(base: str) -> str:
    """URL of the channel contents file (a YAML channel is its own contents file)."""
    return base if is_yaml_channel(base) else resolve_relative(base, CONTENTS_FILENAME)


def package_metadata_url(base: str, group: str, name: str, version: str) -> str:
    """URL of ``metadata/<group>/<name>/<version>/pkg.json`` in a JSON channel."""
    return resolve_relative(base, f"metadata/{group}/{name}/{version}/pkg.json")


def asset_metadata_url(base: str, asset_id: str, version: str) -> str:
    """URL of an asset's ``pkg.json`` (assets live under the reserved group ``sc4pacAsset``)."""
    return package_metadata_url(base, ASSET_GROUP, asset_id, version)


def external_package_url(base: str, group: str, name: str) -> str:
    """URL of ``metadata/_extpkg/<group>/<name>/latest/pkg.json``."""
    return resolve_relative(base, f"metadata/_extpkg/{group}/{name}/latest/pkg.json")


def external_asset_url(base: str, asset_id: str) -> str:
    """URL of ``metadata/_extasset/<assetId>/latest/pkg.json``."""
    return resolve_relative(base, f"metadata/_extasset/{asset_id}/latest/pkg.json")


# --- Exchange ids -----------------------------------------------------------------------------------

# Java's \d is ASCII-only, hence re.ASCII. Both are searched, not matched, so any prefix is allowed.
_EXCHANGE_URL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("stex", re.compile(r"simtropolis\.com/files/file/(\d+)-.*?(?:$|[?&]r=(\d+).*$)", re.ASCII)),
    ("sc4e", re.compile(r"sc4evermore\.com/index.php/downloads/download/(?:\d+-[^/]*/)?(\d+)-.*", re.ASCII)),
)


def external_id_from_url(url: str) -> tuple[str, str] | None:
    """The exchange (``"stex"``/``"sc4e"``) and file id a download-page URL refers to, if any."""
    for provider, pattern in _EXCHANGE_URL_PATTERNS:
        m = pattern.search(url)
        if m is not None:
            return provider, m.group(1)
    return None
