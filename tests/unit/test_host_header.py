"""Strict ``Host`` header parsing: exactly ``host [":" port]``, and only loopback names pass the gate."""

from __future__ import annotations

import pytest

from sc4pac.api.host_header import HostHeader, is_loopback_host, parse_host

ACCEPTED = [
    "localhost",
    "localhost:51515",
    "LOCALHOST:1",
    "localhost:65535",
    "127.0.0.1",
    "127.0.0.1:80",
    "[::1]",
    "[::1]:51515",
    "[0:0:0:0:0:0:0:1]:8080",
    "[::0001]",
]

REFUSED = [
    # the reported hole and its relatives: userinfo, paths, queries, fragments after or before the name
    "localhost:51515@evil.com",
    "localhost@evil.com",
    "evil.com@localhost",
    "user:pass@localhost",
    "localhost/evil",
    "localhost:51515/x",
    "localhost?x",
    "localhost#x",
    "localhost\\evil.com",
    "localhost:51515\\@evil.com",
    # ports: empty, zero, too large, signed, not decimal, twice
    "localhost:",
    "localhost:0",
    "localhost:65536",
    "localhost:99999",
    "localhost:123456",
    "localhost:+80",
    "localhost:-1",
    "localhost:0x50",
    "localhost: 80",
    "localhost:80:80",
    "localhost:８０",
    # other names and look-alikes
    "evil.example",
    "evil.example:51515",
    "localhost.evil.com",
    "localhost.",
    "localhost..",
    ".localhost",
    "127.0.0.1.evil.com",
    "127.0.0.2",
    "127.1",
    "2130706433",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "127.000.000.001",
    "192.168.1.10",
    "0.0.0.0",
    "lоcalhost",  # Cyrillic o
    "local host",
    " localhost",
    "localhost ",
    "localhost\t",
    "localhost%2f",
    "localhost%00",
    "",
    ":80",
    # IPv6: brackets required and balanced, nothing but a port after them, no zone ids
    "::1",
    "[::1",
    "::1]",
    "[[::1]]",
    "[::1]80",
    "[::1]:",
    "[::1]:0",
    "[::1]x",
    "[::1%25eth0]",
    "[::1%eth0]",
    "[::2]",
    "[::ffff:127.0.0.1]",
    "[v1.fe80::a]",
    "[]",
    "[localhost]",
    "x" * 400,
]


@pytest.mark.parametrize("value", ACCEPTED)
def test_loopback_hosts_pass(value: str) -> None:
    assert is_loopback_host(value)


@pytest.mark.parametrize("value", REFUSED)
def test_everything_else_is_refused(value: str) -> None:
    assert not is_loopback_host(value)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("Example.COM:8080", HostHeader("example.com", 8080)),
        ("localhost", HostHeader("localhost", None)),
        ("10.0.0.1:1", HostHeader("10.0.0.1", 1)),
        ("[0:0::1]:443", HostHeader("::1", 443, is_ipv6=True)),
        ("[FE80::1]", HostHeader("fe80::1", None, is_ipv6=True)),
    ],
)
def test_parts_of_well_formed_hosts(value: str, parsed: HostHeader) -> None:
    assert parse_host(value) == parsed


@pytest.mark.parametrize(
    "value", ["a@b", "a/b", "a:b", "a:", "a:0", "a:65536", "[::1", "[x]", "a b", "-a", "a-", "a_b"]
)
def test_malformed_hosts_do_not_parse(value: str) -> None:
    assert parse_host(value) is None
