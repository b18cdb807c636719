"""The notebook's revision: its path, the hash of the saved file, and the git commit plus a hash
of the uncommitted changes of the repository holding it.

:func:`capture_revision` is called after every cell, so its answer is cached for up to a second
while the notebook file and git's HEAD, index and branch ref are unchanged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

from nbtrack.capture.lineage import untracked
from nbtrack.capture.pythondirs import is_under, python_dirs
from nbtrack.errors import warn_failure

CACHE_SECONDS = 1.0
GIT_TIMEOUT = 10.0
# The store's own directory changes with every blob written; it is not the user's code.
GIT_PATHSPEC = ("--", ".", ":(exclude,glob)**/.nbtrack/**")
# Keys of the kernel namespace that name the notebook: VS Code's, then ipykernel's.
NAMESPACE_KEYS = ("__vsc_ipynb_file__", "__session__")

_lock = threading.Lock()
# (path, start dir) -> (monotonic time, stamp, watched git files, result)
_Entry = tuple[float, tuple[Any, ...], tuple[str, ...], dict[str, Any]]
_cache: dict[tuple[str | None, str], _Entry] = {}


def notebook_path(user_ns: dict[str, Any] | None = None) -> str | None:
    """Absolute path of the running notebook (or script), or None when it cannot be known.

    Jupyter servers tell the kernel through ``JPY_SESSION_NAME`` (ipykernel copies it into the
    namespace as ``__session__``; VS Code sets ``__vsc_ipynb_file__``); a plain script is its
    ``__main__`` file. Names that are not existing files (a console's session) are skipped.
    """
    candidates = [user_ns.get(k) for k in NAMESPACE_KEYS] if user_ns else []
    candidates.append(os.environ.get("JPY_SESSION_NAME"))
    for value in candidates:
        if isinstance(value, str) and value:
            path = os.path.abspath(os.path.expanduser(value))
            if os.path.isfile(path):
                return path
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    for value in (main_file, sys.argv[0] if sys.argv else None):
        if isinstance(value, str) and value:
            path = os.path.abspath(value)
            # python -m pytest, ipykernel_launcher: the interpreter's own files are not the notebook
            if os.path.isfile(path) and not is_under(path, python_dirs()):
                return path
    return None


def notebook_renamed(old: str, new: str, user_ns: dict[str, Any] | None = None) -> str | None:
    """JupyterLab renamed (or moved) this kernel's notebook from ``old`` to ``new``, paths
    relative to the server's root as its contents API gives them: the kernel's notebook (the
    ``__session__`` ipykernel set from ``JPY_SESSION_NAME``, and that variable) becomes the
    renamed file, so later runs carry its revision. The server itself tells only a restarted
    kernel. Returns the new absolute path, or None when the kernel's notebook is not ``old``
    (a kernel shared with another notebook) and nothing changed."""
    current = (user_ns or {}).get("__session__") or os.environ.get("JPY_SESSION_NAME")
    if not isinstance(current, str) or not current or not old or not new:
        return None
    here = current.replace(os.sep, "/")
    old, new = old.strip("/"), new.strip("/")
    if here == old or here.endswith("/" + old):
        path = os.path.normpath(current[: len(current) - len(old)] + new)
    else:
        return None
    if user_ns is not None:
        user_ns["__session__"] = path
    os.environ["JPY_SESSION_NAME"] = path
    return path


def capture_revision(path: str | None) -> dict[str, Any]:
    """Revision of the notebook at ``path`` (or of the working directory's repository when None).

    Returns ``notebook_path``, ``notebook_hash`` (equal to the blob hash of ``notebook_content``),
    ``notebook_content``, ``git_commit``, ``git_diff_hash`` (None when the work tree is clean) and
    ``git_root``. Never raises: what cannot be found is None.
    """
    try:
        return _capture_cached(os.path.abspath(path) if path else None)
    except Exception as exc:
        warn_failure("could not capture the notebook revision", exc)
        return _empty(path)


def clear_cache() -> None:
    """Forget cached revisions (the next call recomputes)."""
    with _lock:
        _cache.clear()


def _empty(path: str | None) -> dict[str, Any]:
    return {
        "notebook_path": path,
        "notebook_hash": None,
        "notebook_content": None,
        "git_commit": None,
        "git_diff_hash": None,
        "git_root": None,
    }


def _capture_cached(path: str | None) -> dict[str, Any]:
    start = os.path.dirname(path) if path else os.getcwd()
    key = (path, start)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        when, stamp, watched, result = hit
        if now - when < CACHE_SECONDS and _stamp(path, watched) == stamp:
            return dict(result)
    root, git_dir, common_dir = _find_git(start)
    watched = _watched_git_files(git_dir, common_dir) if git_dir and common_dir else ()
    # Stamped before reading, so a change made during the capture is seen next time.
    stamp = _stamp(path, watched)
    result = _capture(path, root)
    with _lock:
        _cache[key] = (now, stamp, watched, result)
    return dict(result)


def _stamp(path: str | None, watched: tuple[str, ...]) -> tuple[Any, ...]:
    """(mtime_ns, size) of the notebook and mtime_ns of git's HEAD, index and branch ref."""
    out: list[Any] = []
    for i, p in enumerate((path, *watched)):
        if p is None:
            out.append(None)
            continue
        try:
            st = os.stat(p)
        except OSError:
            out.append(None)
            continue
        out.append((st.st_mtime_ns, st.st_size) if i == 0 else st.st_mtime_ns)
    return tuple(out)


def _capture(path: str | None, root: str | None) -> dict[str, Any]:
    from nbtrack.store.blobs import content_hash

    result = _empty(path)
    if path is not None:
        try:
            with untracked(), open(path, "rb") as f:
                content = f.read()
        except OSError:
            pass
        else:
            result["notebook_content"] = content
            result["notebook_hash"] = content_hash(content)
    if root is not None:
        git = _git_state(root)
        if git is not None:
            commit, diff, new_files = git
            result["git_root"] = root
            result["git_commit"] = commit
            if diff or new_files:
                listing = "\0".join(sorted(new_files)).encode("utf-8", "surrogateescape")
                result["git_diff_hash"] = content_hash(diff + b"\0untracked\0" + listing)
    return result


def _find_git(start: str) -> tuple[str | None, str | None, str | None]:
    """(work tree root, git dir, common git dir) of the repository holding ``start``."""
    d = os.path.abspath(start)
    while True:
        dot_git = os.path.join(d, ".git")
        if os.path.isdir(dot_git):
            return d, dot_git, _common_dir(dot_git)
        if os.path.isfile(dot_git):  # worktree or submodule: "gitdir: <path>"
            try:
                with open(dot_git, encoding="utf-8") as f:
                    line = f.read().strip()
            except OSError:
                return None, None, None
            if line.startswith("gitdir:"):
                git_dir = os.path.normpath(os.path.join(d, line[7:].strip()))
                return d, git_dir, _common_dir(git_dir)
            return None, None, None
        parent = os.path.dirname(d)
        if parent == d:
            return None, None, None
        d = parent


def _common_dir(git_dir: str) -> str:
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            return os.path.normpath(os.path.join(git_dir, f.read().strip()))
    except OSError:
        return git_dir


def _watched_git_files(git_dir: str, common_dir: str) -> tuple[str, ...]:
    files = [os.path.join(git_dir, "HEAD"), os.path.join(git_dir, "index")]
    try:
        with open(files[0], encoding="utf-8") as f:
            head = f.read().strip()
    except OSError:
        head = ""
    if head.startswith("ref:"):
        files.append(os.path.join(common_dir, *head[4:].strip().split("/")))
    files.append(os.path.join(common_dir, "packed-refs"))
    return tuple(files)


def _git_state(root: str) -> tuple[str | None, bytes, list[str]] | None:
    """(HEAD commit or None before the first commit, diff against HEAD, untracked files), or
    None when git is missing or refuses the directory. One ``git status`` answers a clean tree."""
    status = _git(
        root, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all", *GIT_PATHSPEC
    )
    if status is None:
        return None
    commit = None
    dirty = False
    untracked = []
    fields = iter(status.split(b"\0"))
    for field in fields:
        if field.startswith(b"# branch.oid "):
            oid = field[13:].decode()
            commit = None if oid == "(initial)" else oid
        elif field.startswith(b"? "):
            untracked.append(field[2:].decode("utf-8", "surrogateescape"))
        elif field[:2] in (b"1 ", b"u "):
            dirty = True
        elif field.startswith(b"2 "):
            dirty = True
            next(fields, None)  # a rename's original path is the next field
    diff = b""
    if dirty:
        against = ["HEAD"] if commit else ["--cached"]
        flags = ["--binary", "--no-color", "--no-ext-diff", "--no-textconv"]
        diff = _git(root, "diff", *against, *flags, *GIT_PATHSPEC) or b""
    return commit, diff, untracked


_git_exe: list[str | None] = []


def _git(root: str, *args: str) -> bytes | None:
    if not _git_exe:
        _git_exe.append(shutil.which("git"))
    if _git_exe[0] is None:
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_OPTIONAL_LOCKS="0", LC_ALL="C")  # never rewrite the index (it is watched)
    try:
        proc = subprocess.run(
            [_git_exe[0], "-c", "core.quotepath=off", *args],
            cwd=root,
            env=env,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None
