"""The downloader: fetches URLs into the shared file cache (refresh policy, resume, retries, checksums).

One :class:`Downloader` per event loop (it owns an ``httpx.AsyncClient``). Files land at the cache
layout of :mod:`sc4pac.fetch.cache`, so a cache shared with the reference server is reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import email.utils
import errno
import hashlib
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple
from urllib.parse import urlsplit

import msgspec

from ..atomic import creating_folders
from ..errors import DiskFull, Sc4pacError
from ..filelock import locked
from ..models.channel import Checksum
from ..models.messages import DownloadFinished, DownloadIntermediate, DownloadLength, DownloadStarted
from ..ports import ProgressSink
from ..wire import int64, opt, unopt
from . import cache
from .failures import (
    ChecksumMismatch,
    DownloadFailure,
    FailureReason,
    _failure,
    _html_page_detail,
    http_failure,
    is_simtropolis,
)
from .slots import PrioritySlots

# httpx costs ~0.1 s to import: it is loaded on first use, keeping daemon startup fast.
if TYPE_CHECKING:
    import ssl

    import httpx

log = logging.getLogger(__name__)

USER_AGENT = "sc4pac/0.10"
PROGRESS_STEP = 512 * 1024  # progress granularity: 0.5 MiB
RESUME_OVERLAP = 4096  # bytes re-fetched on resume to check the partial file still matches
MAX_REDIRECTS = 10
# A metadata body up to this size is received in memory (a pkg.json has a few kilobytes); a bigger
# one goes to its part file. Tens of metadata requests run at once, so this bounds their memory.
MEMORY_BODY_LIMIT = 1 << 20
# At most this many bytes of received metadata wait in memory for their deferred cache write (see
# Downloader.metadata_writes_deferred); beyond it they are written at once.
DEFERRED_BYTES_LIMIT = 32 << 20
# Seconds before the first retry of a failed attempt, doubling for each further one (0.5 + 1 + 2 s for
# the default 4 attempts); $SC4PAC_DOWNLOAD_RETRY_DELAY changes it (sc4pac.services).
RETRY_DELAY = 0.5
# Small metadata files (contents, pkg.json) in flight per host. Over HTTP/1.1 each is a connection, and
# the pool's bookkeeping per request grows with the connection count (measured: 16 connections stall
# the event loop for 170 ms at p99 on a busy 2-core machine, 6-8 keep it near 50 ms at the same speed).
# Over HTTP/2 they are streams of one connection, which cost no connection bookkeeping (servers such
# as GitHub Pages allow 100 at once): a host seen answering in HTTP/2 gets HTTP2_WIDENING times as many.
METADATA_PER_HOST = 8
HTTP2_WIDENING = 4
KEEPALIVE_CONNECTIONS = 64  # idle connections kept open: metadata bursts reuse them

# Whether the download under way is a metadata file (read deep in the receive path and its threads).
# Metadata goes through its own client, which speaks HTTP/2 where offered (one connection carries all
# requests), while assets keep HTTP/1.1: two downloads from a host throttling each connection need two
# connections. Metadata is not fsynced: each file is checked against the checksum in the channel
# contents and re-fetched when it does not decode, and fsyncs for hundreds of small pkg.json files
# would cost seconds on a slow disk.
_metadata: ContextVar[bool] = ContextVar("sc4pac_metadata_download", default=False)


class _Transient(Exception):
    """An attempt failed in a way worth retrying (resuming from the partial file)."""

    def __init__(self, failure: DownloadFailure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


class _Restart(Exception):
    """The server did not honour the resume request: start over from byte 0 (costs no attempt)."""


class _Redirect(Exception):
    """The server sent the file elsewhere: fetch ``location`` under that host's limit (costs no attempt)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


# --- results --------------------------------------------------------------------------------------


class CachedFile(msgspec.Struct, frozen=True):
    """A file available locally: ``sha256`` is the recorded one ("" for ``file:`` URLs)."""

    path: Path
    sha256: str = ""
    filename: str | None = None  # from Content-Disposition, or the local mirror's file name
    # The bytes of a metadata file this fetch received (None: read ``path``); saves reading it back.
    content: bytes | None = None


class _DeferredWrite(NamedTuple):
    """A metadata file received in memory whose cache write waits (see ``metadata_writes_deferred``)."""

    part: Path
    check: cache.CheckFile
    last_modified: str | None
    body: bytes


class _Progress:
    """Sends the download progress messages of one URL: started/finished once, rate-limited counts."""

    def __init__(self, url: str, sink: ProgressSink | None) -> None:
        self.url = url
        self.sink = sink
        self.started = False
        self.length_sent = False
        self.last_reported = 0

    def start(self) -> None:
        if not self.started and self.sink is not None:
            self.sink.emit(DownloadStarted(url=self.url))
        self.started = True

    def length(self, total: int) -> None:
        if not self.length_sent and self.sink is not None:
            self.sink.emit(DownloadLength(url=self.url, length=int64(total)))
        self.length_sent = True

    def resume_at(self, count: int) -> None:
        self.last_reported = max(self.last_reported, count)

    def advance(self, count: int) -> None:
        if count // PROGRESS_STEP > self.last_reported // PROGRESS_STEP:
            self._intermediate(count)

    def done(self, count: int) -> None:
        self._intermediate(count)
        self.finish(True)

    def finish(self, success: bool) -> None:
        if self.sink is not None:
            if not self.started:
                self.start()
            self.sink.emit(DownloadFinished(url=self.url, success=success))

    def _intermediate(self, count: int) -> None:
        self.last_reported = count
        if self.sink is not None:
            self.sink.emit(DownloadIntermediate(url=self.url, downloaded=int64(count)))


class _KeyedLocks:
    """One asyncio lock per key, dropped when nobody uses it any more."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def _parse_instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _content_disposition_filename(value: str | None) -> str | None:
    if not value:
        return None
    msg = email.message.Message()
    msg["content-disposition"] = value
    name = msg.get_filename()
    return name or None


def _content_range_start_total(value: str | None) -> tuple[int | None, int | None]:
    # "bytes a-b/len" (len may be "*"); anything else yields (None, None).
    if not value or not value.startswith("bytes "):
        return None, None
    spec = value[6:].strip()
    span, _, total = spec.partition("/")
    start_text, _, _ = span.partition("-")
    try:
        start = int(start_text)
    except ValueError:
        start = None
    try:
        length = int(total)
    except ValueError:
        length = None
    return start, length


def _hash_file(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest


def _read_tail(path: Path, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(-size, os.SEEK_END)
        return f.read(size)


def _default_tls_context() -> ssl.SSLContext:
    """The context httpx builds for ``verify=True, trust_env=True``: the CA certificates named by
    ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle. Built here rather than by httpx
    so that it needs no httpx import and can be made while httpx is being imported."""
    import ssl

    import certifi

    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


def import_http_stack() -> None:
    """Import httpx and what its first client loads (httpcore; h2 when installed), blocking.

    About 0.1 s of imports that would otherwise run on the event loop when the first request is made;
    the daemon's warm start runs this in a worker thread instead."""
    import httpcore  # noqa: F401
    import httpx  # noqa: F401

    _http2_available()


def _http2_available() -> bool:
    # HTTP/2 (negotiated over TLS, e.g. by GitHub Pages) needs the optional ``h2`` package.
    try:
        import h2  # noqa: F401
    except ImportError:
        return False
    return True


def _disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _content_matches(path: Path, expected: str | None) -> bool:
    """Whether a cached file still has the content its check file (and the channel) says it has."""
    check = cache.read_check_file(path)
    recorded = check.sha256.lower() if check is not None else ""
    wanted = expected or recorded
    if not wanted:
        return True  # nothing to compare with (e.g. a cache written by an old version without checksums)
    if recorded and expected and recorded != expected:
        return False
    try:
        return _hash_file(path).hexdigest() == wanted
    except OSError:
        return False


def quarantine(path: Path) -> Path:
    """Move a damaged cached file aside (``.F.quarantined``, replacing an older one) and drop its check
    file, so the next use downloads it afresh; the bad copy stays for inspection."""
    target = path.with_name(f".{path.name}.quarantined")
    cache.check_file_path(path).unlink(missing_ok=True)
    try:
        os.replace(path, target)
    except OSError:
        path.unlink(missing_ok=True)
    return target


def _looks_like_html(path: Path) -> bool:
    with open(path, "rb") as f:
        return _is_html(f.read(64))


def _is_html(head: bytes) -> bool:
    """Whether a body starting with ``head`` is an HTML page (a login or error page, not the file)."""
    return head[:64].lstrip()[:9].lower() == b"<!doctype"


def _body_lengths(
    url: str, response: httpx.Response, resume_from: int
) -> tuple[bool, int | None, int | None]:
    """(gzipped, bytes this response should carry, length of the whole file) as far as the headers say."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    gzipped = encoding == "gzip"
    if encoding not in ("", "identity", "gzip"):
        log.warning("Unsupported Content-Encoding %r of %s: storing the body as received", encoding, url)
    start, total = _content_range_start_total(response.headers.get("Content-Range"))
    expected_len: int | None = None
    if not gzipped:
        if response.headers.get("Content-Length", "").isdigit():
            expected_len = int(response.headers["Content-Length"])
        elif total is not None and start is not None:
            expected_len = total - start
    file_length = total if total is not None else (expected_len if not resume_from else None)
    return gzipped, expected_len, file_length


class _PartState:
    """The ``.part`` file so far: its running checksum and size, and the overlap a resume must match."""

    def __init__(self, digest: hashlib._Hash, tail: bytes, size: int) -> None:
        self.digest = digest
        self.tail = tail  # the last bytes already on disk, which a resumed response repeats first
        self.size = size
        self.overlap = bytearray()  # the repeated bytes received so far
        self.received = 0  # bytes of this response, overlap included
        self.stale = False  # the overlap differed: zero-filled, or from another version of the file

    @classmethod
    async def open(cls, part: Path, resume_from: int, progress: _Progress) -> _PartState:
        if not resume_from:
            return cls(hashlib.sha256(), b"", 0)
        digest = await asyncio.to_thread(_hash_file, part)
        tail = await asyncio.to_thread(_read_tail, part, RESUME_OVERLAP)
        size = part.stat().st_size
        progress.resume_at(size)
        return cls(digest, tail, size)

    def new_bytes(self, chunk: bytes) -> bytes:
        """The part of ``chunk`` past the overlap; sets :attr:`stale` when the overlap differs."""
        self.received += len(chunk)
        if len(self.overlap) < len(self.tail):
            need = len(self.tail) - len(self.overlap)
            self.overlap += chunk[:need]
            chunk = chunk[need:]
            if len(self.overlap) == len(self.tail) and bytes(self.overlap) != self.tail:
                self.stale = True
                return b""
        return chunk


def _open_part(part: Path, resume_from: int) -> BinaryIO:
    return creating_folders(part, lambda: open(part, "ab" if resume_from else "wb"))


async def _stream_body(
    url: str,
    part: Path,
    response: httpx.Response,
    gzipped: bool,
    resume_from: int,
    state: _PartState,
    progress: _Progress,
    file_length: int | None,
    *,
    in_memory: bool = False,
) -> bytes | None:
    """Receive the body into ``part``; with ``in_memory`` (a fresh metadata file) into memory instead,
    returned, unless it outgrows :data:`MEMORY_BODY_LIMIT` (then the file takes over)."""
    import httpx

    # No re-chunking: every byte received before a connection drop reaches the .part file.
    chunks = response.aiter_bytes() if gzipped else response.aiter_raw()
    buffer: bytearray | None = bytearray() if in_memory else None
    out: BinaryIO | None = None
    try:
        if buffer is None:
            # Opened in a worker: on Windows an antivirus scan can make opening a file block for a
            # while, and creating the cache folders of a new file costs several slow calls on a busy disk.
            out = await asyncio.to_thread(_open_part, part, resume_from)
        async for received in chunks:
            chunk = state.new_bytes(received)
            if state.stale:
                break
            if not chunk:
                continue
            state.digest.update(chunk)
            state.size += len(chunk)
            if buffer is not None:
                buffer += chunk
                if len(buffer) > MEMORY_BODY_LIMIT:  # a big channel file: memory is budgeted
                    out = await asyncio.to_thread(_open_part, part, 0)
                    out.write(buffer)
                    buffer = None
            else:
                assert out is not None
                out.write(chunk)
            progress.advance(state.size)
        if out is not None:
            out.flush()
            # The check file written next records this file's checksum without re-hashing it later, so
            # the bytes must be on disk first; fsync in a worker keeps the event loop responsive.
            if not _metadata.get():  # metadata is re-fetched when damaged (see _metadata)
                await asyncio.to_thread(os.fsync, out.fileno())
        return None if buffer is None else bytes(buffer)
    except httpx.TimeoutException as exc:
        raise _Transient(_failure(FailureReason.IO_ERROR, url, f"Timeout: {exc!r}")) from exc
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise _Transient(_failure(FailureReason.IO_ERROR, url, f"Connection lost: {exc!r}")) from exc
    except httpx.DecodingError as exc:
        part.unlink(missing_ok=True)
        raise _Transient(_failure(FailureReason.IO_ERROR, url, f"Corrupt response: {exc!r}")) from exc
    except OSError as exc:
        if _disk_full(exc):
            # A partial file on a full disk would only block the next attempt: remove it.
            part.unlink(missing_ok=True)
            raise DiskFull.for_folder(part.parent, file_length) from exc
        raise _failure(FailureReason.IO_ERROR, url, f"Writing {part} failed: {exc}") from exc
    finally:
        if out is not None:
            out.close()


def _check_body_length(url: str, part: Path, state: _PartState, expected_len: int | None) -> None:
    """A short body is worth resuming; a long one means the file is not what the headers promised."""
    if len(state.overlap) < len(state.tail):
        raise _Transient(_failure(FailureReason.WRONG_LENGTH, url, f"Response of {url} ended early"))
    if expected_len is not None and state.received != expected_len:
        detail = f"Wrong length of {url}: expected {expected_len} bytes, got {state.received}"
        if state.received < expected_len:
            raise _Transient(_failure(FailureReason.WRONG_LENGTH, url, detail))
        part.unlink(missing_ok=True)
        raise _failure(FailureReason.WRONG_LENGTH, url, detail)


class Downloader:
    """Downloads into the cache, at most ``max_per_host`` requests per host at a time.

    Metadata files (``metadata=True``) have their own, higher limit ``max_metadata_per_host``, so the
    many small ``pkg.json`` requests of a resolution never queue behind the asset downloads. Redirects
    are followed here, each hop under the limit of the host it goes to.
    """

    def __init__(
        self,
        *,
        max_per_host: int = 2,
        max_metadata_per_host: int = METADATA_PER_HOST,
        timeout: float = 60.0,
        attempts: int = 4,
        retry_backoff: float = RETRY_DELAY,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.max_per_host = max_per_host
        self.max_metadata_per_host = max_metadata_per_host
        self.timeout = timeout
        self.attempts = attempts
        self.retry_backoff = retry_backoff
        self._transport = transport
        self._metadata_tls: ssl.SSLContext | None = None  # see prepare_tls
        self._tls_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._metadata_client: httpx.AsyncClient | None = None
        self._host_slots: dict[tuple[str, bool], PrioritySlots] = {}
        self._widened: set[str] = set()  # hosts whose metadata limit was widened for HTTP/2
        self._file_locks = _KeyedLocks()
        # The check file each running fetch just wrote, so verifying the download needs no re-read.
        self._written_checks: dict[Path, cache.CheckFile] = {}
        # Likewise the content of each metadata file a running fetch just received in memory.
        self._written_bodies: dict[Path, bytes] = {}
        # When each cache file was last downloaded by this process: a forced fetch that had to wait for
        # a running download of the same file is satisfied by it.
        self._completed: dict[str, float] = {}
        # Metadata cache writes deferred while a resolution runs, and the background writes of them.
        self._deferring = 0
        self._deferred: dict[Path, _DeferredWrite] = {}
        self._deferred_bytes = 0
        self._flushing: dict[Path, asyncio.Future[None]] = {}

    async def __aenter__(self) -> Downloader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Write what waits for the cache, then close the HTTP connections."""
        self._flush_deferred()
        if self._flushing:
            await asyncio.gather(*set(self._flushing.values()), return_exceptions=True)
        clients = (self._client, self._metadata_client)
        self._client = self._metadata_client = None
        for client in clients:
            if client is not None:
                await client.aclose()

    def _bind_loop(self) -> None:
        # Connections, semaphores and locks belong to one event loop; a CLI calling asyncio.run twice
        # gets fresh ones instead of "attached to a different loop" errors.
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._client = self._metadata_client = None
            self._host_slots.clear()
            # Background writes of the previous loop ended with it (asyncio.run waits for its workers).
            self._flushing.clear()
            self._widened.clear()
            self._file_locks = _KeyedLocks()

    def _http(self) -> httpx.AsyncClient:
        metadata = _metadata.get()
        client = self._metadata_client if metadata else self._client
        if client is None:
            client = self._new_client(http2=metadata and _http2_available(), metadata=metadata)
            if metadata:
                self._metadata_client = client
            else:
                self._client = client
        return client

    def _new_client(self, *, http2: bool, metadata: bool) -> httpx.AsyncClient:
        import httpx

        # Each client its own context: httpcore sets the ALPN protocols (h2 or not) on the context it
        # gets. The asset client's is built by httpx, as late as ever; a given transport (tests) needs none.
        verify = self._metadata_tls_context() if metadata and self._transport is None else True

        return httpx.AsyncClient(
            http1=True,
            http2=http2,
            timeout=httpx.Timeout(self.timeout),
            # The host limits bound the connections; idle ones are kept so bursts reuse them.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE_CONNECTIONS),
            follow_redirects=False,  # followed by _download, each hop under its host's limit
            headers={"User-Agent": USER_AGENT, "Accept": "*/*"},
            transport=self._transport,
            verify=verify,
            trust_env=True,
        )

    def prepare_tls(self) -> None:
        """Build the TLS context of the metadata client (channel files, the first requests a daemon
        makes) now, blocking, if not done yet.

        Reading the CA certificates costs tens of milliseconds, and OpenSSL releases the GIL while it does:
        run in a worker thread at start-up, it overlaps the imports that precede the first channel request.
        """
        self._metadata_tls_context()

    def _metadata_tls_context(self) -> ssl.SSLContext:
        with self._tls_lock:
            if self._metadata_tls is None:
                self._metadata_tls = _default_tls_context()
            return self._metadata_tls

    def _widen_for_http2(self, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._widened:
            self._widened.add(host)
            self._host_slot(url, True).widen((HTTP2_WIDENING - 1) * self.max_metadata_per_host)

    def _host_slot(self, url: str, metadata: bool) -> PrioritySlots:
        key = ((urlsplit(url).hostname or "").lower(), metadata)
        slot = self._host_slots.get(key)
        if slot is None:
            limit = self.max_metadata_per_host if metadata else self.max_per_host
            slot = self._host_slots[key] = PrioritySlots(limit)
        return slot

    # --- public -----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def metadata_writes_deferred(self) -> AsyncIterator[None]:
        """Keep the metadata files received within the block in memory, and write them to the cache
        after it, in the background.

        For a resolution: creating hundreds of cache files and folders costs a third of its time on a
        slow disk (and more with a virus scanner), so that work is done while the player reads the plan
        instead. Fetches of a waiting file are answered from memory; a process killed before the write
        only loses cache entries, which the next run fetches again.
        """
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
            if not self._deferring:
                self._flush_deferred()

    def _flush_deferred(self) -> None:
        """Start writing the deferred metadata files to the cache (in a worker, not awaited)."""
        if not self._deferred:
            return
        batch, self._deferred, self._deferred_bytes = self._deferred, {}, 0
        flush = asyncio.ensure_future(asyncio.to_thread(_write_deferred, batch))
        for path in batch:
            self._flushing[path] = flush

        def done(_: asyncio.Future[None]) -> None:
            for path in batch:
                if self._flushing.get(path) is flush:
                    del self._flushing[path]

        flush.add_done_callback(done)

    def _take_deferred(self, path: Path) -> _DeferredWrite | None:
        entry = self._deferred.pop(path, None)
        if entry is not None:
            self._deferred_bytes -= len(entry.body)
        return entry

    async def fetch(
        self,
        url: str,
        *,
        cache_root: Path,
        changing_ttl: float | None = None,
        last_modified: str | None = None,
        expected_sha256: str | None = None,
        redownload_on_mismatch: bool = False,
        force: bool = False,
        progress: ProgressSink | None = None,
        simtropolis_token: str | None = None,
        metadata: bool = False,
    ) -> CachedFile:
        """Return the cached file of ``url``, downloading it first when the refresh policy says so.

        ``metadata`` marks a small channel file: it counts against the metadata limit of its host.
        """
        self._bind_loop()
        if cache.is_file_url(url):
            path = cache.local_path_of_file_url(url)
            if not path.is_file():
                raise _failure(FailureReason.NOT_FOUND, url, f"File not found: {path}")
            return CachedFile(path=path)
        try:
            path = cache.cache_path(cache_root, url)
        except ValueError as exc:
            raise _failure(FailureReason.BAD_URL, url, str(exc)) from exc
        expected = (expected_sha256 or "").lower() or None
        lm_time = _parse_instant(last_modified) if last_modified else None
        requested_at = time.monotonic()
        key = os.path.normcase(str(path))
        async with self._file_locks.hold(key):
            if force and self._completed.get(key, -math.inf) >= requested_at:
                force = False  # someone downloaded it while we waited
            waiting = self._deferred.get(path)
            if waiting is not None and not force:
                outdated = redownload_on_mismatch and expected and waiting.check.sha256.lower() != expected
                if not outdated:  # else downloaded again below, as a cached copy would be
                    return self._verified(url, path, expected, waiting)
            flush = self._flushing.get(path)
            if flush is not None:  # its deferred write must land before the file is looked at
                await asyncio.shield(flush)
            download, conditional = self._needs_download(
                path, changing_ttl, lm_time, expected, redownload_on_mismatch, force
            )
            fresh = False
            if download:
                # Metadata needs no lock between processes: each writes a private part file and the
                # content is fixed by its checksum, so whoever renames last leaves the same file.
                async with contextlib.nullcontext() if metadata else locked(cache.lock_file_path(path)):
                    if not force and not metadata:  # another process may have refreshed it meanwhile
                        download, conditional = self._needs_download(
                            path, changing_ttl, lm_time, expected, redownload_on_mismatch, force
                        )
                    if download:
                        fresh = await self._download(
                            url, path, conditional, progress, simtropolis_token, metadata
                        )
                        if (
                            not fresh
                            and redownload_on_mismatch
                            and expected
                            and not self._matches(path, expected)
                        ):
                            fresh = await self._download(
                                url, path, False, progress, simtropolis_token, metadata
                            )
                        self._completed[key] = time.monotonic()
            try:
                await self._heal(url, path, expected, fresh, progress, simtropolis_token, metadata)
                return self._verified(url, path, expected)
            finally:
                self._written_checks.pop(path, None)
                self._written_bodies.pop(path, None)

    async def _heal(
        self,
        url: str,
        path: Path,
        expected: str | None,
        fresh: bool,
        progress: ProgressSink | None,
        token: str | None,
        metadata: bool = False,
    ) -> None:
        """Quarantine a damaged cached file and download it again, once, before anyone sees an error.

        A file kept from earlier is re-hashed (zero-filled or truncated after a crash, edited by hand);
        a file just downloaded is trusted to match its recorded checksum, but one that does not match
        the channel's is fetched once more from byte 0 (it may have been resumed from stale bytes).
        """
        if not path.is_file():
            return
        check = self._check_of(path)
        # A copy of the player's own replacement file cannot be downloaded again: it is only checked
        # against itself, and a mismatch with the channel is reported as it is.
        mirror = check is not None and check.source is not None and check.source != url
        if fresh:
            damaged = bool(expected) and not self._matches(path, expected or "")
        else:
            damaged = not await asyncio.to_thread(_content_matches, path, None if mirror else expected)
        if not damaged:
            return
        async with locked(cache.lock_file_path(path)):
            quarantined = quarantine(path)
            log.warning(
                "Cached file %s is damaged or outdated; moved to %s and downloading again", path, quarantined
            )
            await self._download(url, path, False, progress, token, metadata)
            self._completed[os.path.normcase(str(path))] = time.monotonic()

    async def copy_local_mirror(self, url: str, local_path: Path, cache_root: Path) -> CachedFile:
        """Put ``local_path`` into the cache location of ``url`` (the user's replacement for a download)."""
        self._bind_loop()
        try:
            path = cache.cache_path(cache_root, url)
        except ValueError as exc:
            raise _failure(FailureReason.BAD_URL, url, str(exc)) from exc
        key = os.path.normcase(str(path))
        async with self._file_locks.hold(key), locked(cache.lock_file_path(path)):
            part = cache.part_file_path(path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                await asyncio.to_thread(shutil.copyfile, local_path, part)
                digest = (await asyncio.to_thread(_hash_file, part)).hexdigest()
                check = cache.CheckFile(
                    filename=[local_path.name], checksum=Checksum(sha256=digest), source=str(local_path)
                )
                self._publish(part, path, check, last_modified=None)
            except OSError as exc:
                if _disk_full(exc):
                    part.unlink(missing_ok=True)
                    raise DiskFull.for_folder(path.parent, _size_or_none(local_path)) from exc
                raise _failure(FailureReason.IO_ERROR, url, f"Copying {local_path} failed: {exc}") from exc
            self._completed[key] = time.monotonic()
        return CachedFile(path=path, sha256=digest, filename=local_path.name)

    # --- policy -----------------------------------------------------------------------------------

    def _needs_download(
        self,
        path: Path,
        changing_ttl: float | None,
        lm_time: float | None,
        expected: str | None,
        redownload_on_mismatch: bool,
        force: bool,
    ) -> tuple[bool, bool]:
        """(download?, conditional request allowed?): forced, absent, stale or (if asked) mismatched."""
        if force or not path.is_file():
            return True, False
        checked = cache.check_file_mtime(path)
        stale = changing_ttl is not None and (checked is None or checked < time.time() - changing_ttl)
        outdated = lm_time is not None and (checked is None or checked < lm_time)
        if stale or outdated:
            return True, True
        if redownload_on_mismatch and expected and not self._matches(path, expected):
            return True, False
        return False, False

    def _check_of(self, path: Path) -> cache.CheckFile | None:
        """The check file of ``path``: the one this fetch just wrote, else read from the cache."""
        written = self._written_checks.get(path)
        return written if written is not None else cache.read_check_file(path)

    def _matches(self, path: Path, expected: str) -> bool:
        check = self._check_of(path)
        return check is not None and check.sha256.lower() == expected

    def _verified(
        self, url: str, path: Path, expected: str | None, deferred: _DeferredWrite | None = None
    ) -> CachedFile:
        check = deferred.check if deferred is not None else self._check_of(path)
        sha = check.sha256 if check is not None else ""
        filename = unopt(check.filename) if check is not None else None
        if expected:
            checkfile = cache.check_file_path(path)
            if not sha:
                raise ChecksumMismatch(
                    f"Checksum not found: {path} (expected sha256 {expected} in {checkfile})",
                    url=url,
                    path=path,
                    expected=expected,
                    got=None,
                )
            if sha.lower() != expected:
                raise ChecksumMismatch(
                    f"Wrong checksum: {path} (expected sha256 {expected} in {checkfile}, got {sha})",
                    url=url,
                    path=path,
                    expected=expected,
                    got=sha,
                )
        content = deferred.body if deferred is not None else self._written_bodies.get(path)
        return CachedFile(path=path, sha256=sha, filename=filename, content=content)

    # --- network ----------------------------------------------------------------------------------

    async def _download(
        self,
        url: str,
        path: Path,
        conditional: bool,
        sink: ProgressSink | None,
        token: str | None,
        metadata: bool = False,
    ) -> bool:
        """Download ``url`` to ``path`` with retries; ``False`` when the server said 304 Not Modified."""
        etag = None
        if conditional:
            check = cache.read_check_file(path)
            etag = unopt(check.etag) if check is not None else None
        progress = _Progress(url, sink)
        part = cache.private_part_file_path(path) if metadata else cache.part_file_path(path)
        kind = _metadata.set(metadata)  # read by _http, _stream_body and _receive
        attempt = redirects = 0
        target = url  # where the current request goes (after redirects)
        done = False
        try:
            while True:
                attempt += 1
                try:
                    async with self._host_slot(target, metadata).hold():
                        fresh = await self._attempt(url, target, path, part, etag, progress, token)
                    done = True
                    return fresh
                except _Redirect as hop:
                    attempt -= 1
                    redirects += 1
                    if redirects > MAX_REDIRECTS:
                        raise _failure(
                            FailureReason.HTTP_ERROR, url, f"Too many redirects for {url}"
                        ) from None
                    target = hop.location
                except _Restart:
                    attempt -= 1
                except _Transient as exc:
                    target = url  # redirect targets may be short-lived (signed URLs): ask again
                    if attempt >= self.attempts:
                        raise exc.failure from exc
                    log.info("Retrying download of %s after: %s", url, exc.failure.detail)
                    await asyncio.sleep(self.retry_backoff * 2 ** (attempt - 1))
        except asyncio.CancelledError:
            log.warning("Download was canceled, so partially downloaded file is incomplete: %s", part)
            if progress.started:
                progress.finish(False)
            raise
        except Sc4pacError:  # a failed download, or a full disk
            progress.finish(False)
            raise
        finally:
            _metadata.reset(kind)
            if metadata and not done:
                part.unlink(missing_ok=True)  # a private part file is never resumed

    def _request(self, url: str, etag: str | None, resume_from: int, token: str | None) -> httpx.Request:

        request = self._http().build_request("GET", url)
        if resume_from:
            request.headers["Range"] = f"bytes={resume_from}-"
            # A range of compressed bytes could not be appended to the partial file.
            del request.headers["Accept-Encoding"]
        else:
            request.headers["Accept-Encoding"] = "gzip, identity"
        if etag:
            request.headers["If-None-Match"] = etag
        if token and is_simtropolis(url):
            request.headers["Authorization"] = f'SC4PAC-TOKEN-ST userkey="{token}"'
        return request

    async def _attempt(
        self,
        url: str,
        target: str,
        path: Path,
        part: Path,
        etag: str | None,
        progress: _Progress,
        token: str | None,
    ) -> bool:
        import httpx

        try:
            have = part.stat().st_size
        except FileNotFoundError:
            have = 0
        resume_from = have - RESUME_OVERLAP if have > RESUME_OVERLAP else 0
        request = self._request(target, etag, resume_from, token)
        try:
            response = await self._http().send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise _Transient(_failure(FailureReason.IO_ERROR, url, f"Timeout: {exc!r}")) from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Transient(_failure(FailureReason.IO_ERROR, url, f"Connection failed: {exc!r}")) from exc
        except httpx.HTTPError as exc:
            raise _failure(FailureReason.IO_ERROR, url, repr(exc)) from exc
        try:
            status = response.status_code
            if response.http_version == "HTTP/2" and _metadata.get():
                self._widen_for_http2(target)
            if response.has_redirect_location:
                await response.aread()  # the (small) body read, so the connection is reused
                raise _Redirect(str(response.url.join(response.headers["Location"])))
            if status == 304 and etag:
                cache.touch_check_file(path)
                return False
            if status >= 400 and status != 416:
                failure = http_failure(url, status, token_used=bool(token and is_simtropolis(url)))
                if status >= 500:
                    raise _Transient(failure)
                raise failure
            start, _ = _content_range_start_total(response.headers.get("Content-Range"))
            if resume_from and (status == 206 or status == 416):
                if start != resume_from:
                    part.unlink(missing_ok=True)
                    raise _Restart()
            elif status == 206 or status == 416:
                part.unlink(missing_ok=True)
                raise _Restart()
            elif not 200 <= status < 300:
                raise _failure(FailureReason.HTTP_ERROR, url, f"Unexpected HTTP status {status} for {url}")
            else:
                resume_from = 0  # the server sent the whole file
            await self._receive(url, path, part, response, resume_from, progress)
            return True
        finally:
            await response.aclose()

    async def _receive(
        self,
        url: str,
        path: Path,
        part: Path,
        response: httpx.Response,
        resume_from: int,
        progress: _Progress,
    ) -> None:
        gzipped, expected_len, file_length = _body_lengths(url, response, resume_from)
        progress.start()
        if file_length is not None:
            progress.length(file_length)
        state = await _PartState.open(part, resume_from, progress)
        # A fresh metadata file (a pkg.json: a few kilobytes) is received in memory and stored in the
        # same worker hop as its check file: one hop and one file opening fewer, hundreds of times per
        # resolution.
        body = await _stream_body(
            url,
            part,
            response,
            gzipped,
            resume_from,
            state,
            progress,
            file_length,
            in_memory=_metadata.get() and not resume_from,
        )
        if state.stale:
            log.warning("Partial download %s does not match %s: discarding it and starting over", part, url)
            part.unlink(missing_ok=True)
            raise _Restart()
        _check_body_length(url, part, state, expected_len)

        filename = _content_disposition_filename(response.headers.get("Content-Disposition"))
        if filename is None and (_is_html(body) if body is not None else _looks_like_html(part)):
            part.unlink(missing_ok=True)
            raise _failure(FailureReason.HTML_PAGE, url, _html_page_detail(url))

        check = cache.CheckFile(
            filename=opt(filename),
            checksum=Checksum(sha256=state.digest.hexdigest()),
            source=url,
            etag=opt(response.headers.get("ETag")),
        )
        last_modified = response.headers.get("Last-Modified")
        self._take_deferred(path)  # this copy replaces one still waiting for its write
        if body is not None and self._deferring and self._deferred_bytes + len(body) <= DEFERRED_BYTES_LIMIT:
            self._deferred[path] = _DeferredWrite(part, check, last_modified, body)
            self._deferred_bytes += len(body)
        else:
            try:
                # In a worker (renames, file creation and the check file's fsync can each take a
                # millisecond or more on a busy disk, hundreds of times per resolution); if the task is
                # cancelled meanwhile, the thread still completes, so the file and its check file agree.
                await asyncio.to_thread(
                    self._publish,
                    part,
                    path,
                    check,
                    last_modified=last_modified,
                    body=body,
                    durable=not _metadata.get(),
                )
            except OSError as exc:  # e.g. Windows: the old file is still open elsewhere
                if _disk_full(exc):
                    part.unlink(missing_ok=True)
                    raise DiskFull.for_folder(path.parent, state.size) from exc
                raise _failure(FailureReason.IO_ERROR, url, f"Storing {path} failed: {exc}") from exc
        self._written_checks[path] = check
        if body is not None:
            self._written_bodies[path] = body
        progress.done(state.size)

    @staticmethod
    def _publish(
        part: Path,
        path: Path,
        check: cache.CheckFile,
        *,
        last_modified: str | None,
        body: bytes | None = None,
        durable: bool = True,
    ) -> None:
        """Put the received file in place (``body``: received in memory, written to ``part`` first)."""
        # Synchronous as a whole: it runs in one worker thread, never interleaved with a cancellation.
        if body is not None:
            with _open_part(part, 0) as out:
                out.write(body)
        # The old check file goes first so a crash in between never pairs a new file with an old checksum.
        cache.check_file_path(path).unlink(missing_ok=True)
        os.replace(part, path)
        if last_modified:
            with contextlib.suppress(TypeError, ValueError, OverflowError, OSError):
                stamp = email.utils.parsedate_to_datetime(last_modified).timestamp()
                os.utime(path, (time.time(), stamp))
        cache.write_check_file(path, check, durable=durable)


def _write_deferred(batch: Mapping[Path, _DeferredWrite]) -> None:
    """Write metadata files whose cache write was deferred (in a worker). A failure costs only that
    cache entry: the next run fetches the file again."""
    for path, entry in batch.items():
        try:
            # Not fsynced, like every metadata file: a damaged one is fetched again.
            Downloader._publish(
                entry.part,
                path,
                entry.check,
                last_modified=entry.last_modified,
                body=entry.body,
                durable=False,
            )
        except OSError as exc:
            with contextlib.suppress(OSError):
                entry.part.unlink(missing_ok=True)
            log.warning("Could not store %s in the download cache: %s", path, exc)
