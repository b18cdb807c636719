"""Export a run's executed-cell sequence: a jupytext percent script, a clean notebook, or a bundle.

Cells come in executed order (``Store.run_cells``), so an out-of-order session exports as the
sequence that actually built the state. The script is rendered by ``percent_script`` (magics
through IPython's transformers, ``%load_ext nbtrack`` left out unless needed); the notebook
keeps every source verbatim, ``%load_ext nbtrack`` included: run in Jupyter it records the
re-execution, which is the point. The bundle is ``bundle.py``; slices are ``slicing.py``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError, ValidationError
from .notebook_format import import_nbformat
from .outfiles import check_output, write_atomic
from .percent_script import nbtrack_use, render_script, to_python

__all__ = ["export_run", "render_notebook", "render_script", "to_python", "run_directory"]

if TYPE_CHECKING:
    from .slicing import RunSlice
    from .store import Store

FORMATS = ("script", "notebook", "bundle")
SUFFIXES = {"script": ".py", "notebook": ".ipynb", "bundle": ".zip"}
DEFAULT_KERNELSPEC = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}
_CELL_ID = re.compile(r"[^A-Za-z0-9_-]")


def export_run(
    store: Store,
    run_id: str,
    fmt: str,
    output: str | os.PathLike[str] | None = None,
    slice_var: str | None = None,
    *,
    verify: bool = True,
    on_slice: Callable[[RunSlice], None] | None = None,
) -> Path:
    """Write run ``run_id`` as ``fmt`` (script, notebook or bundle) to ``output`` (default:
    ``<run name>-<id>.py|.ipynb|.zip`` here); returns the path written.

    ``slice_var`` keeps only the cells needed to rebuild that variable (script and notebook);
    unless ``verify`` is False the slice is replayed in a fresh kernel first, and a slice that
    does not rebuild the variable's recorded hash raises :class:`ValidationError`. ``on_slice``
    receives the slice (cells kept, verification) before anything is written.
    """
    if fmt not in FORMATS:
        raise ValidationError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if slice_var is not None and fmt == "bundle":
        raise ValidationError(
            "--slice works with --format script or notebook, not bundle (a bundle is the whole run)"
        )
    run = load_run(store, run_id)
    path = Path(output) if output else Path(f"{_file_stem(run)}{SUFFIXES[fmt]}")
    check_output(path, f"{_file_stem(run)}{SUFFIXES[fmt]}")  # before a slice's replay, not after
    cells = store.run_cells(run)
    if not cells:
        raise ValidationError(
            f"run {run['id'][:8]} has no recorded cells to export: it was not run in a kernel with %load_ext nbtrack"
        )
    sliced = None
    if slice_var is not None:
        from .slicing import slice_run

        sliced = slice_run(store, run, cells, slice_var, verify=verify)
        if on_slice is not None:
            on_slice(sliced)
        if sliced.verified is False:
            raise ValidationError(sliced.describe())
        cells = sliced.cells
    exported = time.time()
    if fmt == "script":
        write_atomic(
            path, render_script(run, cells, exported=exported, slice_var=slice_var).encode()
        )
    elif fmt == "notebook":
        nb = render_notebook(
            run,
            cells,
            exported=exported,
            slice_var=slice_var,
            kernelspec=recorded_kernelspec(store, run),
        )
        write_atomic(path, notebook_bytes(nb))
    else:
        from .bundle import write_bundle

        write_bundle(store, run, cells, path, exported=exported)
    return path


def load_run(store: Store, run_id: str) -> dict[str, Any]:
    rows = store.run_summaries([run_id])
    if not rows:
        raise NotFoundError(f"no run with id {run_id!r}")
    return rows[0]


def run_directory(store: Store, run: dict[str, Any], *, must_exist: bool = True) -> str | None:
    """The directory the run's cells ran in: the notebook's, else the kernel's working directory
    (with ``must_exist``, the first that exists here, else the current directory)."""
    candidates = []
    if run.get("notebook_path"):
        candidates.append(os.path.dirname(run["notebook_path"]))
    session = store.session(run["session_id"]) if run.get("session_id") else None
    if session and session.get("cwd"):
        candidates.append(session["cwd"])
    if not must_exist:
        return candidates[0] if candidates else None
    return next((d for d in candidates if os.path.isdir(d)), os.getcwd())


def _file_stem(run: dict[str, Any]) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", run["name"]).strip("-.") or "run"
    return f"{name}-{run['id'][:8]}"


def _iso(ts: float | None) -> str | None:
    from .records import iso

    return iso(ts)


# -- notebook -------------------------------------------------------------------------------
def render_notebook(
    run: dict[str, Any],
    cells: Sequence[dict[str, Any]],
    *,
    exported: float | None = None,
    slice_var: str | None = None,
    kernelspec: dict[str, Any] | None = None,
) -> Any:
    """A clean nbformat v4 notebook of the cells in executed order: no outputs, no execution
    counts; the recorded count and cell id are kept in each cell's ``metadata.nbtrack``."""
    nbformat = import_nbformat()

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(kernelspec or DEFAULT_KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    meta: dict[str, Any] = {
        "run_id": run["id"],
        "exported": _iso(exported or time.time()),
        "name": run["name"],
        "experiment": run["experiment"],
    }
    if slice_var is not None:
        meta["slice"] = slice_var
    nb.metadata["nbtrack"] = meta
    used: set[str] = set()
    magic, name, loaded = nbtrack_use(cells)
    if (magic or name) and not loaded:  # a slice that left the loading cell out
        added = {"nbtrack": {"added": "the cells below use nbtrack"}}
        nb.cells.append(
            _code_cell(nbformat, "%load_ext nbtrack", _unique_id({"index": "load"}, used), added)
        )
    for cell in cells:
        info = {
            "index": cell["index"],
            "execution_count": cell["execution_count"],
            "cell_id": cell.get("cell_id"),
            "status": cell["status"],
        }
        metadata: dict[str, Any] = {"nbtrack": info}
        if cell["status"] == "error":
            metadata["tags"] = ["raises-exception"]  # nbclient and nbval accept the failure
        nb.cells.append(_code_cell(nbformat, cell["source"], _unique_id(cell, used), metadata))
    validate_notebook(nb)
    return nb


def _code_cell(nbformat: Any, source: str, cell_id: str, metadata: dict[str, Any]) -> Any:
    """A v4.5 code cell (``nbformat.v4.new_code_cell`` without its per-cell jsonschema pass;
    the whole notebook is validated once)."""
    return nbformat.from_dict(
        {
            "cell_type": "code",
            "id": cell_id,
            "metadata": metadata,
            "execution_count": None,
            "outputs": [],
            "source": source,
        }
    )


def validate_notebook(nb: Any) -> None:
    """Check ``nb`` against nbformat's v4 schema with nbformat's compiled validator (what
    ``nbformat.validate`` runs after normalising; normalising walks every cell through
    jsonschema, about 2 ms a cell, and an export has nothing to normalise)."""
    from nbformat.validator import get_validator

    validator = get_validator(version=nb.nbformat, version_minor=nb.nbformat_minor)
    if validator is None:  # pragma: no cover - nbformat always ships the v4 schemas
        import_nbformat().validate(nb)
        return
    validator.validate(nb)


def _unique_id(cell: dict[str, Any], used: set[str]) -> str:
    """The recorded cell id when it is valid and not taken (a cell run twice appears twice)."""
    base = _CELL_ID.sub("-", str(cell.get("cell_id") or ""))[:56] or f"cell-{cell['index']}"
    cid, n = base, 1
    while cid in used:
        n += 1
        cid = f"{base}-{n}"
    used.add(cid)
    return cid


def notebook_bytes(nb: Any) -> bytes:
    """The notebook as nbformat writes it (``nbformat.writes`` less its second validation)."""
    nbformat = import_nbformat()

    return (nbformat.v4.writes_json(nb) + "\n").encode()


def recorded_kernelspec(store: Store, run: dict[str, Any]) -> dict[str, Any] | None:
    """The kernelspec of the notebook as saved when the run was recorded, if it is known."""
    h = run.get("notebook_hash")
    if not h:
        return None
    try:
        spec = json.loads(store.get_blob(h)).get("metadata", {}).get("kernelspec")
    except Exception:
        return None
    return spec if isinstance(spec, dict) and isinstance(spec.get("name"), str) else None
