"""Strict parsing of the HTTP ``Host`` header (RFC 9110 §7.2, RFC 3986 §3.2.2).

The daemon only answers requests addressed to this computer, which stops DNS-rebinding attacks from web
pages. That check is only as good as the parser in front of it: a lenient one that splits on the last
``:`` or ignores what follows the name lets ``localhost:51515@evil.com`` or ``localhost/x`` through.
This parser accepts exactly ``host [":" port]``, where host is a DNS name, a dotted IPv4 address or a
bracketed IPv6 address, and port is 1 to 65535; anything else (userinfo, paths, spaces, empty ports,
zone ids, percent-escapes) is not a host at all.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# A DNS name: dot-separated labels of letters, digits and inner hyphens (at most 63 characters each).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_IPV4 = re.compile(
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}"
)
_PORT = re.compile(r"[0-9]{1,5}")
_IPV6_CHARS = re.compile(r"[0-9a-f:.]+")

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1"})


@dataclass(frozen=True)
class HostHeader:
    """A parsed ``Host``: the name in lower case (IPv6 without brackets, compressed) and the port."""

    host: str
    port: int | None
    is_ipv6: bool = False


def parse_host(value: str) -> HostHeader | None:
    """The parts of a ``Host`` header value, or None when it is not exactly ``host [":" port]``."""
    text = value.lower()
    if not text or len(text) > 300 or not text.isascii():
        return None
    port: int | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        inner, rest = text[1:end], text[end + 1 :]
        if not _IPV6_CHARS.fullmatch(inner):
            return None  # also rules out zone ids ("%25eth0") and IPvFuture
        try:
            address = ipaddress.IPv6Address(inner)
        except ValueError:
            return None
        host, is_ipv6 = address.compressed, True
    else:
        name, sep, after = text.partition(":")
        rest = sep + after
        if not (_IPV4.fullmatch(name) or _NAME.fullmatch(name)):
            return None
        host, is_ipv6 = name, False
    if rest:
        if not rest.startswith(":") or not _PORT.fullmatch(rest[1:]):
            return None
        port = int(rest[1:])
        if not 1 <= port <= 65535:
            return None
    return HostHeader(host, port, is_ipv6)


def is_loopback_host(value: str) -> bool:
    """Whether a ``Host`` header value is well formed and names this computer by a loopback name."""
    parsed = parse_host(value)
    if parsed is None:
        return False
    if parsed.is_ipv6:
        return parsed.host == "::1"
    return parsed.host in LOOPBACK_NAMES
