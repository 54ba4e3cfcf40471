"""Version ordering of the reference tool (coursier 2.1.2 ``Version``), as a pure module.

Versions are arbitrary strings; "latest" always means the maximum under this ordering. A version is
tokenised into items (numbers, tags, min/max markers, build metadata), the leading numeric parts of two
versions are padded to equal length, and the items are compared pairwise.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["LATEST_ALIASES", "compare", "is_latest_alias", "max_version", "sort_key"]

LATEST_ALIASES = frozenset({"latest.release", "latest.integration", "latest.stable"})

# Item kinds.
_NUMBER, _TAG, _BUILD, _MIN, _MAX = range(5)

# "order" of each kind: the tie-breaker between items of different kinds with the same sign.
_KIND_ORDER = {_NUMBER: 0, _TAG: -1, _BUILD: 1, _MIN: -8, _MAX: 8}

_OTHER_TAG_LEVEL = -5
_TAG_LEVELS = {
    "ga": 0, "final": 0, "": 0,
    "snapshot": -1,
    "rc": -2, "cr": -2,
    "beta": -3, "b": -3,
    "alpha": -4, "a": -4,
    "dev": -6,
    "sp": 1, "bin": 1,
}  # fmt: skip

_SEPARATORS = frozenset(".-_+")


class _Item(NamedTuple):
    kind: int
    number: int  # value of a Number; level of a Tag; unused otherwise
    text: str  # lower-cased text of a Tag; unused otherwise
    sign: int  # the item compared to "nothing" (-1, 0, 1); 0 means the item is empty

    @property
    def is_numeric(self) -> bool:
        return self.kind in (_NUMBER, _MIN, _MAX)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def _number(value: int) -> _Item:
    return _Item(_NUMBER, value, "", _sign(value))


def _tag(text: str) -> _Item:
    level = _TAG_LEVELS.get(text, _OTHER_TAG_LEVEL)
    return _Item(_TAG, level, text, _sign(level))


_ZERO = _number(0)
_MIN_ITEM = _Item(_MIN, 0, "", -1)
_MAX_ITEM = _Item(_MAX, 0, "", 1)
_BUILD_ITEM = _Item(_BUILD, 0, "", 0)


def _is_digit(c: str) -> bool:
    # Java's Character.isDigit is the Unicode category Nd, which is what str.isdecimal tests.
    return c.isdecimal()


def _tokenise(s: str) -> list[_Item]:
    """All items of ``s`` in order, including a trailing build-metadata item."""
    items: list[_Item] = []
    i, n = 0, len(s)
    prev_sep: str | None = None  # None before the first item
    while True:
        # Parse one item at position i, knowing the separator that preceded it.
        if i >= n:
            items.append(_ZERO)
        elif _is_digit(s[i]):
            j = i
            while j < n and _is_digit(s[j]):
                j += 1
            items.append(_number(int(s[i:j])))
            i = j
        elif s[i].isalpha():
            j = i
            while j < n and s[j].isalpha():
                j += 1
            word = s[i:j].lower()
            i = j
            if word == "x" and prev_sep == ".":
                items.append(_MAX_ITEM)
            elif word == "min":
                items.append(_MIN_ITEM)
            elif word == "max":
                items.append(_MAX_ITEM)
            else:
                items.append(_tag(word))
        elif s[i] not in _SEPARATORS:
            j = i
            while j < n and not (s[j].isalpha() or _is_digit(s[j]) or s[j] in _SEPARATORS):
                j += 1
            word = s[i:j].lower()
            i = j
            items.append(_MAX_ITEM if prev_sep == "." and word == "*" else _tag(word))
        elif prev_sep == "." and s[i] == "+":
            # ".+" means max; the "+" is read again below as the start of build metadata.
            items.append(_MAX_ITEM)
        else:
            # A separator where an item was expected ("1..1", a leading "."): an implicit zero.
            items.append(_ZERO)

        if i >= n:
            return items
        sep = s[i]
        i += 1
        if sep == "+":
            items.append(_BUILD_ITEM)
            return items
        if sep not in _SEPARATORS:
            # Digit/letter transitions act as separators without consuming a character.
            i -= 1
            sep = ""
        prev_sep = sep


class _Parsed(NamedTuple):
    items: tuple[_Item, ...]  # build metadata removed
    numeric_prefix: int  # length of the leading run of Number/Min/Max items


@functools.lru_cache(maxsize=65536)
def _parse(version: str) -> _Parsed:
    items = tuple(item for item in _tokenise(version) if item.kind != _BUILD)
    prefix = 0
    while prefix < len(items) and items[prefix].is_numeric:
        prefix += 1
    return _Parsed(items, prefix)


def _compare_items(a: _Item, b: _Item) -> int:
    if a.kind == _NUMBER and b.kind == _NUMBER:
        return _sign(a.number - b.number)
    if a.kind == _TAG and b.kind == _TAG:
        if a.number == b.number == _OTHER_TAG_LEVEL:
            return (a.text > b.text) - (a.text < b.text)
        return _sign(a.number - b.number)
    if a.sign != b.sign:
        return _sign(a.sign - b.sign)
    return _sign(_KIND_ORDER[a.kind] - _KIND_ORDER[b.kind])


def _padded(parsed: _Parsed, prefix: int) -> tuple[_Item, ...]:
    missing = prefix - parsed.numeric_prefix
    if missing <= 0:
        return parsed.items
    cut = parsed.numeric_prefix
    return parsed.items[:cut] + (_ZERO,) * missing + parsed.items[cut:]


def _first_nonempty_sign(rest: Iterable[_Item]) -> int:
    for item in rest:
        if item.sign != 0:
            return item.sign
    return 0


def compare(a: str, b: str) -> int:
    """Compare two version strings: negative, zero or positive like ``a - b``."""
    if a == b:
        return 0
    pa, pb = _parse(a), _parse(b)
    prefix = max(pa.numeric_prefix, pb.numeric_prefix)
    xs, ys = _padded(pa, prefix), _padded(pb, prefix)
    for x, y in zip(xs, ys, strict=False):  # the longer tail is compared below
        rel = _compare_items(x, y)
        if rel:
            return rel
    if len(xs) > len(ys):
        return _first_nonempty_sign(xs[len(ys) :])
    if len(ys) > len(xs):
        return -_first_nonempty_sign(ys[len(xs) :])
    return 0


sort_key = functools.cmp_to_key(compare)
"""Key for ``sorted(versions, key=sort_key)`` (ascending; equal versions keep their order)."""


def max_version(versions: Iterable[str]) -> str:
    """The greatest version; on ties the first maximal one in iteration order wins."""
    it = iter(versions)
    try:
        best = next(it)
    except StopIteration:
        raise ValueError("max_version() of an empty sequence") from None
    for v in it:
        if compare(v, best) > 0:
            best = v
    return best


def is_latest_alias(version: str) -> bool:
    """Whether ``version`` is one of the strings that mean "the latest version"."""
    return version in LATEST_ALIASES
