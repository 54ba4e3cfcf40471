"""Java-compatible channel regexes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sc4pac.install.recipe import DEFAULT_EXCLUDE, DEFAULT_INCLUDE
from sc4pac.javaregex import compile_java, translate, try_compile_java

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REAL_CHANNEL = SHARED / "data" / "real-channel" / "yaml"


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("hello.dat", "/prefix/HELLO.DAT", True),  # search, case-insensitive
        ("^hello", "/hello", False),
        (DEFAULT_INCLUDE, "/a/b.SC4Lot", True),
        (DEFAULT_INCLUDE, "/a/b.sc4", True),
        (DEFAULT_INCLUDE, "/a/b.dll", False),
        (DEFAULT_EXCLUDE, "/a/b.SC4Model", False),
        (DEFAULT_EXCLUDE, "/a/readme.txt", True),
        ("é", "/É.dat", False),  # Java folds ASCII only
        ("k", "/\u212a", False),  # Kelvin sign is not k
        (r"\w+\.dat", "/é.dat", False),  # \w is ASCII
        (r"_choose/.*(?<!Maxis|NAM)\.dat$", "/_choose/x-nam.dat", False),
        (r"_choose/.*(?<!Maxis|NAM)\.dat$", "/_choose/x.dat", True),
        (r"\Qa.b\E", "/axb", False),
        (r"\Qa.b\E", "/a.b", True),
        (r"\Q(x\E$", "/(x", True),
        (r"dat\z", "/x.dat", True),
        (r"dat\Z", "/x.dat", True),
        (r"\\z", "/a\\z", True),  # an escaped backslash followed by z is not \z
        (r"a++b", "/aab", True),
        (r"(?>a|ab)c", "/abc", False),
    ],
)
def test_matches_like_java(pattern: str, text: str, found: bool) -> None:
    assert compile_java(pattern).search(text) is found


def test_translate_leaves_plain_escapes() -> None:
    assert translate(r"\.dat\d") == r"\.dat\d"


def test_malformed_regex_gives_warning() -> None:
    compiled, warning = try_compile_java("(unclosed")
    assert compiled is None
    assert warning is not None
    assert warning.startswith("The package metadata contains a malformed regex: ")


def _patterns(node: object) -> list[str]:
    """Every include/exclude/withChecksum pattern below a YAML node."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("include", "exclude") and isinstance(value, list):
                found += [str(v) for v in value]
            elif key == "withChecksum" and isinstance(value, list):
                found += [str(v["include"]) for v in value if isinstance(v, dict) and "include" in v]
            else:
                found += _patterns(value)
    elif isinstance(node, list):
        for item in node:
            found += _patterns(item)
    return found


# libyaml's safe loader when PyYAML has it: the real channel is thousands of YAML documents, which the
# pure-Python loader takes seconds to read.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_every_pattern_of_the_real_channel_compiles() -> None:
    if not REAL_CHANNEL.is_dir():
        pytest.skip(f"real channel data not available at {REAL_CHANNEL}")
    patterns: set[str] = set()
    for file in sorted(REAL_CHANNEL.rglob("*.yaml")):
        for doc in yaml.load_all(file.read_text(encoding="utf-8"), Loader=_YAML_LOADER):
            patterns.update(_patterns(doc))
    assert len(patterns) > 1000
    failures = {p: w for p in patterns for c, w in [try_compile_java(p)] if c is None}
    assert failures == {}
