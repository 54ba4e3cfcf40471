"""Package id parsing (``group:name``, see sc4pac.channels.ids)."""

from __future__ import annotations

import re

import pytest

from sc4pac.channels.ids import format_package_id, parse_package_id


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("memo:demo-package", ("memo", "demo-package")),
        ("mgb204:terrain-grass-nam", ("mgb204", "terrain-grass-nam")),
        ("a b:c d", ("a b", "c d")),  # whitespace is accepted like the reference
        ("g:n;k=v", ("g", "n")),  # attributes are dropped
        ("g:n;k=v;x=y", ("g", "n")),
        ("g::n", ("g", "n_")),  # coursier's Scala-module syntax
        ("g:::n", ("g", "n_")),
    ],
)
def test_parse_accepts(text: str, parts: tuple[str, str]) -> None:
    assert parse_package_id(text) == parts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "malformed module: abc"),
        ("a:b:c", "malformed module: a:b:c"),
        ("a:b:c:d:e", "malformed module: a:b:c:d:e"),
        (":b", "malformed module: :b"),
        ("a:", "malformed module: a:"),
        ("", "malformed module: "),
        ("g:n;attr", "malformed attribute(s) in g:n;attr"),
        ("g/h:n", "organization g/h contains invalid '/'"),
        ("g:n\\m", "module name n\\m contains invalid '\\'"),
    ],
)
def test_parse_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_package_id(text)


def test_format_round_trip() -> None:
    assert format_package_id(*parse_package_id("memo:demo-package")) == "memo:demo-package"
