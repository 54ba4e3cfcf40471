"""Opening asset files of every supported format and reading their entries uniformly.

Formats: ZIP/JAR (``zipfile``), 7z (``py7zr``), RAR/NSIS/anything else via a 7-Zip binary, Clickteam
installers via ``cicdec``, and single plain files. Readers list entries with sanitised relative paths
and write a chosen entry to a chosen destination; they never decide where files go.

Hostile archives are refused before anything is written: entry names that climb above the root,
absolute or drive-qualified names, links and device entries, and sizes that look like a decompression
bomb all raise :class:`ExtractionFailed`. Names Windows cannot store are only recorded on the entry
(:attr:`ArchiveEntry.problem`): they fail the extraction when the entry is actually installed, so a
stray macOS ``Icon\r`` the recipe does not select never blocks a package. All functions are
synchronous; callers run them in a worker thread.
"""

from __future__ import annotations

import dataclasses
import enum
import errno
import hashlib
import os
import re
import shutil
import stat
import subprocess
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from ..errors import DiskFull, ExtractionFailed
from ..models.channel import ArchiveType
from ..winnames import path_problem, shown

PLUGIN_FILE_SUFFIXES = (".dat", ".sc4model", ".sc4lot", ".sc4desc", ".sc4", ".dll")
NESTED_ARCHIVE_SUFFIXES = (".jar", ".zip", ".7z", ".rar", ".exe")

SEVEN_ZIP_ENV = "SC4PAC_7Z_CMD"
SEVEN_ZIP_NAMES = ("7z", "7zz", "7za")
CICDEC_ENV = "SC4PAC_CICDEC_CMD"
MONO_ENV = "SC4PAC_MONO_CMD"
EXTERNAL_TOOL_TIMEOUT_SECONDS = 240

_COPY_CHUNK = 1 << 20


class ArchiveKind(enum.Enum):
    ZIP = "zip"
    JAR = "jar"
    SEVEN_ZIP = "7z"
    NATIVE_7Z = "native-7z"
    CLICKTEAM = "clickteam"
    SINGLE_FILE = "single-file"


@dataclass(frozen=True, slots=True)
class ArchiveFormat:
    """How to open one asset file."""

    kind: ArchiveKind
    single_file_name: str | None = None
    clickteam_version: str | None = None


# The archive budget of one asset, counted over the asset file and every archive nested in it (a zip of
# zips is budgeted as a whole, so splitting a bomb into small inner archives does not help).
# Documented in api.md ("Archive budget").
MAX_ASSET_BYTES = 64 << 30  # uncompressed bytes of all entries at all nesting levels
MAX_ASSET_ENTRIES = 100_000  # file and folder entries at all nesting levels
MAX_ASSET_RATIO = 200.0  # uncompressed bytes per byte of the downloaded asset (and per entry/archive)
RATIO_FLOOR_BYTES = 50 << 20  # the ratio only applies once this many bytes are reached


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    """Decompression-bomb guards: absolute caps and a ratio that only applies to large outputs."""

    max_total_bytes: int = MAX_ASSET_BYTES
    max_ratio: float = MAX_ASSET_RATIO
    ratio_floor_bytes: int = RATIO_FLOOR_BYTES
    max_entries: int = MAX_ASSET_ENTRIES


DEFAULT_LIMITS = ExtractionLimits()


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One regular file of an archive: ``path`` is sanitised (``a/b.dat``); ``raw`` as stored."""

    path: str
    raw: str
    size: int
    compressed_size: int | None = None
    problem: str | None = None  # why Windows cannot store this name; fails only if it is installed

    @property
    def match_path(self) -> str:
        """The string include/exclude patterns are searched in (``/a/b.dat``)."""
        return "/" + self.path

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """What a reader learnt about a file while writing it, so that nobody has to read it back."""

    size: int
    sha256: str  # hex
    head: bytes  # the first bytes of the content (up to 1 MiB)

    @property
    def whole(self) -> bool:
        """Whether :attr:`head` is the entire content."""
        return len(self.head) == self.size


class ArchiveReader(Protocol):
    """Entries of one opened archive and a way to write one of them to a file."""

    def entries(self) -> Sequence[ArchiveEntry]: ...

    def extract(self, entry: ArchiveEntry, destination: Path) -> WrittenFile | None:
        """Write ``entry`` to ``destination`` (whose folder exists), replacing a file or link there.

        Returns what was seen of the content while writing it, or None when the reader did not look.
        """
        ...


# --- format detection ---------------------------------------------------------------------------


def detect_format(
    cached_name: str, content_disposition_name: str | None, archive_type: ArchiveType | None
) -> ArchiveFormat:
    """Pick the archive format from the file names and the asset's ``archiveType``."""
    names = [n.lower() for n in (cached_name, content_disposition_name) if n]
    is_exe = any(n.endswith(".exe") for n in names)
    if is_exe and archive_type is not None and archive_type.format.lower() == "clickteam":
        return ArchiveFormat(ArchiveKind.CLICKTEAM, clickteam_version=archive_type.version)
    if any(n.endswith((".exe", ".rar")) for n in names):
        return ArchiveFormat(ArchiveKind.NATIVE_7Z)
    if any(n.endswith(".7z") for n in names):
        return ArchiveFormat(ArchiveKind.SEVEN_ZIP)
    primary = content_disposition_name or cached_name
    if primary.lower().endswith(PLUGIN_FILE_SUFFIXES):
        # A Content-Disposition name is remote input: keep only its last segment.
        base = primary.replace("\\", "/").rsplit("/", 1)[-1]
        return ArchiveFormat(ArchiveKind.SINGLE_FILE, single_file_name=base)
    if any(n.endswith(".jar") for n in names):
        return ArchiveFormat(ArchiveKind.JAR)
    return ArchiveFormat(ArchiveKind.ZIP)


# --- entry names --------------------------------------------------------------------------------

_DRIVE_PREFIX = re.compile(r"^[A-Za-z]:")


def unreadable_entry(archive_label: str, name: str, why: str = "") -> ExtractionFailed:
    """The error for an entry that cannot or must not be extracted (its name shown escaped)."""
    reason = f" ({why})" if why else ""
    return ExtractionFailed(
        f'Failed to read some file(s) from "{archive_label}".',
        f"The file {shown(name)} cannot be extracted{reason}. This can happen when a file name contains "
        "illegal characters. Please report the problem.",
    )


def split_entry_name(raw: str, archive_label: str) -> tuple[str | None, str | None]:
    """The relative ``/``-joined path of an entry (``None``: nothing to extract) and why Windows could
    not store it (``None``: it can).

    Raises at once for names that would escape the target folder, whether selected or not.
    """
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE_PREFIX.match(name):
        raise unreadable_entry(archive_label, raw, "absolute path")
    segments: list[str] = []
    for segment in name.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                raise unreadable_entry(archive_label, raw, "it points outside the archive")
            segments.pop()
            continue
        segments.append(segment)
    if not segments:
        return None, None
    path = "/".join(segments)
    return path, path_problem(path)


def sanitize_entry_name(raw: str, archive_label: str) -> str | None:
    """The relative ``/``-joined path of an entry, ``None`` if there is nothing to extract.

    Raises for names that would escape the target folder or that Windows cannot store.
    """
    path, problem = split_entry_name(raw, archive_label)
    if problem is not None:
        raise unreadable_entry(archive_label, raw, problem)
    return path


def mark_case_twins(entries: Sequence[ArchiveEntry]) -> list[ArchiveEntry]:
    """``entries`` with every later path that differs from an earlier one only in case, or that is
    spelled differently but names the same file, marked as a problem: both would be stored as one
    file, silently keeping only the last."""
    first: dict[str, ArchiveEntry] = {}
    marked: list[ArchiveEntry] = []
    for entry in entries:
        seen = first.setdefault(entry.path.casefold(), entry)
        if entry.problem is None and seen.path != entry.path:
            why = f"its name differs from {shown(seen.path)} only in upper and lower case"
            entry = dataclasses.replace(entry, problem=why)
        elif entry.problem is None and seen.raw != entry.raw:
            # ``a\\b.dat`` beside ``a/b.dat`` (or ``a/./b.dat``): two entries, one file, the last one wins.
            why = f"it is spelled differently but names the same file as {shown(seen.raw)}"
            entry = dataclasses.replace(entry, problem=why)
        marked.append(entry)
    return marked


def check_sizes(
    entries: Sequence[ArchiveEntry], archive_size: int, archive_label: str, limits: ExtractionLimits
) -> None:
    """Refuse one archive whose declared output is absurdly large for its size (zip bombs)."""
    total = 0
    for entry in entries:
        total += entry.size
        if (
            entry.compressed_size is not None
            and entry.size > limits.ratio_floor_bytes
            and entry.size > limits.max_ratio * max(entry.compressed_size, 1)
        ):
            raise _bomb(
                archive_label,
                f"The file {shown(entry.raw)} expands from {entry.compressed_size} to {entry.size} bytes.",
            )
    if total > limits.max_total_bytes or (
        total > limits.ratio_floor_bytes and total > limits.max_ratio * max(archive_size, 1)
    ):
        raise _bomb(archive_label, f"The archive of {archive_size} bytes expands to {total} bytes.")


class ExtractionBudget:
    """What one asset may expand to, charged by every archive opened for it, nested ones included.

    One budget is threaded through the outer archive and each nested archive, so the limits hold for
    the asset as a whole: total bytes, entry count, and bytes per byte of the downloaded asset.
    """

    def __init__(self, limits: ExtractionLimits, asset_size: int, asset_label: str) -> None:
        self.limits = limits
        self.asset_size = asset_size
        self.asset_label = asset_label
        self.total_bytes = 0
        self.entries = 0

    def trial(self) -> ExtractionBudget:
        """A copy to charge declared sizes against without touching this budget."""
        copy = ExtractionBudget(self.limits, self.asset_size, self.asset_label)
        copy.total_bytes, copy.entries = self.total_bytes, self.entries
        return copy

    def remaining_bytes(self) -> int:
        """Bytes still allowed before the absolute or the ratio limit is hit."""
        by_ratio = max(self.limits.ratio_floor_bytes, int(self.limits.max_ratio * max(self.asset_size, 1)))
        return max(0, min(self.limits.max_total_bytes, by_ratio) - self.total_bytes)

    def charge(
        self, entries: Sequence[ArchiveEntry], archive_size: int, archive_label: str, folders: int = 0
    ) -> None:
        """Account for the entries of one archive (checked on their own, then against the asset).

        ``folders`` counts the archive's folder entries: each one is a directory created on disk (a 13 KB
        7z of 20,000 empty folders took 45 s to unpack and delete), so they count against the entry limit.
        """
        check_sizes(entries, archive_size, archive_label, self.limits)
        self.entries += len(entries) + folders
        self._charge_bytes(sum(e.size for e in entries), archive_label)

    def charge_extra(self, extra_bytes: int, extra_entries: int, archive_label: str) -> None:
        """Account for bytes and files an extraction produced beyond what its headers declared."""
        self.entries += max(0, extra_entries)
        self._charge_bytes(max(0, extra_bytes), archive_label)

    def _charge_bytes(self, count: int, archive_label: str) -> None:
        self.total_bytes += count
        limits = self.limits
        if self.entries > limits.max_entries:
            raise _bomb(
                archive_label,
                f"The asset {shown(self.asset_label)} holds more than {limits.max_entries} files and folders "
                "(nested archives included).",
            )
        if self.total_bytes > limits.max_total_bytes or (
            self.total_bytes > limits.ratio_floor_bytes
            and self.total_bytes > limits.max_ratio * max(self.asset_size, 1)
        ):
            raise _bomb(
                archive_label,
                f"The asset {shown(self.asset_label)} of {self.asset_size} bytes expands to more than "
                f"{self.total_bytes} bytes (nested archives included).",
            )


def _bomb(archive_label: str, what: str) -> ExtractionFailed:
    return ExtractionFailed(
        f'Failed to read some file(s) from "{archive_label}".',
        f"{what} This looks like a decompression bomb, so the archive was not extracted.",
    )


# --- readers ------------------------------------------------------------------------------------


def _copy_stream(src: IO[bytes], destination: Path) -> WrittenFile:
    # Hashing while copying saves reading every installed file back for its checksum and its record.
    digest = hashlib.sha256()
    size = 0
    head = b""
    with _open_new(destination) as dst:
        while chunk := src.read(_COPY_CHUNK):
            if not size:
                head = chunk
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    return WrittenFile(size, digest.hexdigest(), head)


def _open_new(destination: Path) -> BinaryIO:
    """``destination`` opened for writing as a new file (see :func:`_prepare_destination`)."""
    try:
        # Exclusive creation never follows a link, and usually the name is new: no lookup first.
        return open(destination, "xb")
    except FileExistsError:
        _prepare_destination(destination)
        return open(destination, "wb")


def _prepare_destination(destination: Path) -> None:
    """Make room for a new file: a file or a link already there is removed (never written through)."""
    try:
        mode = os.lstat(destination).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode) or stat.S_ISREG(mode):
        destination.unlink()


class ZipReader:
    """ZIP and JAR archives, streamed entry by entry with ``zipfile``."""

    def __init__(self, path: Path, *, jar: bool, label: str, budget: ExtractionBudget) -> None:
        self._label = label
        try:
            # Names without the UTF-8 flag are CP437 in ZIPs; JARs are always UTF-8.
            self._zip = zipfile.ZipFile(path, metadata_encoding="utf-8" if jar else None)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ExtractionFailed(
                f'Failed to extract "{label}".', f"Not a readable ZIP archive: {exc}"
            ) from exc
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._entries: list[ArchiveEntry] = []
        folders = 0
        for info in self._zip.infolist():
            if info.is_dir() or info.filename.endswith("\\"):
                folders += 1
                continue
            # Unix hosts keep the file type in the high bits; many writers leave it zero.
            file_type = stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0
            if file_type == stat.S_IFDIR:
                folders += 1
                continue
            if file_type not in (0, stat.S_IFREG):
                raise unreadable_entry(label, info.filename)  # symlink, device, fifo or socket
            path_, problem = split_entry_name(info.filename, label)
            if path_ is None:
                continue
            entry = ArchiveEntry(path_, info.filename, info.file_size, info.compress_size, problem)
            self._infos[info.filename] = info
            self._entries.append(entry)
        self._entries = mark_case_twins(self._entries)
        budget.charge(self._entries, path.stat().st_size, label, folders)

    def entries(self) -> Sequence[ArchiveEntry]:
        return self._entries

    def extract(self, entry: ArchiveEntry, destination: Path) -> WrittenFile:
        try:
            # zipfile never yields more than the declared size and checks the CRC at the end.
            with self._zip.open(self._infos[entry.raw]) as src:
                return _copy_stream(src, destination)
        except (
            zipfile.BadZipFile,
            zlib.error,
            RuntimeError,
            NotImplementedError,
            EOFError,
            ValueError,
        ) as exc:
            # A damaged deflate stream or CRC: name the entry, the archive is what needs replacing.
            raise ExtractionFailed(
                f'Failed to extract "{self._label}".',
                f"The file {shown(entry.raw)} in the archive is damaged ({type(exc).__name__}: {exc}).",
            ) from exc

    def close(self) -> None:
        self._zip.close()


class FolderReader:
    """A directory of already extracted files (7z, 7-Zip or Clickteam output in a private scratch dir)."""

    def __init__(self, root: Path, *, label: str, unextracted: Sequence[ArchiveEntry] = ()) -> None:
        self._root = root
        # Entries with names Windows cannot store were never written; listing them lets the install
        # step refuse them by name if (and only if) the recipe selects them.
        self._entries: list[ArchiveEntry] = list(unextracted)
        self._files: dict[str, Path] = {}
        left_out = {e.path for e in unextracted}
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            base = Path(dirpath)
            dirnames.sort()
            for filename in sorted(filenames):
                file = base / filename
                if file.is_symlink() or not file.is_file():
                    continue  # earlier validation refused links; nothing else is worth reading
                raw = file.relative_to(root).as_posix()
                path_, problem = split_entry_name(raw, label)
                if path_ is None or path_ in left_out:
                    continue
                self._entries.append(ArchiveEntry(path_, raw, file.stat().st_size, None, problem))
                self._files[raw] = file

    def entries(self) -> Sequence[ArchiveEntry]:
        return self._entries

    def extract(self, entry: ArchiveEntry, destination: Path) -> None:
        """Link or copy the extracted file; its content is not looked at."""
        source = self._files.get(entry.raw)
        if source is None:
            raise unreadable_entry(str(self._root), entry.raw, entry.problem or "it was not extracted")
        _prepare_destination(destination)
        try:
            # The scratch dir is ours and deleted afterwards, so a hard link saves a copy.
            os.link(source, destination)
        except OSError:
            shutil.copyfile(source, destination)

    def close(self) -> None:
        return None


class SingleFileReader:
    """A plain plugin file that is its own one-entry archive."""

    def __init__(self, path: Path, name: str, *, label: str) -> None:
        self._path = path
        path_ = sanitize_entry_name(name, label)
        if path_ is None:
            raise unreadable_entry(label, name)
        self._entries = [ArchiveEntry(path_, name, path.stat().st_size)]

    def entries(self) -> Sequence[ArchiveEntry]:
        return self._entries

    def extract(self, entry: ArchiveEntry, destination: Path) -> None:
        """Copy the file; its content is not looked at."""
        # Always a copy: the source lives in the download cache and must stay intact.
        _prepare_destination(destination)
        shutil.copyfile(self._path, destination)

    def close(self) -> None:
        return None


# --- 7z via py7zr -------------------------------------------------------------------------------


def _extract_7z(path: Path, scratch: Path, label: str, budget: ExtractionBudget) -> list[ArchiveEntry]:
    """Unpack a 7z archive into ``scratch``; returns the entries left out because Windows cannot store
    their names (they stay listed so that selecting one fails with its name)."""
    # Imported where a 7z archive is met: py7zr and its codecs (AES, zstd, PPMd, BCJ) take ~50 ms to
    # import, paid by the first update after every start although most assets are ZIP files.
    import py7zr

    try:
        with py7zr.SevenZipFile(path, "r") as archive:
            listed: list[ArchiveEntry] = []
            folders = 0
            for info in archive.list():
                if info.is_directory:
                    folders += 1
                    continue
                if info.is_symlink or not info.is_file:
                    raise unreadable_entry(label, info.filename)
                path_, problem = split_entry_name(info.filename, label)
                if path_ is not None:
                    listed.append(ArchiveEntry(path_, info.filename, info.uncompressed, None, problem))
        listed = mark_case_twins(listed)  # left out below, so Windows never merges them in scratch
        budget.charge(listed, path.stat().st_size, label, folders)
        skipped = [e for e in listed if e.problem is not None]
        # The cap makes py7zr stop if the data turns out larger than the headers declared or than the
        # asset's remaining budget allows.
        cap = min(budget.remaining_bytes() + sum(e.size for e in listed), sum(e.size for e in listed) + 1)
        with py7zr.SevenZipFile(path, "r", max_extract_size=max(cap, 1)) as archive:
            if skipped:
                archive.extract(path=scratch, targets=[e.raw for e in listed if e.problem is None])
            else:
                archive.extractall(path=scratch)
        return skipped
    except ExtractionFailed:
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull.for_folder(scratch) from exc
        raise _damaged_7z(path, label, exc) from exc
    except (py7zr.Bad7zFile, py7zr.exceptions.ArchiveError, ValueError, EOFError, KeyError) as exc:
        raise _damaged_7z(path, label, exc) from exc
    except Exception as exc:  # py7zr raises assorted types for corrupt or unsupported data
        raise _damaged_7z(path, label, exc) from exc


def _damaged_7z(path: Path, label: str, exc: BaseException) -> ExtractionFailed:
    """The error for a 7z archive that failed to unpack, naming the damaged entry where it is known."""
    import py7zr

    names: list[str] = []
    entry: str | None = None
    try:
        with py7zr.SevenZipFile(path, "r") as archive:
            names = [i.filename for i in archive.list() if not i.is_directory]
        with py7zr.SevenZipFile(path, "r") as archive:
            entry = archive.testzip()  # the first entry whose CRC does not match
    except Exception:  # the damage may stop the test too; the listing may still tell
        entry = None
    if entry is None and len(names) == 1:
        entry = names[0]
    what = f"The file {shown(entry)} in the archive is damaged" if entry else "The archive is damaged"
    return ExtractionFailed(f'Failed to extract "{label}".', f"{what} ({type(exc).__name__}: {exc}).")


# --- 7-Zip binary -------------------------------------------------------------------------------


def find_seven_zip() -> str | None:
    """The 7-Zip executable: ``$SC4PAC_7Z_CMD`` or the first of 7z, 7zz, 7za on PATH."""
    configured = os.environ.get(SEVEN_ZIP_ENV)
    if configured:
        return configured
    for name in SEVEN_ZIP_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


_PERMISSIONS = re.compile(r"([-dlcbps])[-rwxsStT]{9}")


def _list_native(cmd: str, path: Path, label: str) -> list[dict[str, str]]:
    out = _run_tool(
        [cmd, "l", "-slt", "-ba", "-p", "--", str(path)], "7-Zip", f'Failed to extract "{label}".'
    )
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in out.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition(" = ")
        if sep:
            current[key.strip()] = value
        elif line.endswith(" ="):
            current[line[:-2].strip()] = ""
    if current:
        blocks.append(current)
    return [b for b in blocks if "Path" in b]


def _is_special_native_entry(block: dict[str, str]) -> bool:
    if block.get("Symbolic Link") or block.get("Hard Link") or block.get("Device Major"):
        return True
    mode = block.get("Mode", "") or block.get("Attributes", "")
    match = _PERMISSIONS.search(mode)
    return bool(match and match.group(1) not in "-d")


def _extract_native(path: Path, scratch: Path, label: str, budget: ExtractionBudget) -> list[ArchiveEntry]:
    cmd = find_seven_zip()
    if cmd is None:
        raise ExtractionFailed(
            f'Failed to extract "{label}".',
            "This archive format needs the 7-Zip program (7z, 7zz or 7za), which was not found. Install "
            f"7-Zip and make sure it is on the PATH, or set {SEVEN_ZIP_ENV} to its location.",
        )
    listed: list[ArchiveEntry] = []
    folders = 0
    for block in _list_native(cmd, path, label):
        if block.get("Folder") == "+":
            folders += 1
            continue
        if _is_special_native_entry(block):
            raise unreadable_entry(label, block["Path"])
        path_, problem = split_entry_name(block["Path"], label)
        if path_ is None:
            continue
        size = int(block.get("Size") or 0)
        packed = block.get("Packed Size")
        listed.append(
            ArchiveEntry(
                path_,
                block["Path"],
                size,
                int(packed) if packed and packed.isdigit() and int(packed) > 0 else None,
                problem,
            )
        )
    listed = mark_case_twins(listed)
    budget.charge(listed, path.stat().st_size, label, folders)
    # Names Windows cannot store are left in the archive (-spd: taken literally, not as wildcards).
    skipped = [e for e in listed if e.problem is not None]
    excludes = [f"-x!{e.raw}" for e in skipped]
    argv = [cmd, "x", "-y", "-bd", "-p", "-spd", f"-o{scratch}", *excludes, "--", str(path)]
    _run_tool(argv, "7-Zip", f'Failed to extract "{label}".')
    _charge_extracted(scratch, path.stat().st_size, label, budget, listed)
    return skipped


def _charge_extracted(
    scratch: Path, archive_size: int, label: str, budget: ExtractionBudget, declared: Sequence[ArchiveEntry]
) -> None:
    # Headers can lie (or, for installers, say nothing): what actually landed on disk counts too.
    entries = [
        ArchiveEntry(f.name, f.name, f.stat().st_size)
        for f in scratch.rglob("*")
        if f.is_file() and not f.is_symlink()
    ]
    check_sizes(entries, archive_size, label, budget.limits)
    extra_bytes = sum(e.size for e in entries) - sum(e.size for e in declared)
    budget.charge_extra(extra_bytes, len(entries) - len(declared), label)


def _run_tool(argv: list[str], tool: str, title: str, *, missing: str | None = None) -> str:
    """Run an external extraction tool and return its standard output; a tool that cannot start, runs
    too long or fails raises ``ExtractionFailed(title, ...)`` saying which (``missing``: what to say when
    the program is not there)."""
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=EXTERNAL_TOOL_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ExtractionFailed(title, missing or f"{tool} could not be started: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ExtractionFailed(
            title, f"{tool} did not finish within {EXTERNAL_TOOL_TIMEOUT_SECONDS} s."
        ) from exc
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip()
        raise ExtractionFailed(title, f"{tool} failed (exit code {proc.returncode}): {output}")
    return proc.stdout.decode("utf-8", "replace")


# --- Clickteam ----------------------------------------------------------------------------------


def _extract_clickteam(path: Path, version: str | None, scratch: Path, label: str) -> None:
    title = f'Failed to extract v{version} Clickteam exe-installer "{label}".'
    if version is None or not version.strip().isdigit():
        raise ExtractionFailed(title, f'Unsupported version: "{version}"')
    cicdec = os.environ.get(CICDEC_ENV) or "cicdec"
    argv = [cicdec, "-v", version.strip(), str(path), str(scratch)]
    mono = os.environ.get(MONO_ENV)
    if mono:
        argv.insert(0, mono)
    missing = (
        f"The cicdec program ({argv[0]}) was not found. Install it or set {CICDEC_ENV} (and {MONO_ENV})."
    )
    _run_tool(argv, "cicdec", title, missing=missing)


# --- headers only ---


def declared_entries(path: Path, fmt: ArchiveFormat, label: str) -> list[ArchiveEntry]:
    """The files an archive's headers declare, with their sizes, without unpacking anything.

    Lets the caller charge every nested archive of an asset to its budget before any of them is
    unpacked. Clickteam installers declare nothing here (their contents are known only afterwards).
    """
    size = path.stat().st_size
    if fmt.kind is ArchiveKind.SINGLE_FILE:
        return [ArchiveEntry(path.name, path.name, size)]
    if fmt.kind in (ArchiveKind.ZIP, ArchiveKind.JAR):
        try:
            with zipfile.ZipFile(path) as zf:
                infos = [i for i in zf.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ExtractionFailed(
                f'Failed to extract "{label}".', f"Not a readable ZIP archive: {exc}"
            ) from exc
        return [ArchiveEntry(i.filename, i.filename, i.file_size, i.compress_size) for i in infos]
    if fmt.kind is ArchiveKind.SEVEN_ZIP:
        import py7zr

        try:
            with py7zr.SevenZipFile(path, "r") as archive:
                listed = [i for i in archive.list() if not i.is_directory]
        except Exception as exc:  # py7zr raises assorted types for corrupt data
            raise _damaged_7z(path, label, exc) from exc
        return [ArchiveEntry(i.filename, i.filename, i.uncompressed) for i in listed]
    cmd = find_seven_zip() if fmt.kind is ArchiveKind.NATIVE_7Z else None
    if cmd is None:
        return []
    return [
        ArchiveEntry(b["Path"], b["Path"], int(b.get("Size") or 0))
        for b in _list_native(cmd, path, label)
        if b.get("Folder") != "+" and (b.get("Size") or "0").isdigit()
    ]


# --- opening ------------------------------------------------------------------------------------


@contextmanager
def open_archive(
    path: Path,
    fmt: ArchiveFormat,
    scratch: Path,
    *,
    label: str | None = None,
    limits: ExtractionLimits = DEFAULT_LIMITS,
    budget: ExtractionBudget | None = None,
) -> Iterator[ArchiveReader]:
    """Open ``path`` as ``fmt``; formats without streaming access are unpacked into ``scratch`` first.

    ``scratch`` must be an empty private directory on the same drive as the destination. ``budget`` is
    the asset's budget when ``path`` is nested in it; without one, ``path`` is the whole asset.
    """
    name = label or str(path)
    if budget is None:
        budget = ExtractionBudget(limits, path.stat().st_size, name)
    if fmt.kind is ArchiveKind.SINGLE_FILE:
        single = SingleFileReader(path, fmt.single_file_name or path.name, label=name)
        budget.charge(single.entries(), path.stat().st_size, name)
        yield single
        return
    if fmt.kind in (ArchiveKind.ZIP, ArchiveKind.JAR):
        reader = ZipReader(path, jar=fmt.kind is ArchiveKind.JAR, label=name, budget=budget)
        try:
            yield reader
        finally:
            reader.close()
        return
    scratch.mkdir(parents=True, exist_ok=True)
    unextracted: list[ArchiveEntry] = []
    if fmt.kind is ArchiveKind.SEVEN_ZIP:
        unextracted = _extract_7z(path, scratch, name, budget)
    elif fmt.kind is ArchiveKind.NATIVE_7Z:
        unextracted = _extract_native(path, scratch, name, budget)
    else:
        _extract_clickteam(path, fmt.clickteam_version, scratch, name)
        _charge_extracted(scratch, path.stat().st_size, name, budget, ())
    yield FolderReader(scratch, label=name, unextracted=unextracted)
