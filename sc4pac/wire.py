"""The JSON wire rules, in one place.

The reference server writes JSON with upickle defaults, and the GUI and existing profile files depend on
them:

* tagged messages carry ``"$type"`` as their first key (msgspec ``tag_field``);
* fields equal to their default are omitted (msgspec ``omit_defaults=True`` on every Struct);
* optional values ("Option") are JSON arrays: none = ``[]``, some = ``[x]``. Structs type them as
  ``list[T]``; :func:`opt` and :func:`unopt` convert;
* 64-bit integers beyond 2**53 are written as decimal strings (:func:`int64`);
* ``indent=N`` pretty-prints like ``json.dumps(indent=N, ensure_ascii=False)``; ``-1`` is compact.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_MAX_SAFE_INT = 2**53

_encoder = msgspec.json.Encoder()


class WireStruct(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    """Base of every untagged wire/on-disk struct: defaults omitted, unknown keys ignored."""


class FrozenWireStruct(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=False):
    """A :class:`WireStruct` that is immutable and hashable (a frozen subclass of a mutable base
    would work in msgspec, but type checkers apply dataclass rules and reject it)."""


class TaggedStruct(msgspec.Struct, omit_defaults=True, tag_field="$type"):
    """Base of every ``$type``-tagged message; subclasses set ``tag=...``."""


def encode(obj: Any, indent: int = -1) -> bytes:
    """Encode ``obj`` to JSON bytes following the wire rules (``indent`` -1 = compact)."""
    data = _encoder.encode(obj)
    if indent >= 0:
        data = msgspec.json.format(data, indent=indent)
    return data


def decode(data: bytes | str, type: type[T]) -> T:
    """Decode JSON into ``type`` (strict types, unknown keys ignored)."""
    return msgspec.json.decode(data, type=type)


def opt(value: T | None) -> list[T]:
    """An Option as its wire array."""
    return [] if value is None else [value]


def unopt(value: list[T] | None) -> T | None:
    """The value of a wire Option array (``None`` when empty)."""
    return value[0] if value else None


def int64(value: int) -> int | str:
    """A 64-bit integer as the reference writes it: a number up to 2**53, a string beyond."""
    return value if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else str(value)
