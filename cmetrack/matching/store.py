"""Where built search indexes are kept, and how a process finds the current one.

The worker builds each register's index (:mod:`cmetrack.matching.jobs`) and every web
process maps the same files. On disk, under :func:`index_dir`::

    <database key>/<register>/current.json        which generation is current, and about it
    <database key>/<register>/<generation>/       the index's Arrow files and its items

A new generation is written in full under a hidden temporary name, its files flushed to
disk, the folder renamed to its generation, and only then ``current.json`` replaced (a
temporary file and ``os.replace``): a reader sees the old generation or the new one,
never half of one, and a build that is interrupted leaves the previous one current. The
generation before the current one is kept a while for readers that read the pointer just
before it moved (a process that has already mapped files keeps them: removing a mapped
file does not unmap it).

When no directory is configured (``MATCHING_INDEX_DIR = None``, or a test database)
indexes are kept in this process's memory only (:class:`MemoryStore`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .adapters import RegisterRef
from .index import FORMAT_VERSION, CandidateIndex, _view
from .model import MatchModel

#: Generations older than the current one and the one before it are removed after this
#: long (a reader that read ``current.json`` just before it moved still finds its files).
KEEP_OLD_SECONDS = 300


@dataclass(frozen=True)
class Manifest:
    """What ``current.json`` says about a register's current index."""

    register: str
    generation: str
    format: int
    model_version: str
    built_at: str  # ISO 8601, UTC
    records: int
    signature: str  # repr of the adapter's signature when the build began
    watermark: dict[str, Any] = field(default_factory=dict)  # see adapters' watermark()
    build: str = "full"  # "full" or "append"
    appended_since_full: int = 0
    seconds: float = 0.0

    @property
    def max_pk(self) -> int | None:
        value = self.watermark.get("max_pk")
        return int(value) if value is not None else None

    @property
    def built_at_datetime(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.built_at)

    def usable(self) -> bool:
        """Of this code's index format (older formats are rebuilt before use)."""
        return self.format == FORMAT_VERSION


class _Refs(Sequence[RegisterRef]):
    """The items of a saved index, made on demand from its primary-key columns (zero-copy
    views of the mapped file: a roll of a million entries need not become a million
    objects when a process loads it)."""

    def __init__(self, register: str, pks: Sequence[int], schools: Sequence[int]) -> None:
        self.register, self.pks, self.schools = register, pks, schools

    def __len__(self) -> int:
        return len(self.pks)

    def __getitem__(self, i: int) -> RegisterRef:  # type: ignore[override]
        school = self.schools[i]
        return RegisterRef(self.register, self.pks[i], school if school >= 0 else None)


def database_key() -> str:
    """Which database an index was built from (two databases may share a var folder)."""
    from django.db import connection

    s = connection.settings_dict
    identity = (connection.vendor, s.get("NAME"), s.get("HOST"), s.get("PORT"))
    return hashlib.sha256(repr(identity).encode()).hexdigest()[:12]


def index_dir() -> Path | None:
    """Where built indexes are kept (``$CMETRACK_VAR_DIR/matching/index``), or None when
    they are kept in memory only: ``MATCHING_INDEX_DIR = None`` in settings, or a test
    database (thrown away with its data, and its ids start again at 1, so a saved index
    could be taken for a later test's register)."""
    from django.conf import settings
    from django.db import connection

    configured = getattr(settings, "MATCHING_INDEX_DIR", "default")
    if configured is None:
        return None
    name = str(connection.settings_dict.get("NAME") or "")
    if configured == "default" and (
        "memory" in name or Path(name).name.startswith("test_") or name.startswith("test_")
    ):
        return None
    if configured != "default":
        return Path(configured)
    return Path(settings.VAR_DIR) / "matching" / "index"


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        fd = os.open(child, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system syncs folders
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_refs(path: Path, items: Sequence[RegisterRef]) -> None:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.ipc as ipc  # type: ignore[import-untyped]

    if isinstance(items, _Refs):  # an appended index's items: the columns as they are
        pks = _int64_array(items.pks)
        schools = _int64_array(items.schools)
    else:
        pks = pa.array([r.pk for r in items], pa.int64())
        schools = pa.array(
            [r.school_id if r.school_id is not None else -1 for r in items], pa.int64()
        )
    refs = pa.table({"pk": pks, "school": schools})
    with pa.OSFile(str(path / "refs.arrow"), "wb") as sink, ipc.new_file(sink, refs.schema) as w:
        w.write_table(refs)


def _int64_array(values: Any) -> Any:
    """An int64 Arrow array over a buffer of 64-bit integers (an ``array('q')`` or a
    memoryview), without making Python ints."""
    import pyarrow as pa

    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _read_refs(path: Path, register: str) -> _Refs:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    refs = ipc.open_file(pa.memory_map(str(path / "refs.arrow"), "r")).read_all()
    return _Refs(
        register,
        _view(refs.column("pk").combine_chunks(), "q"),
        _view(refs.column("school").combine_chunks(), "q"),
    )


def concat_refs(register: str, first: Sequence[RegisterRef], then: Sequence[RegisterRef]) -> _Refs:
    """The items of an appended index: ``first``'s then ``then``'s."""
    from array import array

    def columns(items: Sequence[RegisterRef]) -> tuple[array[int], array[int]]:
        if isinstance(items, _Refs):
            return array("q", items.pks), array("q", items.schools)
        return (
            array("q", (r.pk for r in items)),
            array("q", (r.school_id if r.school_id is not None else -1 for r in items)),
        )

    pks, schools = columns(first)
    more_pks, more_schools = columns(then)
    pks.extend(more_pks)
    schools.extend(more_schools)
    return _Refs(register, pks, schools)


class Store:
    """A place indexes are saved to and loaded from."""

    def manifest(self, register: str) -> Manifest | None:
        raise NotImplementedError

    def load(
        self, manifest: Manifest, model: MatchModel
    ) -> CandidateIndex[RegisterRef]:  # pragma: no cover - abstract
        raise NotImplementedError

    def save(self, manifest: Manifest, index: CandidateIndex[RegisterRef]) -> Manifest:
        raise NotImplementedError

    def version(self, register: str) -> object:
        """Something that changes when ``register``'s current index does (cheap)."""
        raise NotImplementedError

    def complete(self, manifest: Manifest) -> bool:
        """The generation ``manifest`` names is all there (its files were not removed)."""
        raise NotImplementedError

    def remove_legacy(self) -> None:
        """Remove what an older version of cmetrack saved in another layout."""

    @contextlib.contextmanager
    def build_lock(self, *, wait: bool) -> Iterator[bool]:
        """Held while building: yields False when ``wait`` is off and another build holds
        it."""
        raise NotImplementedError
        yield False  # pragma: no cover

    def request_refresh(self) -> bool:
        """Mark a refresh as asked for; False when one is already asked for and recent."""
        raise NotImplementedError

    def refresh_done(self) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        """Forget everything (tests)."""


def new_generation() -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S%f}-{os.getpid()}"


class DirectoryStore(Store):
    """Indexes as files under ``root/<database key>/``, shared by every process."""

    #: A refresh asked for longer ago than this is asked for again (its task was lost).
    REQUEST_TTL = 900

    def __init__(self, root: Path, database: str) -> None:
        self.root = root / database

    def _register_dir(self, register: str) -> Path:
        return self.root / register

    def _pointer(self, register: str) -> Path:
        return self._register_dir(register) / "current.json"

    def manifest(self, register: str) -> Manifest | None:
        try:
            data = json.loads(self._pointer(register).read_text(encoding="utf-8"))
            return Manifest(**data)
        except (OSError, ValueError, TypeError):
            return None

    def version(self, register: str) -> object:
        try:
            st = self._pointer(register).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def complete(self, manifest: Manifest) -> bool:
        path = self._register_dir(manifest.register) / manifest.generation
        return (
            all(
                (path / f"{name}.arrow").is_file()
                for name in ("rows", "keys", "postcodes", "addresses", "upns", "parents", "refs")
            )
            and (path / "meta.json").is_file()
        )

    def remove_legacy(self) -> None:
        """Indexes saved before generations (``<register>-<key>/`` beside the database
        folders, each with its own ``meta.json``) are no longer read."""
        with contextlib.suppress(OSError):
            for path in self.root.parent.iterdir():
                if path.is_dir() and "-" in path.name and (path / "meta.json").is_file():
                    shutil.rmtree(path, ignore_errors=True)

    def load(self, manifest: Manifest, model: MatchModel) -> CandidateIndex[RegisterRef]:
        path = self._register_dir(manifest.register) / manifest.generation
        items = _read_refs(path, manifest.register)
        return CandidateIndex.load(path, model, items=items)

    def save(self, manifest: Manifest, index: CandidateIndex[RegisterRef]) -> Manifest:
        folder = self._register_dir(manifest.register)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".partial-{manifest.generation}"
        try:
            index.save(partial)
            _write_refs(partial, index.items)
            _fsync_tree(partial)
            os.rename(partial, folder / manifest.generation)
            _fsync_dir(folder)
            pointer = self._pointer(manifest.register)
            temporary = folder / f".current-{manifest.generation}.json"
            with open(temporary, "w", encoding="utf-8") as f:
                json.dump(asdict(manifest), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, pointer)
            _fsync_dir(folder)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            with contextlib.suppress(OSError, UnboundLocalError):
                temporary.unlink()
            raise
        self._remove_old(folder, keep={manifest.generation})
        return manifest

    def _remove_old(self, folder: Path, keep: set[str]) -> None:
        """Remove generations but the newest two, and the others' leftovers, once they
        are older than :data:`KEEP_OLD_SECONDS`."""
        now = time.time()
        generations = sorted(
            (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
        keep = keep | {p.name for p in generations[-2:]}
        for path in folder.iterdir():
            if path.name in keep or path.name == "current.json":
                continue
            try:
                old = now - path.stat().st_mtime > KEEP_OLD_SECONDS
            except OSError:
                continue
            if old:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def build_lock(self, *, wait: bool) -> Iterator[bool]:
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".build.lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def request_refresh(self) -> bool:
        marker = self.root / ".refresh-requested"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.close(fd)
            return True
        except FileExistsError:
            try:
                if time.time() - marker.stat().st_mtime < self.REQUEST_TTL:
                    return False
                os.utime(marker)
                return True
            except OSError:
                return False
        except OSError:
            return False  # a read-only var folder: the schedule refreshes it

    def refresh_done(self) -> None:
        (self.root / ".refresh-requested").unlink(missing_ok=True)


class MemoryStore(Store):
    """Indexes in this process's memory (tests, or no directory configured)."""

    def __init__(self) -> None:
        self._saved: dict[str, tuple[Manifest, CandidateIndex[RegisterRef]]] = {}
        self._lock = threading.Lock()
        self._requested = False

    def manifest(self, register: str) -> Manifest | None:
        saved = self._saved.get(register)
        return saved[0] if saved else None

    def version(self, register: str) -> object:
        saved = self._saved.get(register)
        return saved[0].generation if saved else None

    def complete(self, manifest: Manifest) -> bool:
        saved = self._saved.get(manifest.register)
        return saved is not None and saved[0].generation == manifest.generation

    def load(self, manifest: Manifest, model: MatchModel) -> CandidateIndex[RegisterRef]:
        saved = self._saved.get(manifest.register)
        if saved is None or saved[0].generation != manifest.generation:
            raise FileNotFoundError(f"{manifest.register}: generation {manifest.generation}")
        return saved[1]

    def save(self, manifest: Manifest, index: CandidateIndex[RegisterRef]) -> Manifest:
        self._saved[manifest.register] = (manifest, index)
        return manifest

    @contextlib.contextmanager
    def build_lock(self, *, wait: bool) -> Iterator[bool]:
        got = self._lock.acquire(blocking=wait)
        try:
            yield got
        finally:
            if got:
                self._lock.release()

    def request_refresh(self) -> bool:
        asked, self._requested = self._requested, True
        return not asked

    def refresh_done(self) -> None:
        self._requested = False

    def clear(self) -> None:
        self._saved.clear()
        self._requested = False


_memory = MemoryStore()


def current_store() -> Store:
    """The directory store when indexes are kept on disk, else this process's memory."""
    root = index_dir()
    if root is None:
        return _memory
    return DirectoryStore(root, database_key())
