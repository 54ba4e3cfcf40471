"""Kept generations: package folders an update or revert took out of Plugins, stored for instant undo.

Each transaction that removed or replaced packages owns ``<store>/<txid>/`` (the removed paths, relative
to the Plugins root as before) and ``<store>/<txid>.json`` (which lock entries they are). The store
lies outside every folder the game loads and, where possible, on the Plugins volume, so keeping and
restoring a folder are single renames. A byte budget prunes the oldest generations first, but the
generations of the newest :data:`MIN_KEPT_TRANSACTIONS` transactions always stay.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar, cast

import msgspec

from ..atomic import atomic_write_bytes
from ..install.publish import device_of
from ..models.profile import InstalledData
from ..profiles import KEPT_FOLDER
from ..removal import remove_later, remove_path, removing
from ..resolve.plan import PackageIdentity, installed_identity
from .records import KeptManifest

log = logging.getLogger(__name__)

__all__ = [
    "BUDGET_ENV",
    "DEFAULT_BUDGET",
    "MIN_KEPT_TRANSACTIONS",
    "Generations",
    "budget_from_env",
    "store_location",
]

BUDGET_ENV = "SC4PAC_KEEP_BUDGET"
DEFAULT_BUDGET = 2 * 1024**3
MIN_KEPT_TRANSACTIONS = 3

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_PRUNING = ".pruning-"
# Bytes per package (by identity), measured once, so that keeping, restoring and pruning never walk
# package folders on the way.
_SIZES_FILE = "package-sizes"


def budget_from_env() -> int:
    """The byte budget of kept generations: ``$SC4PAC_KEEP_BUDGET`` (e.g. ``500M``, ``2G``) or 2 GiB."""
    raw = os.environ.get(BUDGET_ENV, "")
    match = _SIZE.fullmatch(raw) if raw else None
    if match is None:
        if raw:
            log.warning("Ignoring %s=%r (expected a size such as 500M or 2G).", BUDGET_ENV, raw)
        return DEFAULT_BUDGET
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def _loaded_by_game(path: Path, plugins_root: Path) -> bool:
    # SimCity 4 loads every folder below a folder named Plugins (and below the configured root).
    if path == plugins_root or plugins_root in path.parents:
        return True
    return any(part.lower() == "plugins" for part in path.parts)


def store_location(profile_dir: Path, plugins_root: Path) -> Path:
    """Where a profile keeps its generations: in the profile folder, or next to Plugins when only
    that is on the Plugins volume; never inside a folder the game loads."""
    candidates = [
        profile_dir.absolute() / KEPT_FOLDER,
        plugins_root.parent / f".sc4pac-kept-{profile_dir.name}",
    ]
    usable = [c for c in candidates if not _loaded_by_game(c, plugins_root)]
    plugins_device = device_of(plugins_root)
    for candidate in usable:
        if plugins_device is not None and device_of(candidate) == plugins_device:
            return candidate
    # Another volume: keeping then copies, which is slower but still correct.
    return usable[0] if usable else candidates[0]


class Generations:
    """The kept generations of one profile."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Decoded manifests by file name and type, with the (inode, size, mtime) they were read at: a
        # revert reads them to locate kept folders and again to prune, and each is decoded once.
        self._decoded: dict[tuple[str, type], tuple[FileKey, object]] = {}
        self._undecodable: set[str] = set()  # manifest files that do not decode (e.g. cut by a power loss)
        self._sizes: tuple[FileKey, dict[str, int]] | None = None
        self._identity_lists: dict[str, tuple[FileKey, list[PackageIdentity]]] = {}

    def folder(self, txid: str) -> Path:
        """The folder holding what transaction ``txid`` removed (paths relative to Plugins)."""
        return self.root / txid

    def _manifest_path(self, txid: str) -> Path:
        return self.root / f"{txid}.json"

    def record(self, txid: str, entries: Sequence[InstalledData], plugins_root: Path) -> None:
        """Write the manifest of ``txid`` (with the entries' sizes) before its publish moves the
        folders in."""
        if entries:
            sizes = self.measure(entries, plugins_root)
            manifest = KeptManifest(
                id=txid, entries=list(entries), sizes=[sizes[_size_key(e)] for e in entries]
            )
            # Not fsynced: a generation is a cache for instant undo, not state. A power cut that loses
            # or truncates this file costs that generation (pruning discards its folders, and a revert
            # to before it downloads instead); the Plugins folder, lock and history stay consistent.
            atomic_write_bytes(
                self._manifest_path(txid), msgspec.json.encode(manifest), backup=False, durable=False
            )

    def measure(
        self, entries: Iterable[InstalledData], plugins_root: Path, known: Mapping[str, int] | None = None
    ) -> dict[str, int]:
        """The size of each installed entry (keyed by identity): from the size cache, measuring in
        the Plugins folder only what was never measured before. ``known`` (package id -> bytes) holds
        the sizes of packages just installed, as the install record counted them: no walk for those."""
        path = self.root / _SIZES_FILE
        cache = self._read_sizes(path)
        result: dict[str, int] = {}
        measured = False
        for entry in entries:
            key = _size_key(entry)
            if key not in cache:
                size = (known or {}).get(entry.id)
                if size is None:
                    size = sum(_tree_size(plugins_root / rel) for rel in entry.files if rel.strip("/"))
                cache[key] = size
                measured = True
            result[key] = cache[key]
        if measured:
            atomic_write_bytes(path, msgspec.json.encode(cache), backup=False)
            written = file_key(path)
            self._sizes = (written, cache) if written is not None else None
        return result

    def _read_sizes(self, path: Path) -> dict[str, int]:
        """The size cache (a copy), decoded again only when the file changed: every transaction
        reads it twice. Entries are only ever added, so a stale copy costs a measurement, not a
        wrong size."""
        key = file_key(path)
        if self._sizes is not None and key is not None and self._sizes[0] == key:
            return dict(self._sizes[1])
        try:
            cache = msgspec.json.decode(path.read_bytes(), type=dict[str, int])
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return {}
        self._sizes = (key, cache) if key is not None else None
        return dict(cache)

    def _files(self) -> dict[str, FileKey]:
        """The manifest files (by transaction id, from the file name) and their (inode, size, mtime)."""
        return self._scan()[0]

    def _scan(self) -> tuple[dict[str, FileKey], list[str]]:
        """:meth:`_files`, and the names of the other folders in the store (one listing for both)."""
        self._undecodable.clear()
        found: dict[str, FileKey] = {}
        folders: list[str] = []
        try:
            children = list(os.scandir(self.root))
        except OSError:
            return found, folders
        for child in children:
            if child.name.endswith(".json"):
                try:
                    st = child.stat()
                except OSError as exc:
                    log.warning("Ignoring the unreadable kept-generation manifest %s: %s", child.path, exc)
                    continue
                found[child.name[: -len(".json")]] = (st.st_ino, st.st_size, st.st_mtime_ns)
            elif child.name.startswith(_PRUNING) or (child.name != _SIZES_FILE and _is_dir(child)):
                folders.append(child.name)
        # Forget the decoded manifests of pruned generations (the object lives as long as the process).
        # list(): a copy made in one step, as another thread may be adding to the dict.
        for cached in list(self._decoded):
            if cached[0] not in found:
                self._decoded.pop(cached, None)
        for name in list(self._identity_lists):
            if name not in found:
                self._identity_lists.pop(name, None)
        return found, folders

    def _read(self, name: str, key: FileKey, type_: type[_M]) -> _M | None:
        """The manifest ``<name>.json`` decoded as ``type_`` (None when it cannot be read); decoded
        again only when the file changed."""
        cached = self._decoded.get((name, type_))
        if cached is not None and cached[0] == key:
            return cast(_M, cached[1])
        path = self.root / f"{name}.json"
        try:
            manifest = msgspec.json.decode(path.read_bytes(), type=type_)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("Ignoring the damaged kept-generation manifest %s: %s", path, exc)
            self._undecodable.add(path.name)
            return None
        except OSError as exc:
            log.warning("Ignoring the unreadable kept-generation manifest %s: %s", path, exc)
            return None
        self._decoded[(name, type_)] = (key, manifest)
        return manifest

    def manifests(self) -> dict[str, KeptManifest]:
        """Every readable manifest by transaction id (unreadable ones are skipped: they only cost reuse)."""
        found: dict[str, KeptManifest] = {}
        for name, key in self._files().items():
            manifest = self._read(name, key, KeptManifest)
            if manifest is not None:
                found[manifest.id] = manifest
        return found

    def complete_entries(self) -> Iterator[InstalledData]:
        """The entries of every readable manifest whose files are all still kept."""
        for txid, manifest in self.manifests().items():
            present = _Listing(self.folder(txid))
            for entry in manifest.entries:
                if present.has_all(entry.files):
                    yield entry

    def locate(self, entries: Iterable[InstalledData], newest_first: Sequence[str]) -> dict[str, Path]:
        """For each lock entry that a kept generation holds completely: the folder holding it.

        Keys are ``group:name``; transactions are searched newest first, and manifests are read only
        until every entry is found."""
        files = self._files()
        wanted = {installed_identity(e): e for e in entries}
        found: dict[str, Path] = {}
        order = [t for t in newest_first if t in files] + sorted(set(files) - set(newest_first), reverse=True)
        for name in order:
            if len(found) == len(wanted):
                break
            manifest = self._read(name, files[name], KeptManifest)
            if manifest is None:
                continue
            base = self.folder(manifest.id)
            present = _Listing(base)
            for identity in self._identities(name, files[name], manifest):
                entry = wanted.get(identity)
                if entry is None or entry.id in found:
                    continue
                if present.has_all(entry.files):
                    found[entry.id] = base
        return found

    def _identities(self, name: str, key: FileKey, manifest: KeptManifest) -> list[PackageIdentity]:
        """The identity of each entry of a manifest, computed once per manifest file."""
        cached = self._identity_lists.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        identities = [installed_identity(e) for e in manifest.entries]
        self._identity_lists[name] = (key, identities)
        return identities

    def size(self, txid: str) -> int:
        """Bytes held by the generation of ``txid`` (measured now)."""
        return _tree_size(self.folder(txid))

    def _kept_bytes(self, manifest: _KeptFiles) -> int | None:
        """Bytes of the entries still kept; None when every entry was restored since."""
        # Entries restored by a revert have left the folder: one directory listing per subfolder tells.
        present = _Listing(self.folder(manifest.id))
        remaining = [n for n, entry in enumerate(manifest.entries) if present.has_any(entry.files)]
        if not remaining:
            return None
        if len(manifest.sizes) != len(manifest.entries):
            return self.size(manifest.id)
        return sum(manifest.sizes[n] for n in remaining)

    def prune(self, oldest_first: Sequence[str], budget: int) -> list[str]:
        """Delete the oldest generations until the rest fit ``budget``; returns the pruned ids.

        The newest :data:`MIN_KEPT_TRANSACTIONS` generations are never pruned, so the last three
        changes can always be undone without downloads."""
        if not self.root.is_dir():
            return []
        # Pruning needs only the paths and sizes: decoding skips the rest of each lock entry.
        manifests: dict[str, _KeptFiles] = {}
        files, folders = self._scan()
        readable: set[str] = set()
        for name, key in files.items():
            manifest = self._read(name, key, _KeptFiles)
            if manifest is not None:
                manifests[manifest.id] = manifest
                readable.add(name)
        self._discard_leftovers(folders, readable)
        # Generations the history does not know (a damaged history was set aside) count as oldest.
        known = [t for t in oldest_first if t in manifests]
        # The newest transactions that kept something: aborted or no-op ones must not use up the slots.
        protected = set(known[-MIN_KEPT_TRANSACTIONS:])
        order = sorted(set(manifests) - set(known)) + known
        kept = {t: self._kept_bytes(manifests[t]) for t in order if t not in protected}
        for txid in [t for t in order if t in kept and kept[t] is None]:
            self.discard(txid)  # everything it kept was restored since
            order.remove(txid)
        # Protected generations are never pruned. What they hold is looked at only when their full
        # sizes (the bound from their manifests) do not fit the budget with the others.
        bound = sum(kept[t] or 0 for t in order if t in kept)
        bound += sum(_full_size(manifests[t]) for t in order if t in protected)
        if bound <= budget:
            return []
        sizes = {t: (kept[t] if t in kept else self._kept_bytes(manifests[t])) or 0 for t in order}
        total = sum(sizes.values())
        pruned: list[str] = []
        for txid in order:
            if total <= budget:
                break
            if txid in protected:
                continue
            self.discard(txid)
            total -= sizes[txid]
            pruned.append(txid)
        return pruned

    def discard(self, txid: str) -> None:
        """Delete one generation: the manifest first, so a crash leaves no promise of missing folders;
        then its folder is renamed out of the way and deleted in the background (sc4pac.removal)."""
        self._manifest_path(txid).unlink(missing_ok=True)
        folder = self.folder(txid)
        if _exists(folder):
            doomed = self.root / f"{_PRUNING}{txid}"
            os.replace(folder, doomed)
            remove_later(doomed)

    def discard_if_empty(self, txid: str) -> None:
        """Forget a generation whose transaction kept nothing (aborted, or nothing was removed)."""
        folder = self.folder(txid)
        if not _exists(folder) or not any(folder.iterdir()):
            self.discard(txid)

    def _discard_leftovers(self, folders: list[str], manifests: set[str]) -> None:
        """Delete the ``folders`` of the store without a readable manifest of their name (and half
        pruned ones)."""
        # A manifest that does not decode cannot be reverted to: without this its folders would
        # never be pruned.
        for name in self._undecodable:
            (self.root / name).unlink(missing_ok=True)
        for name in folders:
            path = self.root / name
            if (name.startswith(_PRUNING) or name not in manifests) and not removing(path):
                try:
                    remove_path(path)
                except OSError as exc:  # another process may be deleting it right now
                    log.info("Could not delete the leftover %s: %s", path, exc)


# (inode, size, mtime) of a file.
FileKey = tuple[int, int, int]
_M = TypeVar("_M", KeptManifest, "_KeptFiles")


class _EntryFiles(msgspec.Struct):
    files: list[str]


class _KeptFiles(msgspec.Struct):
    """What pruning needs of a :class:`KeptManifest`."""

    id: str
    entries: list[_EntryFiles]
    sizes: list[int] = []


class _Listing:
    """Which paths exist below a folder, from one directory listing per parent folder (kept package
    folders sit side by side in a few subfolders, so this beats one lstat per package)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._names: dict[str, frozenset[str]] = {}

    def _names_in(self, parent: str) -> frozenset[str]:
        names = self._names.get(parent)
        if names is None:
            try:
                names = frozenset(os.listdir(self.base / parent))
            except OSError:
                names = frozenset()
            self._names[parent] = names
        return names

    # Plain loops, not generators: pruning asks this of every entry of every kept generation.
    def has_any(self, rels: list[str]) -> bool:
        """Whether any of the paths ``rels`` exists (empty paths do not count)."""
        for rel in rels:
            parent, _, name = rel.rstrip("/").rpartition("/")
            if name and name in self._names_in(parent):
                return True
        return False

    def has_all(self, rels: list[str]) -> bool:
        """Whether every path of ``rels`` exists (empty paths do not count)."""
        for rel in rels:
            parent, _, name = rel.rstrip("/").rpartition("/")
            if name and name not in self._names_in(parent):
                return False
        return True


def _full_size(manifest: _KeptFiles) -> int:
    """The bytes a generation held when it was made (an upper bound of what it holds now)."""
    if len(manifest.sizes) == len(manifest.entries):
        return sum(manifest.sizes)
    return 1 << 62  # not recorded (an older manifest): no bound


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _size_key(entry: InstalledData) -> str:
    if not entry.variant:
        return f"{entry.id}@{entry.version}#"
    variant = ",".join(f"{k}={v}" for k, v in sorted(entry.variant.items()))
    return f"{entry.id}@{entry.version}#{variant}"


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def file_key(path: Path) -> FileKey | None:
    """(inode, size, mtime) of a file, to tell whether a decoded copy is still current."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _tree_size(path: Path) -> int:
    total = 0
    stack = [path]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            else:
                with contextlib.suppress(OSError):
                    total += entry.stat(follow_symlinks=False).st_size
    return total
