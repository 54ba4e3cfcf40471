"""Version ordering (coursier's ``Version`` rules, see sc4pac.version): table-driven."""

from __future__ import annotations

import pytest

from sc4pac.version import compare, is_latest_alias, max_version, sort_key

# (smaller, larger): every pair must compare as strictly increasing.
INCREASING = [
    # orderings the reference tool is known to hold
    ("1.0", "1.0-1"),
    ("2.9", "2.10"),
    ("1.0-2", "1.0-10"),
    ("1.0.0-1", "1.0-1"),  # hyphen-separated numbers belong to the numeric prefix
    ("1.0-99", "1.1"),
    ("1.0a", "1.0"),
    ("1.0-alpha", "1.0"),
    ("1.0-SNAPSHOT", "1.0"),
    ("1.0", "1.0-sp"),
    ("1-abc", "1-alpha"),
    ("v2", "v10"),
    ("2022.12", "2023.1"),
    ("1.0-M1", "1.0-MF"),
    ("1.0-MF", "1.0-X1"),
    ("1.0-X1", "1.0-alpha1"),
    ("1.0-alpha1", "1.0-RC1"),
    ("1.0-RC1", "1.0"),
    # tag levels
    ("1.0-dev", "1.0-abc"),
    ("1.0-abc", "1.0-alpha"),
    ("1.0-alpha", "1.0-beta"),
    ("1.0-beta", "1.0-rc"),
    ("1.0-rc", "1.0-snapshot"),
    ("1.0-snapshot", "1.0-ga"),
    ("1.0-final", "1.0-sp"),
    ("1.0-sp", "1.0-1"),
    ("1-abc", "1-abd"),
    ("1-abc", "1-abcd"),
    # numbers, big numbers, min and max markers
    ("1.9", "1.10"),
    ("1.999999999", "1.1000000000"),
    ("1.1234567890123456789", "1.1234567890123456790"),
    ("0.99", "1.min"),
    ("1.min", "1.0-alpha"),
    ("1.min", "1.0"),
    ("1.9999999999", "1.max"),
    ("1.max", "2.0-alpha"),
    ("1.999", "1.x"),
    ("1.999", "1.*"),
    ("1.999", "1.+"),
    # real-channel shapes
    ("1.0", "1.0.1"),
    ("1.0.9", "1.0.10"),
    ("0.9", "1.0-beta"),
    ("1.2", "1.2-1"),
    ("2.0.0", "2.1-rc1"),
    ("2023.09.06", "2023.10.01"),
]

EQUAL = [
    ("1.0", "1.0.0"),
    ("1", "1.0"),
    ("1.07", "1.7"),
    ("1.0", "1-0"),
    ("1.0", "1_0"),
    ("1alpha10", "1.alpha.10"),
    ("1alpha10", "1-alpha-10"),
    ("1-rc", "1-cr"),
    ("1-a1", "1-alpha1"),
    ("1-b", "1-beta"),
    ("1", "1-ga"),
    ("1", "1-final"),
    ("1.RC1", "1.rc1"),
    ("1-ABC", "1-abc"),
    ("1.2+foo", "1.2"),
    ("1.2+bar", "1.2+foo"),
    ("1.2+a.3", "1.2"),
    ("0", ""),
    ("1..1", "1.0.1"),
    (".1", "0.1"),
    ("1.0.1", "1--1"),
    ("1", "1.............."),
    ("01", "1"),
    ("1.min", "1.MIN"),
    ("1.max", "1.MAX"),
    ("1.x", "1.max"),
    ("1.0-ga", "1.0.0-ga"),
]


@pytest.mark.parametrize(("smaller", "larger"), INCREASING)
def test_increasing(smaller: str, larger: str) -> None:
    assert compare(smaller, larger) < 0
    assert compare(larger, smaller) > 0


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_equal(a: str, b: str) -> None:
    assert compare(a, b) == 0
    assert compare(b, a) == 0


def test_spec_chains() -> None:
    chain = ["1.0-alpha", "1.0", "1.0-1"]
    assert sorted(chain, key=sort_key) == chain
    chain = ["1.0-SNAPSHOT", "1.0", "1.0-sp"]
    assert sorted(chain, key=sort_key) == chain
    chain = ["1.0-M1", "1.0-MF", "1.0-X1", "1.0-alpha1", "1.0-RC1", "1.0"]
    assert sorted(chain, key=sort_key) == chain


def test_max_version_keeps_first_of_ties() -> None:
    assert max_version(["1.0", "1.0.0"]) == "1.0"
    assert max_version(["1.0.0", "1.0"]) == "1.0.0"
    assert max_version(["0.9", "1.0.0", "1.0", "1.0-alpha"]) == "1.0.0"
    assert max_version(["2.9", "2.10", "2.1"]) == "2.10"
    assert max_version(iter(["x"])) == "x"


def test_max_version_of_nothing() -> None:
    with pytest.raises(ValueError, match="empty sequence"):
        max_version([])


def test_long_input_is_not_recursive() -> None:
    assert compare("." * 100_000, "0") == 0


@pytest.mark.parametrize("alias", ["latest.release", "latest.integration", "latest.stable"])
def test_latest_aliases(alias: str) -> None:
    assert is_latest_alias(alias)


@pytest.mark.parametrize("concrete", ["1.0", "latest", "latest.releases", "Latest.release"])
def test_concrete_versions(concrete: str) -> None:
    assert not is_latest_alias(concrete)
