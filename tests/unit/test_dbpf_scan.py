"""DBPF reading, QFS decompression and script classification."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sc4pac.install.dbpf import DbpfFormatError, Tgi, qfs_decompress
from sc4pac.install.scripts_scan import (
    LTEXT_TYPE,
    LUA_TYPE,
    decode_ltext,
    embedded_script_tokens,
    find_unsafe_embedded_script,
    is_safe_lua,
    is_unsafe_ltext,
    scan_file,
)

EXEMPLAR_TYPE = 0x6534284A


def qfs_compress_literal(data: bytes) -> bytes:
    """A valid QFS stream that stores ``data`` as literal runs only."""
    body = bytearray()
    i = 0
    while len(data) - i >= 4:
        run = min(112, (len(data) - i) // 4 * 4)
        body.append(0xE0 | ((run - 4) >> 2))
        body += data[i : i + run]
        i += run
    rest = len(data) - i
    body.append(0xFC | rest)
    body += data[i:]
    header = b"\x10\xfb" + len(data).to_bytes(3, "big")
    return (len(body) + 9).to_bytes(4, "little") + header + bytes(body)


def write_dbpf(
    path: Path, entries: list[tuple[int, int, int, bytes]], *, major: int = 1, index_type: int = 7
) -> None:
    """A minimal DBPF 1.0 file with the given (type, group, instance, data) entries."""
    blob = bytearray(96)
    records = bytearray()
    for t, g, i, data in entries:
        records += struct.pack("<5I", t, g, i, len(blob), len(data))
        blob += data
    index_offset = len(blob)
    blob += records
    struct.pack_into(
        "<4s11I",
        blob,
        0,
        b"DBPF",
        major,
        0,
        0,
        0,
        0,
        0,
        0,
        index_type,
        len(entries),
        index_offset,
        len(records),
    )
    path.write_bytes(bytes(blob))


def test_qfs_literal_roundtrip() -> None:
    data = bytes(range(256)) * 3 + b"xyz"
    assert qfs_decompress(qfs_compress_literal(data)) == data


def test_qfs_back_reference() -> None:
    # literal "abcd" (1-byte opcode), then copy 12 bytes from distance 4 (3-byte opcode), then end.
    expected = b"abcd" * 4
    body = bytes([0xE0]) + b"abcd" + bytes([0x80 | (12 - 4), 0x00, 4 - 1, 0xFC])
    stream = (len(body) + 9).to_bytes(4, "little") + b"\x10\xfb" + len(expected).to_bytes(3, "big") + body
    assert qfs_decompress(stream) == expected


def test_qfs_truncated_raises() -> None:
    stream = qfs_compress_literal(b"hello world, hello")[:-5]
    with pytest.raises(DbpfFormatError):
        qfs_decompress(stream)


def test_lua_entry_is_reported(tmp_path: Path) -> None:
    file = tmp_path / "lua.dat"
    write_dbpf(
        file, [(EXEMPLAR_TYPE, 1, 2, b"exemplar"), (LUA_TYPE, 0x4A5E8EF6, 1, b'io.write("Hello, world.\\n")')]
    )
    tgis = scan_file(file)
    assert [t.display() for t in tgis] == ["T:0xCA63E2A3, G:0x4A5E8EF6, I:0x00000001"]


def test_compressed_ltext_with_unsafe_script(tmp_path: Path) -> None:
    text = "#link_id#game.tool_plop_building(1);game.expire_advice()"
    raw = (len(text) | 0x10 << 24).to_bytes(4, "little") + text.encode("utf-16-le")
    file = tmp_path / "text.dat"
    write_dbpf(file, [(LTEXT_TYPE, 1, 7, qfs_compress_literal(raw)), (LTEXT_TYPE, 1, 8, b"plain text")])
    assert scan_file(file) == [Tgi(LTEXT_TYPE, 1, 7)]


def test_safe_file_and_non_dbpf(tmp_path: Path) -> None:
    safe = tmp_path / "safe.dat"
    write_dbpf(safe, [(LTEXT_TYPE, 1, 1, b"Hello #city# mayor")])
    assert scan_file(safe) == []
    other = tmp_path / "readme.txt"
    other.write_text("hello")
    assert scan_file(other) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:50],  # header cut off
        lambda b: b[:8] + b"\x05" + b[9:],  # minor version 5
        lambda b: b[:32] + b"\x01" + b[33:],  # index type 1
        lambda b: b[:40] + (10**6).to_bytes(4, "little") + b[44:],  # index beyond the end
    ],
)
def test_corrupt_dbpf_raises(tmp_path: Path, mutate) -> None:
    file = tmp_path / "bad.dat"
    write_dbpf(file, [(LUA_TYPE, 1, 1, b"x")])
    file.write_bytes(mutate(file.read_bytes()))
    with pytest.raises(DbpfFormatError):
        scan_file(file)


def test_entry_beyond_end_raises(tmp_path: Path) -> None:
    file = tmp_path / "bad.dat"
    blob = bytearray(96) + struct.pack("<5I", LTEXT_TYPE, 1, 1, 5000, 10)
    struct.pack_into("<4s11I", blob, 0, b"DBPF", 1, 0, 0, 0, 0, 0, 0, 7, 1, 96, 20)
    file.write_bytes(bytes(blob))
    with pytest.raises(DbpfFormatError):
        scan_file(file)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("a ## b", []),
        ("a # 40 + 2 # c", [" 40 + 2 "]),
        ("#40 + 2#", ["40 + 2"]),
        ("a # 1 # b # 2 # c", [" 1 ", " 2 "]),
        ("a # 1 # b # 2", [" 1 "]),
        ("a ## b #1# b ## c #2# d ## e", ["1", "2"]),
        ("a #1 + 2 ## 3 + 4# b ## c #5 + 6", ["1 + 2 ## 3 + 4"]),
        ("#(40+\n2)#", ["(40+\n2)"]),
        ("#(40+\r\n2)#", ["(40+\r\n2)"]),
        ("##40 + 2##", []),
        ("\\#40 + 2\\#", ["40 + 2\\"]),
        ("#40 + 2 ## 40 + 3#", ["40 + 2 ## 40 + 3"]),
        ("#40 + 2", []),
        ("# 'ab#cd' #", [" 'ab"]),
        ("# 'ab##cd' #", [" 'ab##cd' "]),
        ("# 'ab\\#cd' #", [" 'ab\\"]),
        ("###40 + 2###abc", ["40 + 2##"]),
        ("###40 + 2#abc", ["40 + 2"]),
        ("### 40 + 2 ### 40 + 3 # 40 + 4 #", [" 40 + 2 ##", " 40 + 4 "]),
        ("### 40 + 2 ## 40 + 3 # 40 + 4 #", [" 40 + 2 ## 40 + 3 "]),
        ("### 40 + 2 ## 1 ### 40 + 3 # 40 + 4 #", [" 40 + 2 ## 1 ##", " 40 + 4 "]),
        ("####40 + 2####", []),
        ("####40 + 2#####5#", ["5"]),
        ("#40 + 2####40 + 3###", ["40 + 2####40 + 3##"]),
    ],
)
def test_embedded_tokens(text: str, tokens: list[str]) -> None:
    assert embedded_script_tokens(text) == tokens


UNSAFE = [
    "link_id",
    " link_id ",
    "(link_id)",
    "sit_link_id",
    "functioncall()",
    "functioncall(42)",
    "functioncall'xy'",
    "functioncall 'xy'",
    'functioncall"xy"',
    'functioncall "xy"',
    "functioncall [[xy]]",
    "functioncall{x,y}",
    "x = 42",
    "[abc]",
    ' "abc" .. "def" ',
    "1 + 2 + 3",
]
SAFE = [
    "tuning_constants.MAYOR_HOUSE_POP",
    "city",
    " City ",
    "m:49cac341",
    "d:27812852",
    "game.g_arrest_count",
    "game . g_date",
    "building_initial_cost",
    ' "abc" ',
    ' "\\n" ',
    " '\\n' ",
    "[[abc]]",
]


@pytest.mark.parametrize("token", UNSAFE)
def test_unsafe_lua(token: str) -> None:
    assert not is_safe_lua(token)


@pytest.mark.parametrize("token", SAFE)
def test_safe_lua(token: str) -> None:
    assert is_safe_lua(token)


@pytest.mark.parametrize(
    "text",
    [
        "#link_id#game.tool_plop_building(building_tool_types.MAYORS_STATUE4);game.expire_advice()",
        "#link_id#game..",
        "sc4://advice/000..",
    ],
)
def test_unsafe_ltext_texts(text: str) -> None:
    assert find_unsafe_embedded_script(text) is not None
    assert is_unsafe_ltext(text.encode("ascii"))


@pytest.mark.parametrize(
    ("data", "unsafe"),
    [
        (b"RIFF....WAVE", True),
        (b"XA\0\0abcd", True),
        (b"version 7 thing", True),
        (b"bad \x01 byte", True),  # not printable ASCII
        ((5).to_bytes(3, "little") + b"\x08" + "héllo".encode(), False),
        ((6).to_bytes(3, "little") + b"\x08" + "héllo".encode(), True),  # count mismatch
        ((2).to_bytes(3, "little") + b"\x10" + "ok".encode("utf-16-le"), False),
        ((3).to_bytes(3, "little") + b"\x00" + b"abc", False),
        (b"ab", False),
    ],
)
def test_ltext_decoding(data: bytes, unsafe: bool) -> None:
    assert is_unsafe_ltext(data) is unsafe


def test_decode_ltext_utf16() -> None:
    data = (3).to_bytes(3, "little") + b"\x10" + "abc".encode("utf-16-le")
    assert decode_ltext(data) == "abc"
