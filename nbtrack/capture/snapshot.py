"""Code snapshot: the local files a run depends on, stored content-addressed.

A snapshot is a blob holding JSON ``{path: blob hash}``: the source files of modules imported
from outside the standard library and site-packages (a ``helpers.py`` beside the notebook, a
package under development), plus the files under the notebook's directory that neither the
project's ``.gitignore`` files nor ``.nbtrackignore`` (gitignore syntax) exclude. Secret files
(``.env*``, private keys, credential files, ``.ssh/``, ``.aws/``, ``.git/``...: the deny list
of :mod:`nbtrack.capture.ignore`) are never taken, whatever the ignore files say. Paths under
the notebook's directory are relative (POSIX separators), others absolute. Files are blobs, so
an unchanged file costs one ``stat`` per run and no space.

The walk is bounded: ignored and denied directories are pruned without being entered, ignored
files are never ``stat``-ed, and it stops at the first limit reached:
``NBTRACK_SNAPSHOT_MAX_FILES`` files examined (default 2,000; a directory entry examined is
one that passed the ignore rules), ``NBTRACK_SNAPSHOT_LIMIT_MB`` stored (default 50; 0 turns
snapshots off), or ten times ``NBTRACK_SNAPSHOT_MAX_FILES`` directory entries looked at (a
flat directory of 100,000 ignored files). Files over ``NBTRACK_SNAPSHOT_FILE_LIMIT_MB``
(default 1) are left out.
"""

from __future__ import annotations

import functools
import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from nbtrack.capture.ignore import Rules, denied_dir, denied_file, ignored, outer_rules, read_rules
from nbtrack.capture.lineage import default_excludes, untracked
from nbtrack.capture.pythondirs import is_under
from nbtrack.errors import ValidationError

EXTERNAL = "_external"  # where files from outside the notebook's directory go when restored
MAX_FILES = 2_000  # default of NBTRACK_SNAPSHOT_MAX_FILES
ENTRIES_PER_FILE = 10  # directory entries looked at, per file examined, before the walk stops
_MB = 1 << 20

# (store blob root, absolute path) -> (mtime_ns, size, blob hash): unchanged files are not re-read.
_hashes: dict[tuple[str, str], tuple[int, int, str]] = {}


def limits() -> tuple[int, int]:
    """(per-file, total) byte limits from the environment."""
    total = _env_mb("NBTRACK_SNAPSHOT_LIMIT_MB", 50.0)
    per_file = _env_mb("NBTRACK_SNAPSHOT_FILE_LIMIT_MB", 1.0)
    return min(per_file, total), total


def max_files() -> int:
    """How many files one snapshot examines at most (``NBTRACK_SNAPSHOT_MAX_FILES``)."""
    raw = os.environ.get("NBTRACK_SNAPSHOT_MAX_FILES")
    try:
        value = int(raw) if raw else MAX_FILES
    except ValueError:
        raise ValidationError(
            f"NBTRACK_SNAPSHOT_MAX_FILES must be a whole number of files, got {raw!r}"
        ) from None
    return max(0, value)


def _env_mb(name: str, default: float) -> int:
    raw = os.environ.get(name)
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ValidationError(f"{name} must be a number of megabytes, got {raw!r}") from None
    return max(0, int(value * _MB))


def capture_snapshot(
    store: Any, notebook_dir: str | None, modules: Iterable[ModuleType]
) -> str | None:
    """Store the run's local code and files; returns the manifest's blob hash (None if empty).

    ``modules`` is usually ``sys.modules.values()`` of the kernel; ``notebook_dir`` None (or a
    home or root directory, too broad to walk) means modules only.
    """
    per_file, total = limits()
    if total <= 0:
        return None
    root = os.path.normpath(os.path.abspath(notebook_dir)) if notebook_dir else None
    if root is not None and (
        root in (os.path.abspath(os.sep), os.path.expanduser("~")) or not os.path.isdir(root)
    ):
        root = None
    excluded = _excluded_dirs(store)
    most = max_files()
    manifest: dict[str, str] = {}
    used = examined = 0
    with untracked():  # nbtrack's own reads are not the run's inputs
        rules = outer_rules(root) if root else []
        for path, st in _candidates(root, modules, excluded, rules, most * ENTRIES_PER_FILE):
            examined += 1
            if stat.S_ISREG(st.st_mode) and st.st_size <= per_file and used + st.st_size <= total:
                h = _blob(store, path, st)
                if h is not None:
                    manifest[_key(path, root)] = h
                    used += st.st_size
            if examined >= most or used >= total:
                break
    if not manifest:
        return None
    data = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return str(store.put_blob(data))


def _excluded_dirs(store: Any) -> tuple[str, ...]:
    return _excluded(getattr(store, "root", None), getattr(store.blobs, "root", None))


@functools.lru_cache(maxsize=16)
def _excluded(*roots: Any) -> tuple[str, ...]:
    dirs = set(default_excludes())
    dirs.add(
        str(Path(__file__).resolve().parents[1])
    )  # nbtrack itself, even when installed editable
    for d in roots:
        if isinstance(d, str) and d:
            dirs.add(os.path.normpath(os.path.abspath(d)))
    return tuple(sorted(dirs, key=len, reverse=True))


def _candidates(
    root: str | None,
    modules: Iterable[ModuleType],
    excluded: tuple[str, ...],
    rules: list[tuple[str, Rules]],
    max_entries: int,
) -> Iterator[tuple[str, os.stat_result]]:
    """(absolute path, stat) of the files to consider: imported local modules first (code
    matters most), then the directory, depth first in name order. Ignored and denied
    directories are not entered and ignored files not ``stat``-ed; the walk stops after
    ``max_entries`` directory entries."""
    seen: set[str] = set()
    for path in _local_modules(list(modules), excluded):
        if path in seen or denied_file(os.path.basename(path)):
            continue
        if root and is_under(path, (root,)) and ignored(rules, path, False):
            continue
        seen.add(path)
        try:
            yield path, os.stat(path)
        except OSError:
            continue
    if root is None:
        return
    looked = 0
    stack: list[tuple[str, list[tuple[str, Rules]]]] = [(root, rules)]
    while stack:
        dirpath, active = stack.pop()
        try:
            with os.scandir(dirpath) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        if dirpath != root and any(e.name == ".gitignore" for e in entries):
            nested = read_rules(os.path.join(dirpath, ".gitignore"))
            if nested is not None:
                active = [*active, (dirpath, nested)]
        subdirs = []
        for entry in entries:
            looked += 1
            if looked > max_entries:
                return
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            path = entry.path
            if is_dir:
                if not (
                    denied_dir(entry.name)
                    or is_under(path, excluded)
                    or ignored(active, path, True)
                ):
                    subdirs.append((path, active))
                continue
            if (
                path in seen
                or denied_file(entry.name)
                or entry.is_symlink()
                or ignored(active, path, False)
            ):
                continue
            seen.add(path)
            try:
                yield path, entry.stat(follow_symlinks=False)
            except OSError:
                continue
        stack.extend(reversed(subdirs))


_local: dict[tuple[str, tuple[str, ...]], str | None] = {}
_last_modules: tuple[int, tuple[str, ...], list[str]] = (-1, (), [])


def _local_modules(modules: list[ModuleType], excluded: tuple[str, ...]) -> list[str]:
    """Paths of the imported modules that are local code; recomputed when the number of
    imported modules changes (a session ends many runs with the same modules)."""
    global _last_modules
    if _last_modules[:2] == (len(modules), excluded):
        return _last_modules[2]
    paths = []
    for module in modules:
        f = getattr(module, "__file__", None)
        if (
            isinstance(f, str)
            and f.endswith(".py")
            and getattr(module, "__name__", "") != "__main__"
        ):
            path = _local_path(f, excluded)
            if path is not None:
                paths.append(path)
    _last_modules = (len(modules), excluded, paths)
    return paths


def _local_path(file: str, excluded: tuple[str, ...]) -> str | None:
    """A module file's normalised path, or None when it lies in an excluded directory
    (cached: a session checks the same few hundred modules at every run's end)."""
    key = (file, excluded)
    if key not in _local:
        path = os.path.normpath(os.path.abspath(file))
        _local[key] = None if is_under(os.path.dirname(path), excluded) else path
    return _local[key]


def _blob(store: Any, path: str, st: os.stat_result) -> str | None:
    key = (str(store.blobs.root), path)
    cached = _hashes.get(key)
    if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
        return cached[2]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    h = str(store.put_blob(data))
    if len(data) == st.st_size:
        _hashes[key] = (st.st_mtime_ns, st.st_size, h)
    return h


@functools.lru_cache(maxsize=8192)
def _key(path: str, root: str | None) -> str:
    if root and is_under(path, (root,)):
        return os.path.relpath(path, root).replace(os.sep, "/")
    return path


def member_path(key: str) -> str:
    """Where a snapshot path goes below a target directory: relative paths as they are, absolute
    ones under ``_external/`` (so nothing is ever written outside the target)."""
    if os.path.isabs(key) or key.startswith("/"):
        drive, rest = os.path.splitdrive(key)
        parts = [drive.rstrip(":")] if drive else []
        parts += [p for p in rest.replace("\\", "/").split("/") if p]
        return "/".join([EXTERNAL, *parts])
    parts = key.replace("\\", "/").split("/")
    if ".." in parts or not key:
        raise ValidationError(f"snapshot path {key!r} leaves its directory")
    return "/".join(p for p in parts if p not in ("", "."))


def snapshot_files(store: Any, snapshot_hash: str) -> dict[str, str]:
    """The snapshot's ``{path: blob hash}``."""
    return dict(json.loads(store.get_blob(snapshot_hash)))


def changed_files(
    store: Any, snapshot_hash: str, root: str | os.PathLike[str]
) -> list[tuple[str, str]]:
    """``[(path, "changed" | "missing")]`` of snapshot files that differ from what is on disk now;
    relative paths are looked up under ``root`` (the notebook's directory)."""
    from nbtrack.store.blobs import content_hash

    out = []
    with untracked():
        for key, h in sorted(snapshot_files(store, snapshot_hash).items()):
            path = key if os.path.isabs(key) else os.path.join(os.fspath(root), key)
            try:
                with open(path, "rb") as f:
                    now = content_hash(f.read())
            except OSError:
                out.append((key, "missing"))
                continue
            if now != h:
                out.append((key, "changed"))
    return out


def restore_snapshot(
    store: Any, snapshot_hash: str, target_dir: str | os.PathLike[str]
) -> dict[str, Path]:
    """Write the recorded files below ``target_dir`` (see :func:`member_path`); returns
    ``{snapshot path: written file}``."""
    target = Path(target_dir)
    out = {}
    for key, h in sorted(snapshot_files(store, snapshot_hash).items()):
        dest = target.joinpath(*member_path(key).split("/"))
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(store.get_blob(h))
        out[key] = dest
    return out
