"""CLI processes and the daemon writing one profile at once, and file-system faults the player can fix
(full disk, read-only folders), which must be reported as such and never as "looks like a bug"."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cli.conftest import DemoProfile, cli_env
from tests.thread_daemon import ThreadDaemon

# The default run races a few CLI processes against the daemon; the `long` run many more.
QUICK = (3, 20)  # CLI writer processes, daemon writes
SOAK = (12, 60)


@pytest.mark.parametrize(
    "writers", [pytest.param(QUICK, id="quick"), pytest.param(SOAK, id="soak", marks=pytest.mark.long)]
)
def test_cli_processes_and_daemon_lose_no_writes(
    demo_profile: DemoProfile, daemon: ThreadDaemon, writers: tuple[int, int]
) -> None:
    cli_writers, daemon_writes = writers
    cli = [
        subprocess.Popen(
            [sys.executable, "-m", "sc4pac", *demo_profile.argv("add", f"cli:pkg-{n}")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=cli_env(),
            cwd=demo_profile.root,
        )
        for n in range(cli_writers)
    ]
    try:
        with daemon.client() as http, ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(
                    lambda n: (
                        http.post("/plugins.add", params={"profile": "1"}, json=[f"gui:pkg-{n}"]).status_code
                    ),
                    range(daemon_writes),
                )
            )
        assert statuses == [200] * daemon_writes
        for proc in cli:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    finally:
        for proc in cli:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    with daemon.client() as http:
        added = set(http.get("/plugins.added.list", params={"profile": "1"}).json())
    expected = {f"cli:pkg-{n}" for n in range(cli_writers)} | {f"gui:pkg-{n}" for n in range(daemon_writes)}
    assert expected - added == set()


# --- file-system faults --------------------------------------------------------------------------


def _root_mounts_possible() -> str | None:
    """Why a private mount namespace cannot be used here, or None when it can."""
    if sys.platform != "linux":
        return "mount namespaces are Linux-only"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if shutil.which("unshare") is None:
        return "unshare(1) not installed"
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"cannot mount a tmpfs in a private mount namespace: {probe.stderr.decode().strip()}"
    return None


def _cli_in_mount_namespace(
    demo: DemoProfile, mount_script: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI inside ``unshare -m`` after ``mount_script`` (the mounts vanish with the process)."""
    command = " ".join(f"'{a}'" for a in [sys.executable, "-m", "sc4pac", *demo.argv(*args)])
    return subprocess.run(
        ["unshare", "-m", "sh", "-ec", f"{mount_script}\nexec {command}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=cli_env(),
        cwd=demo.root,
        stdin=subprocess.DEVNULL,
    )


def _assert_not_a_bug(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, result.stderr
    assert "looks like a bug" not in result.stderr
    assert "Traceback" not in result.stderr


def test_disk_full_during_an_update_names_the_folder(demo_profile: DemoProfile) -> None:
    reason = _root_mounts_possible()
    if reason is not None:
        pytest.skip(reason)
    assert demo_profile.run("add", "demo:mega-mall", "demo:park-bench-props") == 0  # set-up, in this process
    plugins = demo_profile.plugins
    # 8 KB: less than the packages need, so moving them in fails with ENOSPC.
    result = _cli_in_mount_namespace(
        demo_profile, f"mount -t tmpfs -o size=8k tmpfs '{plugins}'", "update", "--yes"
    )
    _assert_not_a_bug(result)
    assert "Error: The disk is full." in result.stderr
    assert str(plugins) in result.stderr
    assert "free" in result.stderr
    assert "more is needed" in result.stderr  # what the staged packages take


def test_disk_full_while_writing_a_profile_file(demo_profile: DemoProfile) -> None:
    reason = _root_mounts_possible()
    if reason is not None:
        pytest.skip(reason)
    profile_dir = demo_profile.profiles_dir / "1"
    # A tmpfs over the profile folder, holding a copy of its files and filled up to the last byte.
    script = (
        f"cp -a '{profile_dir}' /tmp/sc4pac-copy-$$\n"
        f"mount -t tmpfs -o size=64k tmpfs '{profile_dir}'\n"
        f"cp -a /tmp/sc4pac-copy-$$/. '{profile_dir}/' && rm -rf /tmp/sc4pac-copy-$$\n"
        f"dd if=/dev/zero of='{profile_dir}/filler' bs=4k 2>/dev/null || true"
    )
    result = _cli_in_mount_namespace(demo_profile, script, "add", "demo:mega-mall")
    _assert_not_a_bug(result)
    assert "Error: The disk is full." in result.stderr
    assert str(profile_dir) in result.stderr
    # The file was not damaged by the failed write.
    assert demo_profile.run("list", "--json") == 0


def test_read_only_plugins_folder_is_access_denied(demo_profile: DemoProfile) -> None:
    reason = _root_mounts_possible()
    if reason is not None:
        pytest.skip(reason)
    assert demo_profile.run("add", "demo:mega-mall") == 0  # set-up, in this process
    plugins = demo_profile.plugins
    # Root ignores permission bits, so a read-only bind mount stands in for a read-only folder.
    result = _cli_in_mount_namespace(
        demo_profile,
        f"mount --bind '{plugins}' '{plugins}'\nmount -o remount,bind,ro '{plugins}'",
        "update",
        "--yes",
    )
    _assert_not_a_bug(result)
    assert "Error: Access denied" in result.stderr
    assert str(plugins) in result.stderr
    assert "OneDrive" in result.stderr


def test_read_only_profile_folder_is_access_denied(demo_profile: DemoProfile) -> None:
    reason = _root_mounts_possible()
    if reason is not None:
        pytest.skip(reason)
    folder = demo_profile.profiles_dir / "1"
    result = _cli_in_mount_namespace(
        demo_profile,
        f"mount --bind '{folder}' '{folder}'\nmount -o remount,bind,ro '{folder}'",
        "add",
        "demo:x",
    )
    _assert_not_a_bug(result)
    assert "Error: Access denied" in result.stderr
    assert str(folder) in result.stderr


def test_permission_errors_anywhere_are_mapped_in_the_cli(
    demo_profile: DemoProfile, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without root: simulate an antivirus denying the replace of the spec file.
    def denied(src: object, dst: object) -> None:
        raise PermissionError(errno.EACCES, "Access is denied", str(dst))

    monkeypatch.setattr("sc4pac.atomic.os.replace", denied)
    capsys.readouterr()
    assert demo_profile.run("add", "demo:mega-mall") == 1
    err = capsys.readouterr().err
    assert "Error: Access denied" in err
    assert "sc4pac-plugins.json" in err
    assert "looks like a bug" not in err
