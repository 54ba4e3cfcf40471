"""The one domain error hierarchy.

Every expected failure is an ``Sc4pacError`` carrying the wire ``$type``, a title for display, a
detail for debugging and the HTTP status the API answers with. The API layer maps them in one
handler; the update job sends the same object as its final websocket message.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from typing import Any


class Sc4pacError(Exception):
    """Base of all expected failures; subclasses fix ``type`` and ``status``."""

    type: str = "/error/server-error"
    status: int = 500

    def __init__(self, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(title)
        self.title = title
        self.detail = detail
        # Extra wire fields (``platformDefaults``, ``conflict``), written after title and detail.
        self.extra: dict[str, Any] = extra

    def to_wire(self) -> dict[str, Any]:
        """The error object as sent on the wire, ``$type`` first."""
        body: dict[str, Any] = {"$type": self.type, "title": self.title, "detail": self.detail}
        body.update(self.extra)
        return body

    def __str__(self) -> str:
        return f"{self.title} {self.detail}".strip()

    def __reduce__(self) -> tuple[Any, ...]:
        # Staging worker processes send their errors back pickled. The default rebuilds an exception by
        # calling its class with ``args``, which subclasses with their own ``__init__`` do not accept;
        # rebuild from the attributes instead.
        return (_rebuilt_error, (type(self), self.args), self.__dict__)


def _rebuilt_error(cls: type[Sc4pacError], args: tuple[Any, ...]) -> Sc4pacError:
    error = cls.__new__(cls)
    error.args = args
    return error


def listing(names: list[str], limit: int = 10) -> str:
    """Names for an error message: all of a short list, the first ``limit`` and a count of a long one.

    Bulk requests can name hundreds of thousands of packages; an error must stay readable and small.
    """
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


class ServerError(Sc4pacError):
    type = "/error/server-error"
    status = 500


class GuiNotConnected(ServerError):
    status = 503


class ProfileNotInitialized(Sc4pacError):
    type = "/error/profile-not-initialized"
    status = 409


class ProfileReadError(Sc4pacError):
    type = "/error/profile-read-error"
    status = 500


class VersionNotFound(Sc4pacError):
    type = "/error/version-not-found"
    status = 404


class UnresolvableDependencies(Sc4pacError):
    type = "/error/unresolvable-dependencies"
    status = 404


class ConflictingPackages(Sc4pacError):
    type = "/error/conflicting-packages"
    status = 400


class PackageFileCollision(ConflictingPackages):
    """Two packages would install the same file; carries ``conflict: [a, b]`` and the ``path``."""

    def __init__(self, first: str, second: str, path: str) -> None:
        super().__init__(
            f'The packages "{first}" and "{second}" both install the file "{path}".',
            "Installing both would overwrite one package's file with the other's, and removing either "
            "would break the other. Remove one of the two packages, then update again; please also "
            "report the conflict to the maintainers of the package metadata.",
            conflict=[first, second],
            path=path,
        )


class AssetNotFound(Sc4pacError):
    type = "/error/asset-not-found"
    status = 404


class ExtractionFailed(Sc4pacError):
    type = "/error/extraction-failed"
    status = 500


class UnsatisfiableVariantConstraints(Sc4pacError):
    type = "/error/variant-constraints-not-satisfiable"
    status = 500


class DownloadFailed(Sc4pacError):
    type = "/error/download-failed"
    status = 502


class ChecksumError(DownloadFailed):
    """A downloaded file does not match its expected sha256 (never offered a mirror)."""


class ChannelsNotAvailable(Sc4pacError):
    type = "/error/channels-not-available"
    status = 502


class Aborted(Sc4pacError):
    type = "/error/aborted"
    status = 200

    def __init__(self, title: str = "Operation aborted.", detail: str = "", **extra: Any) -> None:
        super().__init__(title, detail, **extra)


class BadRequest(Sc4pacError):
    type = "/error/bad-request"
    status = 400


class RequestTooLarge(BadRequest):
    """A request body over the server's cap (same ``$type`` as other bad requests, status 413)."""

    status = 413


class PackageNotFound(Sc4pacError):
    type = "/error/package-not-found"
    status = 404


class InitBadRequest(Sc4pacError):
    type = "/error/init/bad-request"
    status = 400


class InitNotAllowed(Sc4pacError):
    type = "/error/init/not-allowed"
    status = 409


class FileAccessDenied(Sc4pacError):
    type = "/error/file-access-denied"
    status = 500


class PublishedFilesIncomplete(Sc4pacError):
    type = "/error/published-files-incomplete"
    status = 500


class ObtainingUserDirsFailed(Sc4pacError):
    type = "/error/obtaining-user-dirs-failed"
    status = 500


class Unauthorized(Sc4pacError):
    type = "/error/unauthorized"
    status = 401

    def __init__(self, title: str, detail: str = "", *, scope: str = "read") -> None:
        super().__init__(title, detail)
        self.scope = scope


class FileOperationsFailed(Sc4pacError):
    type = "/error/file-operations-failed"
    status = 500


class DiskFull(FileOperationsFailed):
    """No space left on the drive of a folder sc4pac writes to (or the user's disk quota is used up).

    Same ``$type`` as :class:`FileOperationsFailed` (the GUI knows it); the detail names the folder, the
    free space and what is needed, also as the extra wire fields ``path``, ``freeBytes`` and (when known)
    ``neededBytes``.
    """

    @classmethod
    def for_folder(cls, folder: object, needed_bytes: int | None = None) -> DiskFull:
        """The error for a write into ``folder`` that found the disk full."""
        return disk_full_in(Path(str(folder)) if folder is not None else None, needed_bytes)


class ChannelBuildError(ServerError):
    """Channel sources that cannot be built: every malformed YAML document, named by file and index."""

    def __init__(self, title: str, detail: str = "", *, issues: list[Any] | None = None) -> None:
        super().__init__(title, detail)
        self.issues: list[Any] = list(issues or [])


class TransactionNotFound(Sc4pacError):
    """A revert names a transaction the profile's update history does not hold."""

    type = "/error/transaction-not-found"
    status = 404


class UpdateAlreadyRunning(ServerError):
    """A second ``/update`` for a profile whose update is still running (stricter than the reference)."""

    status = 409


class ProfileBusy(UpdateAlreadyRunning):
    """A profile cannot be removed (or changed that way) while its update runs, in any process."""


# --- operating-system errors a player can fix -------------------------------------------------------

ACCESS_DENIED_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS} | ({errno.ETXTBSY} if hasattr(errno, "ETXTBSY") else set())
)
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC} | ({errno.EDQUOT} if hasattr(errno, "EDQUOT") else set()))
# ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION, ERROR_WRITE_PROTECT
WINDOWS_ACCESS_DENIED = frozenset({5, 19, 32, 33})
# ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL, ERROR_DISK_QUOTA_EXCEEDED
WINDOWS_DISK_FULL = frozenset({39, 112, 1295})

# Set on an OSError (``setattr``) by code that knows how many bytes it tried to write.
NEEDED_BYTES_ATTR = "sc4pac_needed_bytes"

ACCESS_DENIED_HINT = (
    "Make sure this folder and its files are not read-only and that your user may change them. "
    'If the folder is inside OneDrive, mark it "Always keep on this device" or choose a folder outside '
    "OneDrive; if an antivirus (e.g. Windows Security's controlled folder access) blocks sc4pac, allow "
    "it there. Then try again."
)


def _is_kind(exc: OSError, errnos: frozenset[int], winerrors: frozenset[int]) -> bool:
    winerror = getattr(exc, "winerror", None)
    if winerror is not None:
        return winerror in winerrors
    return exc.errno in errnos


def is_access_denied(exc: OSError) -> bool:
    """EACCES/EPERM/EROFS (and Windows' access-denied and sharing-violation codes)."""
    return _is_kind(exc, ACCESS_DENIED_ERRNOS, WINDOWS_ACCESS_DENIED)


def is_disk_full(exc: OSError) -> bool:
    """ENOSPC/EDQUOT (and Windows' disk-full codes)."""
    return _is_kind(exc, DISK_FULL_ERRNOS, WINDOWS_DISK_FULL)


def human_size(n: int) -> str:
    """``1.5 GB``-style sizes for messages."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover - unreachable


def _free_bytes(folder: Path) -> int | None:
    probe = folder
    while True:
        try:
            return shutil.disk_usage(probe).free
        except OSError:
            if probe.parent == probe:
                return None
            probe = probe.parent


# Folders sc4pac creates for its own work: a player should hear about the folder that holds them.
_INTERNAL_PREFIXES = (".sc4pac-publish-", "staging-process", ".sc4pac-")


def _involved_path(exc: OSError) -> Path | None:
    name = exc.filename if exc.filename is not None else exc.filename2
    if name is None:
        return None
    path = Path(os.fsdecode(name))
    for i, part in enumerate(path.parts):
        if part.startswith(_INTERNAL_PREFIXES) or (part.startswith(".") and part.endswith(".tmp")):
            return Path(*path.parts[:i]) if i else path
    return path


def file_access_denied(exc: OSError, path: Path | None = None) -> FileAccessDenied:
    """The typed error for an access-denied ``exc`` (``path`` overrides the one in ``exc``)."""
    target = path or _involved_path(exc)
    where = str(target) if target is not None else "a file or folder"
    return FileAccessDenied(
        f"Access denied: {where}",
        f"{exc.strerror or exc}. {ACCESS_DENIED_HINT}",
        path=str(target) if target is not None else "",
    )


def disk_full(exc: OSError, path: Path | None = None, needed: int | None = None) -> DiskFull:
    """The typed error for a disk-full ``exc``: which folder, how much is free and needed."""
    target = path or _involved_path(exc)
    folder = target.parent if target is not None and not target.is_dir() else target
    needed = needed if needed is not None else getattr(exc, NEEDED_BYTES_ATTR, None)
    return disk_full_in(folder, needed)


def _size_text(n: int) -> str:
    return f"{n:,} bytes" if n < 1024 else f"{human_size(n)} ({n:,} bytes)"


def disk_full_in(folder: Path | None, needed: int | None = None) -> DiskFull:
    """The disk-full error for writes into ``folder`` (``needed``: bytes the write needs, if known)."""
    free = _free_bytes(folder) if folder is not None else None
    where = f"the drive of {folder}" if folder is not None else "the drive"
    parts = [f"There is not enough free space on {where}"]
    if free is not None:
        parts.append(f" ({human_size(free)} free)")
    parts.append(". ")
    if needed:
        parts.append(f"At least {_size_text(needed)} more is needed: free up space and try again.")
    else:
        parts.append(
            "Free up space (an update needs room for its downloads and the extracted files) and try again."
        )
    extra: dict[str, Any] = {"path": str(folder) if folder is not None else ""}
    if free is not None:
        extra["freeBytes"] = free
    if needed:
        extra["neededBytes"] = needed
    return DiskFull("The disk is full.", "".join(parts), **extra)


_COPY_ERROR = re.compile(r"\[(Errno|WinError) (\d+)\] ([^:]*)")


def _from_copy_errors(exc: shutil.Error) -> OSError | None:
    """``shutil.copytree`` collects its failures as text: recover the first fixable one as an OSError."""
    items = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 3):
            continue
        match = _COPY_ERROR.search(str(item[2]))
        if match is None:
            continue
        code = int(match[2])
        if match[1] == "WinError":
            if code in WINDOWS_DISK_FULL:
                code = errno.ENOSPC
            elif code in WINDOWS_ACCESS_DENIED:
                code = errno.EACCES
            else:
                continue
        candidate = OSError(code, match[3], str(item[1]))
        if is_access_denied(candidate) or is_disk_full(candidate):
            return candidate
    return None


def find_fixable_os_error(exc: BaseException, depth: int = 0) -> OSError | None:
    """The access-denied or disk-full OSError in ``exc``, its group members, its cause or its
    ``shutil.copytree`` error list; None when there is none."""
    if depth > 8:
        return None
    if isinstance(exc, shutil.Error):
        found = _from_copy_errors(exc)
        if found is not None:
            return found
    if isinstance(exc, OSError) and (is_access_denied(exc) or is_disk_full(exc)):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = find_fixable_os_error(inner, depth + 1)
            if found is not None:
                return found
    cause = exc.__cause__
    return find_fixable_os_error(cause, depth + 1) if cause is not None else None


def file_operation_failed(exc: OSError) -> FileOperationsFailed:
    """The typed error for any other failed file operation that names its path (a file where a folder
    is expected, a path too long, a drive that went away): what failed, where, and what to check."""
    target = _involved_path(exc)
    where = str(target) if target is not None else "a file or folder"
    return FileOperationsFailed(
        f"A file operation failed: {where}",
        f"{exc.strerror or exc}. Check that this path exists, that a folder is not a file (or the other "
        "way round), that the path is not too long and that its drive is connected; then try again.",
        path=str(target) if target is not None else "",
    )


def from_os_error(exc: BaseException) -> Sc4pacError | None:
    """The typed error for an access-denied or disk-full OSError (also inside a group or as the cause),
    or for any other OSError that names the path it failed on (the environment, not a bug)."""
    found = find_fixable_os_error(exc)
    if found is not None:
        return disk_full(found) if is_disk_full(found) else file_access_denied(found)
    if isinstance(exc, OSError) and (exc.filename is not None or exc.filename2 is not None):
        return file_operation_failed(exc)
    return None


UNHANDLED_TITLE = "Unhandled error. This looks like a bug. Please report it."


def unhandled(exc: BaseException) -> ServerError:
    """Wrap an unexpected exception as the generic server error."""
    return ServerError(UNHANDLED_TITLE, f"{type(exc).__name__}: {exc}")


def refine(error: Sc4pacError) -> Sc4pacError:
    """``error``, or the access-denied / disk-full error behind it when it was raised from one (e.g. an
    extraction or a download that failed because the disk is full says so, not just "failed")."""
    if isinstance(error, (FileAccessDenied, DiskFull)) or error.__cause__ is None:
        return error
    found = find_fixable_os_error(error.__cause__)
    if found is None:
        return error
    mapped = disk_full(found) if is_disk_full(found) else file_access_denied(found)
    mapped.detail = f"{error.title} {mapped.detail}"
    return mapped


def as_domain_error(exc: BaseException) -> Sc4pacError | None:
    """``exc`` as the typed error a user can act on (see :func:`refine`), or an OSError they can fix;
    None for anything else (a bug)."""
    if isinstance(exc, Sc4pacError):
        return refine(exc)
    return from_os_error(exc)
