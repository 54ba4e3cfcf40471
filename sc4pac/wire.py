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

import functools
from typing import Any, TypeVar

import msgspec
import msgspec.inspect

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


# Free-form JSON from outside (settings, prompt answers) may nest at most this deep. Real documents
# nest a handful of levels; a bound keeps decoding, storing and re-encoding them far from the
# interpreter's recursion limit, whichever thread does it.
MAX_INPUT_DEPTH = 64


def decode_input(data: bytes | str, type: type[T]) -> T:
    """Decode JSON that comes from outside (request bodies, websocket messages) into ``type``.

    Malformed, mistyped and too deeply nested input all raise ``msgspec.ValidationError`` or
    ``msgspec.DecodeError``, never ``RecursionError``, so callers map every bad input to one answer.
    """
    try:
        value = msgspec.json.decode(data, type=type)
    except RecursionError:
        raise msgspec.ValidationError(_too_deep()) from None
    # Only free-form parts can nest without bound; a fully typed value has the depth of its type.
    free_form: bool = _holds_free_json(type)  # type: ignore[arg-type]  # (types are hashable)
    if free_form and _nesting_exceeds(value, MAX_INPUT_DEPTH):
        raise msgspec.ValidationError(_too_deep())
    return value


@functools.cache
def _holds_free_json(type_: Any) -> bool:
    """Whether values of ``type_`` may contain arbitrary JSON (``Any`` somewhere in the type)."""
    seen: set[int] = set()
    pending: list[Any] = [msgspec.inspect.type_info(type_)]
    while pending:
        info = pending.pop()
        if isinstance(info, msgspec.inspect.AnyType):
            return True
        if id(info) in seen:
            continue  # recursive types refer back to themselves
        seen.add(id(info))
        if isinstance(info, msgspec.inspect.Type):
            pending.extend(getattr(info, name) for name in info.__struct_fields__)
        elif isinstance(info, msgspec.inspect.Field):
            pending.append(info.type)
        elif isinstance(info, tuple):
            pending.extend(info)
    return False


def _too_deep() -> str:
    return f"JSON nested more than {MAX_INPUT_DEPTH} levels deep"


def _nesting_exceeds(value: Any, limit: int) -> bool:
    # Iterative, so checking a deep value cannot itself overflow the stack; linear in the value's size.
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        elif isinstance(item, msgspec.Struct):
            children = [getattr(item, name) for name in item.__struct_fields__]
        else:
            continue
        if depth >= limit:
            return True
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, (dict, list, tuple, msgspec.Struct))
        )
    return False


def opt(value: T | None) -> list[T]:
    """An Option as its wire array."""
    return [] if value is None else [value]


def unopt(value: list[T] | None) -> T | None:
    """The value of a wire Option array (``None`` when empty)."""
    return value[0] if value else None


def int64(value: int) -> int | str:
    """A 64-bit integer as the reference writes it: a number up to 2**53, a string beyond."""
    return value if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else str(value)
