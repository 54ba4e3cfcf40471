"""Build a self-contained folder that replaces the sc4pac GUI's ``cli/`` folder.

    python scripts/build_bundle.py --output DIR

``DIR`` receives the two launchers the GUI runs (``sc4pac`` and ``sc4pac.bat``) and ``sc4pac-py/``, a
PyInstaller one-folder build of the ``sc4pac`` command with Python and every dependency inside, so the
player's machine needs no Python. The build is for the operating system it runs on (PyInstaller does not
cross-compile); the CI workflow in ``.github/workflows/bundle.yml`` builds it on Windows, macOS and Linux.

Needs PyInstaller in the running interpreter (``pip install -e ".[bundle]"``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE_FILES = Path(__file__).resolve().parent / "bundle"
EXECUTABLE_NAME = "sc4pac-py"

# Modules that are imported by name at run time and so invisible to PyInstaller's import scan:
# uvicorn picks its loop/protocol implementations from strings, the CLI registers its commands by
# module name, and httpx loads its HTTP/2 support only when asked for.
_COLLECT_SUBMODULES = ("sc4pac", "uvicorn")
_HIDDEN_IMPORTS = ("h2", "hpack", "hyperframe")
# Modules the daemon never uses; leaving them out keeps the folder smaller.
_EXCLUDED_MODULES = (
    "tkinter",
    "unittest",
    "pydoc_data",
    "test",
    "lib2to3",
    "IPython",
    "pytest",
    "_pytest",
    # Installed beside the project by its test tools (test-data factories, validators, fuzzers).
    "polyfactory",
    "faker",
    "pydantic",
    "pydantic_core",
    "hypothesis",
    "schemathesis",
    "jsonschema",
    "openapi_spec_validator",
    # httpx's command-line client needs these; sc4pac keeps httpx from loading it (sc4pac/__init__.py).
    "rich",
    "pygments",
)


def pyinstaller_arguments(work_dir: Path, dist_dir: Path) -> list[str]:
    """The PyInstaller command line (without the program) for a one-folder build into ``dist_dir``."""
    arguments = [
        str(BUNDLE_FILES / "entry.py"),
        "--name",
        EXECUTABLE_NAME,
        "--onedir",
        "--console",
        "--noconfirm",
        "--clean",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist_dir),
        "--workpath",
        str(work_dir / "build"),
        "--specpath",
        str(work_dir),
        # The project's own folder first: an editable install is not visible to PyInstaller's scan.
        "--paths",
        str(ROOT),
        "--collect-data",
        "sc4pac",
    ]
    for module in _COLLECT_SUBMODULES:
        arguments += ["--collect-submodules", module]
    for module in _HIDDEN_IMPORTS:
        arguments += ["--hidden-import", module]
    for module in _EXCLUDED_MODULES:
        arguments += ["--exclude-module", module]
    return arguments


def folder_size(path: Path) -> int:
    """Total size in bytes of the files below ``path`` (symbolic links to files inside count once)."""
    return sum(
        entry.stat().st_size for entry in path.rglob("*") if entry.is_file() and not entry.is_symlink()
    )


def strip_libpython(output: Path) -> None:
    """Drop libpython's symbol tables and debug information (about 18 MB) on Linux and macOS.

    Only libpython: PyInstaller's ``--strip`` strips every collected library, and a stripped copy of the
    libraries that wheels vendor (numpy's OpenBLAS, used by search) no longer loads ("ELF load command
    address/offset not page-aligned"). Windows DLLs are never stripped (PyInstaller advises against it).
    """
    strip = shutil.which("strip")
    if os.name == "nt" or strip is None:
        return
    # What PyInstaller's --strip runs: all symbols on Linux, debug symbols on macOS.
    options = ["-S"] if sys.platform == "darwin" else []
    for library in output.rglob("libpython3*"):
        if library.is_file() and not library.is_symlink():
            subprocess.run([strip, *options, str(library)], check=True)


def install_launchers(output: Path) -> None:
    """Copy the GUI's launchers next to the frozen program; the POSIX one must be executable."""
    for name in ("sc4pac", "sc4pac.bat"):
        shutil.copyfile(BUNDLE_FILES / name, output / name)
    launcher = output / "sc4pac"
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# PyInstaller zlib-compresses every module in the archive, and the daemon decompresses about 550 of them
# at each start (about a twentieth of its start-up). Stored uncompressed they cost a few MB of disk
# instead. PyInstaller reads the level when its archive writers are imported, so it is set before.
ZLIB_LEVEL_ENV = "PYINSTALLER_ZLIB_COMPRESSION_LEVEL"
ZLIB_LEVEL = "0"


def build(output: Path) -> Path:
    """Build the bundle into ``output`` (replaced if it exists) and return the frozen executable."""
    os.environ.setdefault(ZLIB_LEVEL_ENV, ZLIB_LEVEL)
    try:
        import PyInstaller.__main__ as pyinstaller
    except ImportError:
        raise SystemExit('PyInstaller is not installed: pip install -e ".[bundle]"') from None
    output = output.resolve()
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="sc4pac-bundle-") as scratch:
        pyinstaller.run(pyinstaller_arguments(Path(scratch), output))
    strip_libpython(output)
    install_launchers(output)
    suffix = ".exe" if os.name == "nt" else ""
    return output / EXECUTABLE_NAME / f"{EXECUTABLE_NAME}{suffix}"


def main() -> int:
    """Build the bundle and print its size and a smoke check of the frozen program."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, type=Path, metavar="DIR", help="folder to build into")
    args = parser.parse_args()
    started = time.perf_counter()
    executable = build(args.output)
    elapsed = time.perf_counter() - started
    version = subprocess.run(
        [str(executable), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    size_mb = folder_size(args.output) / 1e6
    print(f"built {args.output} in {elapsed:.0f} s: {size_mb:.1f} MB, {version}")
    print(f"launcher for the GUI: {args.output / ('sc4pac.bat' if os.name == 'nt' else 'sc4pac')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
