"""The notebook a headless kernel runs, found by its cells.

A kernel started by nbclient or papermill is told neither ``JPY_SESSION_NAME`` nor the
notebook's path, but it runs the notebook's cells in its directory. :func:`find_notebook` looks
among the ``.ipynb`` files of that directory for the one whose code cells include every cell the
kernel has run; it answers only when exactly one does. Parsed notebooks are kept per file by
(mtime, size), so asking again costs a directory listing.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable

from nbtrack.capture.lineage import untracked

MAX_FILES = 50
MAX_BYTES = 10 * 2**20

_lock = threading.Lock()
# path -> (mtime_ns, size, the stripped sources of its code cells)
_cells: dict[str, tuple[int, int, frozenset[str]]] = {}


def find_notebook(directory: str, executed: Iterable[str]) -> str | None:
    """The one notebook of ``directory`` whose code cells include all of ``executed`` (cell
    sources, compared without surrounding blank space); None when none or several do."""
    wanted = {s.strip() for s in executed if s and s.strip()}
    if not wanted:
        return None
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".ipynb"))
    except OSError:
        return None
    found = []
    for name in names[:MAX_FILES]:
        path = os.path.join(os.path.abspath(directory), name)
        cells = _code_cells(path)
        if cells is not None and wanted <= cells:
            found.append(path)
    return found[0] if len(found) == 1 else None


def _code_cells(path: str) -> frozenset[str] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if st.st_size > MAX_BYTES:
        return None
    with _lock:
        hit = _cells.get(path)
    if hit is not None and hit[:2] == (st.st_mtime_ns, st.st_size):
        return hit[2]
    try:
        with untracked(), open(path, encoding="utf-8") as f:
            nb = json.load(f)
        sources = frozenset(
            _text(c.get("source")).strip()
            for c in nb.get("cells", [])
            if isinstance(c, dict) and c.get("cell_type") == "code"
        )
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    with _lock:
        _cells[path] = (st.st_mtime_ns, st.st_size, sources)
    return sources


def _text(source: object) -> str:
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""
