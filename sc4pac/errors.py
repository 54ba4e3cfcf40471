"""The one domain error hierarchy.

Every expected failure is an ``Sc4pacError`` carrying the wire ``$type``, a title for display, a
detail for debugging and the HTTP status the API answers with. The API layer maps them in one
handler; the update job sends the same object as its final websocket message.
"""

from __future__ import annotations

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
    """No space left on the drive of a folder sc4pac writes to."""

    @classmethod
    def for_folder(cls, folder: object, needed_bytes: int | None = None) -> DiskFull:
        """The error for a write into ``folder`` that found the disk full."""
        need = f" About {needed_bytes:,} bytes more are needed." if needed_bytes else ""
        return cls(
            "The disk is full.",
            f"There is not enough free space on the drive of {folder}.{need} Free up some space, then try "
            "again.",
        )


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


UNHANDLED_TITLE = "Unhandled error. This looks like a bug. Please report it."


def unhandled(exc: BaseException) -> ServerError:
    """Wrap an unexpected exception as the generic server error."""
    return ServerError(UNHANDLED_TITLE, f"{type(exc).__name__}: {exc}")
