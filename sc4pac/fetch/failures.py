"""Download failures as the user sees them: reasons, error titles, mapping."""

from __future__ import annotations

import enum
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ChecksumError, DownloadFailed

# --- user-facing texts (the reference's wording, which the GUI shows as is) ---------------------------

TITLE_UNAVAILABLE = (
    "Failed to download some assets. Maybe the file exchange server is currently unavailable. "
    "Also check your internet connection."
)
TITLE_UNEXPECTED = "Unexpected download error."
TITLE_UNAUTHORIZED = (
    "Failed to download some assets due to a lack of authorization: the file exchange server refused "
    "access to the file."
)
TITLE_ST_TOKEN_INCORRECT = (
    "Failed to download some assets from Simtropolis due to a lack of authorization. Your Simtropolis "
    "authentication token seems to be incorrect: check it, or create a new one."
)
TITLE_ST_TOKEN_MISSING = (
    "Failed to download some assets from Simtropolis due to a lack of authorization. Set up a personal "
    "Simtropolis authentication token so that sc4pac can download files on your behalf."
)
TITLE_ST_RATE_LIMITED = (
    "Failed to download some assets from Simtropolis (rate-limited). You have reached your daily "
    "download limit (20 files per day for guests on Simtropolis). Set up a personal Simtropolis "
    "authentication token to lift this limit, or try again tomorrow."
)
TITLE_RATE_LIMITED = (
    "Failed to download some assets (rate-limited). The file exchange server received too many "
    "requests. Wait a while, then try again."
)
TITLE_ST_FORBIDDEN_NO_TOKEN = (
    "Failed to download some assets from Simtropolis: the request was blocked by Simtropolis or its "
    "Cloudflare protection. Setting up a personal Simtropolis authentication token may help; otherwise "
    "try again later."
)
TITLE_ST_FORBIDDEN = (
    "Failed to download some assets from Simtropolis: the request was blocked by Simtropolis or its "
    "Cloudflare protection. Try again later."
)
TITLE_FORBIDDEN = (
    "Failed to download some assets: the download was blocked by the file exchange server, possibly "
    "only temporarily. Try again later."
)
TITLE_ASSET_CHECKSUM = (
    "Checksum verification failed for a downloaded asset.\n"
    "- Either, this means the downloaded file is incomplete: Delete the file to try downloading it again.\n"
    "- Otherwise, this means the uploaded file was modified after the channel metadata was last updated, "
    "so the integrity of the file cannot be verified by sc4pac: Report this to the maintainers of the "
    "metadata."
)
TITLE_METADATA_UNAVAILABLE = "Failed to download some metadata files. Check your internet connection."


def title_metadata_checksum(pkg_id: str) -> str:
    """Title of a checksum failure of a channel metadata file."""
    return (
        f"Checksum verification failed for {pkg_id}. Usually this should not happen and suggests a "
        "problem with the channel data."
    )


def _html_page_detail(url: str) -> str:
    return (
        f"File downloaded from {url} seems to be an HTML page instead of the expected file, which can "
        "happen when the server returns an error page (e.g. temporary maintenance)."
    )


# --- errors ---------------------------------------------------------------------------------------


class FailureReason(enum.Enum):
    NOT_FOUND = "not-found"  # 404
    UNAUTHORIZED = "unauthorized"  # 401
    FORBIDDEN = "forbidden"  # 403
    RATE_LIMITED = "rate-limited"  # 429
    HTTP_ERROR = "http-error"  # other 4xx, odd statuses
    SERVER_ERROR = "server-error"  # 5xx
    IO_ERROR = "io-error"  # connection, timeout, local file system
    WRONG_LENGTH = "wrong-length"
    HTML_PAGE = "html-page"
    RESUME_MISMATCH = "resume-mismatch"
    BAD_URL = "bad-url"
    FORMAT_ERROR = "format-error"  # a downloaded JSON file that does not parse

    @property
    def means_unavailable(self) -> bool:
        return self in _UNAVAILABLE_REASONS


_UNAVAILABLE_REASONS = frozenset(
    {
        FailureReason.NOT_FOUND,
        FailureReason.SERVER_ERROR,
        FailureReason.IO_ERROR,
        FailureReason.WRONG_LENGTH,
        FailureReason.HTML_PAGE,
        FailureReason.RESUME_MISMATCH,
    }
)


class DownloadFailure(DownloadFailed):
    """A download that did not succeed; titled for assets, see :meth:`for_metadata`.

    ``url`` is what the mirror prompt offers a local replacement for (``None``: no prompt);
    ``upstream_status`` is the file server's HTTP status, if it answered with one. It is kept apart
    from ``status``, the class's own answer to the API client, which stays 502 whatever the file
    server said (a 404 there is not "no such endpoint" here).
    ``prompt_for_simtropolis_token`` tells the prompt to offer entering a Simtropolis token.
    """

    def __init__(
        self,
        title: str,
        detail: str = "",
        *,
        url: str | None,
        reason: FailureReason,
        upstream_status: int | None = None,
        prompt_for_simtropolis_token: bool = False,
    ) -> None:
        super().__init__(title, detail)
        self.url = url
        self.reason = reason
        self.upstream_status = upstream_status
        self.prompt_for_simtropolis_token = prompt_for_simtropolis_token

    def for_metadata(self) -> DownloadFailure:
        """The same failure as reported for a channel metadata file (no mirror prompt)."""
        title = TITLE_METADATA_UNAVAILABLE if self.reason.means_unavailable else TITLE_UNEXPECTED
        return DownloadFailure(
            title, self.detail, url=None, reason=self.reason, upstream_status=self.upstream_status
        )


def refuse_local_asset(asset_url: str, channel_url: str) -> None:
    """Refuse an asset at a ``file:`` URL unless its channel is itself a ``file:`` channel.

    A remote channel must not make sc4pac install files from the player's own disk (which would also
    skip the download checksums); a local channel may, as it is already the player's own data.
    """
    if asset_url[:5].lower() != "file:" or channel_url[:5].lower() == "file:":
        return
    raise DownloadFailure(
        "A channel on the internet points an asset at a file on this computer, which is not allowed.",
        f"Asset URL: {asset_url}, channel: {channel_url or 'unknown'}. Local file assets are only accepted "
        "from channels that are themselves on this computer (file: URLs). Please report this to the "
        "maintainers of the channel.",
        url=None,
        reason=FailureReason.BAD_URL,
    )


class ChecksumMismatch(ChecksumError):
    """The recorded sha256 of a cached file is missing or differs from the expected one."""

    def __init__(self, detail: str, *, url: str, path: Path, expected: str, got: str | None) -> None:
        super().__init__(TITLE_ASSET_CHECKSUM, detail)
        self.url = url
        self.path = path
        self.expected = expected
        self.got = got

    def retitled(self, title: str) -> ChecksumError:
        """The same mismatch with another title (e.g. for a metadata file)."""
        return ChecksumError(title, self.detail)


def is_simtropolis(url: str) -> bool:
    """Whether ``url`` is hosted on simtropolis.com or one of its subdomains."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host == "simtropolis.com" or host.endswith(".simtropolis.com")


def http_failure(url: str, status: int, *, token_used: bool, detail: str = "") -> DownloadFailure:
    """Map an HTTP error status to the failure the user sees."""
    st = is_simtropolis(url)
    detail = detail or f"HTTP status {status} for {url}"
    prompt = False
    if status == 401:
        reason = FailureReason.UNAUTHORIZED
        title = (
            (TITLE_ST_TOKEN_INCORRECT if token_used else TITLE_ST_TOKEN_MISSING) if st else TITLE_UNAUTHORIZED
        )
        prompt = st
    elif status == 429:
        reason = FailureReason.RATE_LIMITED
        title = TITLE_ST_RATE_LIMITED if st and not token_used else TITLE_RATE_LIMITED
        prompt = st and not token_used
    elif status == 403:
        reason = FailureReason.FORBIDDEN
        title = (TITLE_ST_FORBIDDEN if token_used else TITLE_ST_FORBIDDEN_NO_TOKEN) if st else TITLE_FORBIDDEN
        prompt = st and not token_used
    elif status == 404:
        reason, title = FailureReason.NOT_FOUND, TITLE_UNAVAILABLE
    elif status >= 500:
        reason, title = FailureReason.SERVER_ERROR, TITLE_UNAVAILABLE
    else:
        reason, title = FailureReason.HTTP_ERROR, TITLE_UNEXPECTED
    return DownloadFailure(
        title,
        detail,
        url=url,
        reason=reason,
        upstream_status=status,
        prompt_for_simtropolis_token=prompt,
    )


def _failure(reason: FailureReason, url: str, detail: str) -> DownloadFailure:
    title = TITLE_UNAVAILABLE if reason.means_unavailable else TITLE_UNEXPECTED
    return DownloadFailure(title, detail, url=url, reason=reason)
