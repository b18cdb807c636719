"""Data lineage: which files the user's code reads and writes, seen through Python's audit hooks.

Every ``open`` audit event passes through one hook per process (hooks cannot be removed, so it
is installed once and does nothing while no :class:`FileTracker` is started). ``builtins.open``,
``io.open``, ``os.open``, pathlib, ``numpy.load``/``save`` and pandas' ``read_csv``/``to_csv``
(both the C and the Python parser: pandas opens the file with ``open`` and hands the handle to
the parser; checked with pandas 3.1 and numpy 2.4) all raise it. Files opened by C or C++ code
directly are not seen: pyarrow's parquet and feather readers and writers (checked), h5py,
sqlite3 databases.

The hook runs on every audited event of the process, imports included, so it only compares the
event name and, for ``open``, adds a tuple to a dict; resolving, filtering and hashing happen
in :meth:`FileTracker.take` and :meth:`FileTracker.file_hash`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from nbtrack.capture.pythondirs import is_under, python_dirs

ACCESS_MODE = getattr(os, "O_ACCMODE", 3)  # O_RDONLY 0, O_WRONLY 1, O_RDWR 2 everywhere
SYSTEM_DIRS = ("/proc", "/sys", "/dev", "/etc", "/usr/share")
HASH_CHUNK = 1 << 20
HASH_CACHE_LIMIT = 10_000
DEFAULT_FILE_HASH_BYTES = 256 << 20
PARTIAL = "partial:"
"""A file longer than ``NBTRACK_FILE_HASH_BYTES`` (default 256 MiB) is hashed over its first
that many bytes plus its size and mtime; its hash is ``partial:<32 hex>`` (a rewrite with the
same head and size still shows, by mtime, as a change)."""


def file_hash_bytes() -> int:
    """The most bytes of one file hashed after a cell (``NBTRACK_FILE_HASH_BYTES``)."""
    try:
        value = int(float(os.environ.get("NBTRACK_FILE_HASH_BYTES", "")))
    except ValueError:
        return DEFAULT_FILE_HASH_BYTES
    return value if value > 0 else DEFAULT_FILE_HASH_BYTES


DIR_CACHE_LIMIT = 10_000

Key = tuple[str, Any, int]  # (working directory at the open, path as given, O_ACCMODE bits)

_lock = threading.Lock()
_installed = False
_active: tuple[FileTracker, ...] = ()  # started trackers; replaced, never mutated
# Where the hook puts an event: the only started tracker's dict, a fan-out for several, or None.
_sink: dict[Key, None] | _FanOut | None = None
_cwd: str | None = None  # cached os.getcwd(), forgotten on every os.chdir event
_quiet_threads: set[int] = set()  # threads whose opens are nbtrack's own
_get_ident = threading.get_ident


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    global _cwd
    if event != "open":
        if event == "os.chdir":
            _cwd = None
        return
    sink = _sink
    if sink is None:
        return
    try:
        path = args[0]
        if path.__class__ is int:  # open(fd): the file was opened (and seen) before
            return
        if _quiet_threads and _get_ident() in _quiet_threads:
            return
        sink[(_cwd or _current_dir(), path, args[2] & ACCESS_MODE)] = None
    except Exception:  # an audit hook that raises would break the user's open()
        pass


def _current_dir() -> str:
    global _cwd
    try:
        _cwd = os.getcwd()
    except OSError:  # the working directory was deleted: relative paths cannot be resolved
        return ""
    return _cwd


class _FanOut:
    """The sink when several trackers are started: every event goes to each."""

    def __init__(self, trackers: tuple[FileTracker, ...]):
        self.trackers = trackers

    def __setitem__(self, key: Key, value: None) -> None:
        for tracker in self.trackers:
            tracker._seen[key] = value


def _rebind(trackers: tuple[FileTracker, ...]) -> None:
    """Point the hook at ``trackers`` (call with ``_lock`` held)."""
    global _active, _sink, _installed, _cwd
    if trackers and not _installed:
        sys.addaudithook(_audit_hook)
        _installed = True
    _active = trackers
    _cwd = None
    if not trackers:
        _sink = None
    elif len(trackers) == 1:
        _sink = trackers[0]._seen
    else:
        _sink = _FanOut(trackers)


@contextlib.contextmanager
def untracked() -> Iterator[None]:
    """Files opened by this thread inside the block are nbtrack's own and never reported."""
    ident = _get_ident()
    nested = ident in _quiet_threads
    _quiet_threads.add(ident)
    try:
        yield
    finally:
        if not nested:
            _quiet_threads.discard(ident)


def default_excludes() -> tuple[str, ...]:
    """Directories whose files are never data: the interpreter's, the OS's, IPython's, Jupyter's."""
    home = os.path.expanduser("~")
    dirs = [
        *python_dirs(),
        *SYSTEM_DIRS,
        os.environ.get("IPYTHONDIR") or os.path.join(home, ".ipython"),
        os.environ.get("MPLCONFIGDIR") or os.path.join(home, ".config", "matplotlib"),
        os.path.join(home, ".cache", "matplotlib"),
        _jupyter_runtime_dir(),
    ]
    return tuple(os.path.normpath(os.path.abspath(d)) for d in dirs if d)


def _jupyter_runtime_dir() -> str:
    try:
        from jupyter_core.paths import jupyter_runtime_dir

        return jupyter_runtime_dir()
    except Exception:
        return os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter", "runtime")


class FileTracker:
    """Collects the regular files the process opens between :meth:`take` calls while started."""

    def __init__(self, exclude: Iterable[str | os.PathLike[str] | None] = ()):
        # Empty entries are ignored: abspath("") would be the working directory, i.e. everything.
        dirs = {
            os.path.normpath(os.path.abspath(os.fspath(d))) for d in exclude if d and os.fspath(d)
        }
        dirs.update(default_excludes())
        dirs |= {os.path.realpath(d) for d in dirs}
        self.exclude: tuple[str, ...] = tuple(sorted(dirs, key=len, reverse=True))
        self._seen: dict[Key, None] = {}
        self._hashes: dict[str, tuple[int, int, str]] = {}
        self._dir_verdicts: dict[str, bool] = {}

    def exclude_also(self, dirs: Iterable[str | os.PathLike[str] | None]) -> None:
        """Never report files in ``dirs`` either (e.g. a store's folders, known once it is open)."""
        more = {os.path.normpath(os.path.abspath(os.fspath(d))) for d in dirs if d and os.fspath(d)}
        more |= {os.path.realpath(d) for d in more}
        if not more <= set(self.exclude):
            self.exclude = tuple(sorted({*self.exclude, *more}, key=len, reverse=True))
            self._dir_verdicts = {}

    def start(self) -> None:
        """Begin collecting (installs the process's audit hook the first time)."""
        with _lock:
            if self not in _active:
                _rebind((*_active, self))

    def stop(self) -> None:
        """Stop collecting; what was collected stays until :meth:`take`."""
        with _lock:
            _rebind(tuple(t for t in _active if t is not self))

    @property
    def started(self) -> bool:
        return self in _active

    def take(self) -> list[tuple[str, str]]:
        """``[(absolute path, "read" | "write")]`` opened since the last take, in first-open order.

        Only existing regular files outside the excluded directories; a file opened both for
        reading and for writing (or with ``r+``) appears twice. Reads of the source files of
        imported modules are imports, not data, and are left out.
        """
        with _lock:
            seen, self._seen = self._seen, {}
            if self in _active:
                _rebind(_active)
        events = list(seen)  # (an open racing in another thread may land in either dict)
        out: dict[tuple[str, str], None] = {}
        modules: set[str] | None = None
        for cwd, raw, access in events:
            try:
                name = os.fsdecode(os.fspath(raw))
            except TypeError:
                continue
            if name.endswith((".pyc", ".pyo")):  # most opens during an import: checked first
                continue
            path = os.path.normpath(os.path.join(cwd, name))
            if not os.path.isabs(path):
                continue
            if self._excluded_dir(os.path.dirname(path)):
                continue
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    continue
            except OSError:  # deleted since (a temporary file) or unreadable
                continue
            if access == os.O_RDONLY and path.endswith(".py"):
                if modules is None:
                    modules = _module_files()
                if path in modules:
                    continue
            if access in (os.O_RDONLY, os.O_RDWR):
                out[(path, "read")] = None
            if access in (os.O_WRONLY, os.O_RDWR):
                out[(path, "write")] = None
        return list(out)

    def _excluded_dir(self, directory: str) -> bool:
        """Whether files in ``directory`` are never reported (also through symlinks); cached."""
        verdict = self._dir_verdicts.get(directory)
        if verdict is None:
            verdict = (
                f"{os.sep}__pycache__" in directory
                or is_under(directory, self.exclude)
                or is_under(os.path.realpath(directory), self.exclude)
            )
            if len(self._dir_verdicts) >= DIR_CACHE_LIMIT:
                self._dir_verdicts.clear()
            self._dir_verdicts[directory] = verdict
        return verdict

    def file_hash(self, path: str) -> tuple[str, int] | None:
        """(xxh3_128 hex of the content, size) of a regular file, equal to its blob hash; cached
        by (path, mtime_ns, size). Past ``file_hash_bytes()`` the hash covers the first that many
        bytes, the size and the mtime, as ``partial:<hex>``. None when missing, not a regular
        file or unreadable."""
        import xxhash

        path = os.path.abspath(path)
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        cached = self._hashes.get(path)
        if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2], st.st_size
        limit = file_hash_bytes()
        digest = xxhash.xxh3_128()
        size = 0
        try:
            with untracked(), open(path, "rb") as f:
                while size < limit and (chunk := f.read(min(HASH_CHUNK, limit - size))):
                    digest.update(chunk)
                    size += len(chunk)
            after = os.stat(path)
        except OSError:
            return None
        before = (st.st_mtime_ns, st.st_size)
        if size < st.st_size and size >= limit:  # the rest stands for itself by size and mtime
            digest.update(f"\0partial\0{st.st_size}\0{st.st_mtime_ns}".encode())
            h = PARTIAL + digest.hexdigest()
            size = st.st_size
        else:
            h = digest.hexdigest()
        if (after.st_mtime_ns, after.st_size) == before and size == st.st_size:
            # (else it was written while being read: hash it again next time)
            if len(self._hashes) >= HASH_CACHE_LIMIT:
                self._hashes.clear()
            self._hashes[path] = (st.st_mtime_ns, size, h)
        return h, size


def _module_files() -> set[str]:
    files = set()
    for module in list(sys.modules.values()):
        f = getattr(module, "__file__", None)
        if isinstance(f, str):
            files.add(os.path.abspath(f))
    return files
