"""Deleting in the background (pruned generations): done by exit, waited for where it matters."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from sc4pac import removal


def _tree(root: Path) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.dat").write_bytes(b"x")
    (root / "a" / "g.dat").write_bytes(b"y")
    (root / "a" / "g.dat").chmod(0o444)  # read-only files are deleted too
    return root / "a"


def test_a_tree_is_deleted_in_the_background_and_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _tree(tmp_path)
    release = threading.Event()
    real = removal.remove_path

    def slow(path: Path) -> None:
        release.wait(10)
        real(path)

    monkeypatch.setattr(removal, "remove_path", slow)
    removal.remove_later(tree)
    removal.remove_later(tree)  # asked twice: deleted once
    assert removal.removing(tree)
    assert tree.exists()  # the caller went on at once
    removal.wait_for_removals(tmp_path / "elsewhere")  # nothing below that folder: no wait
    release.set()
    monkeypatch.chdir(tmp_path)
    removal.wait_for_removals(Path("."))  # a relative name of the same folder waits too
    assert not tree.exists()
    assert not removal.removing(tree)


def test_a_failed_deletion_is_logged_and_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(path: Path) -> None:
        raise PermissionError(13, "Access is denied", str(path))

    monkeypatch.setattr(removal, "remove_path", refuse)
    tree = _tree(tmp_path)
    with caplog.at_level(logging.WARNING, logger="sc4pac.removal"):
        removal.remove_later(tree)
        removal.wait_for_removals()
    assert "Could not delete" in caplog.text
    assert not removal.removing(tree)
    assert tree.exists()  # left for the next pruning's leftovers
