"""A second adversarial pass through the API: folder paths a player can type that the OS refuses must
come back as typed errors naming the folder, never as "Unhandled error ... looks like a bug"."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from sc4pac.errors import UNHANDLED_TITLE, FileOperationsFailed, as_domain_error

from .inprocess import api_client


def test_init_with_a_path_that_cannot_be_a_folder_is_a_bad_request(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    good = str(tmp_path / "good")
    cases = [  # (plugins, cache): before, each was a 500 "Unhandled error"
        (str(a_file), good),  # a file, not a folder
        (str(a_file / "Plugins"), good),  # inside a file
        (str(tmp_path / ("x" * 300)), good),  # a segment too long for any file system
        ("Plug\x00ins", good),  # a NUL character
        (good, str(a_file / "cache")),  # the cache inside a file
    ]
    with api_client(profiles) as (http, _):
        pid = http.post("/profiles.add", json={"name": "P"}).json()["id"]
        for plugins, cache in cases:
            answer = http.post(
                "/profile.init",
                params={"profile": pid},
                json={"plugins": plugins, "cache": cache, "temp": "t"},
            )
            assert answer.status_code == 400, answer.text
            assert answer.json()["$type"] == "/error/init/bad-request"
            assert "cannot be used" in answer.json()["title"]
        # Nothing was written: the profile can still be initialized with good folders.
        retry = http.post(
            "/profile.init",
            params={"profile": pid},
            json={"plugins": str(tmp_path / "ok"), "cache": str(tmp_path / "c"), "temp": "t"},
        )
        assert retry.status_code == 200, retry.text


@pytest.mark.parametrize(
    "code", [errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.EIO, errno.ELOOP, errno.ENOENT]
)
def test_any_os_error_naming_a_path_is_a_file_operation_error(tmp_path: Path, code: int) -> None:
    target = tmp_path / "Plugins" / "x.dat"
    mapped = as_domain_error(OSError(code, "reason", str(target)))
    assert isinstance(mapped, FileOperationsFailed)
    assert mapped.title != UNHANDLED_TITLE
    assert str(target) in mapped.title
    assert mapped.to_wire()["$type"] == "/error/file-operations-failed"
    # Without a path there is nothing a player could check: still reported as a bug.
    assert as_domain_error(OSError(code, "reason")) is None
