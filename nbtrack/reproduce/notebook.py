"""A run's cells as a clean notebook: executed order, no outputs, each source verbatim, the
recorded count and cell id kept in the cell's metadata."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.errors import ValidationError
from nbtrack.query.runs import iso, load_run
from nbtrack.reproduce.notebook_format import import_nbformat
from nbtrack.reproduce.plain_python import as_comment
from nbtrack.reproduce.script import (
    NO_TRACKING_IMPORT,
    indent_safe,
    indented,
    nbtrack_use,
    replace_load_ext,
    stand_in_imports,
    to_python,
)
from nbtrack.reproduce.track_cells import (
    OTHER_CALLS,
    describe,
    records,
    track_cell,
    untracked_lines,
)

if TYPE_CHECKING:
    from nbtrack.store import Store

DEFAULT_KERNELSPEC = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}
_CELL_ID = re.compile(r"[^A-Za-z0-9_-]")


def render_notebook(
    run: dict[str, Any],
    cells: Sequence[dict[str, Any]],
    *,
    exported: float | None = None,
    slice_var: str | None = None,
    kernelspec: dict[str, Any] | None = None,
    tracking: str = "run",
) -> Any:
    """A clean nbformat v4 notebook of the cells in executed order: no outputs, no execution
    counts; the recorded count and cell id are kept in each cell's ``metadata.nbtrack``.

    ``%%track`` stays on the cells that ``tracking`` lets start a run (by default the exported
    run's own, see ``nbtrack.reproduce.track_cells``); other ``%%track`` cells become their
    body under a comment naming the line (its nbtrack calls in ``untracked``), so running the
    notebook does not record them. With ``tracking="none"`` the notebook loads no extension
    and ``nbtrack`` is the stand-in whose recording calls do nothing."""
    nbformat = import_nbformat()

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(kernelspec or DEFAULT_KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    meta: dict[str, Any] = {
        "run_id": run["id"],
        "exported": iso(exported or time.time()),
        "name": run["name"],
        "experiment": run["experiment"],
    }
    if slice_var is not None:
        meta["slice"] = slice_var
    nb.metadata["nbtrack"] = meta
    used: set[str] = set()
    magic, name, loaded = nbtrack_use(cells)
    stand_in = tracking == "none" and name
    if tracking == "none":  # nothing may record: no extension, nbtrack's calls do nothing
        load = NO_TRACKING_IMPORT if stand_in else None
        replacement = f"{load}  # was: {{line}}" if load else "# {line}  (left out: --no-tracking)"
    else:
        load, replacement = ("%load_ext nbtrack" if magic or name else None), None
    if load and not loaded:  # a slice that left the loading cell out
        added = {"nbtrack": {"added": "the cells below use nbtrack"}}
        nb.cells.append(_code_cell(nbformat, load, _unique_id({"index": "load"}, used), added))
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
        source = cell["source"]
        tc = track_cell(cell, tracking)
        if tc is not None and not tc.starts_run and tc.args is not None:
            body = tc.body if tracking == "none" else _untracked(tc.body)
            source = f"{as_comment(describe(tc))}\n{body}"
            info["magic"] = tc.written
        elif tc is None and tracking == "run" and not cell.get("in_run"):
            untracked = _untracked(source)
            if untracked != source:
                source = f"{as_comment(OTHER_CALLS)}\n{untracked}"
        source = replace_load_ext(source, replacement)
        if stand_in:
            source = stand_in_imports(source)
        nb.cells.append(_code_cell(nbformat, source, _unique_id(cell, used), metadata))
    validate_notebook(nb)
    return nb


def _untracked(body: str) -> str:
    """Another run's body, run so that its nbtrack calls record nothing (when it makes any,
    and its lines can be indented without changing a string)."""
    _, tree = to_python(body)
    if tree is None or not records(tree) or not indent_safe(body):
        return body
    body = stand_in_imports(body)  # its own `import nbtrack` must not undo the block
    return untracked_lines() + "\n" + indented(body.rstrip("\n"), tree)


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


# -- the notebook as it was when the run was recorded ------------------------------------------
def recorded_notebook(store: Store, run_id: str) -> Any:
    """The notebook file as it was at the revision run ``run_id`` (a full id) recorded, as an
    nbformat v4 ``NotebookNode`` (nothing is written), with the run's executed cells marked.

    The file comes from the store: the notebook saved when the run ended (``notebook_hash``),
    else the notebook file in the run's code snapshot; when neither holds a notebook (a script's
    run, a notebook never saved) it is rebuilt from the recorded cells in executed order.
    Each cell the run executed (matched by cell id, else by source) gets ``metadata.nbtrack =
    {"in_run": true, "execution_count": n, "executed_at": ISO time, "status": "ok"|"error"}``
    (the last execution when it ran more than once); the notebook gets ``metadata.nbtrack =
    {"as_recorded": true, "run_id", "run_name", "recorded_at", "revision": {path, hash,
    git_commit, git_diff_hash, snapshot_hash}, "source": "snapshot"|"cells", "unmatched": [..]}``
    where ``unmatched`` lists the execution counts of run cells not found in the saved file
    (run but not saved before the run ended); a marked cell whose saved source differs from
    what ran has ``"edited": true``. ``source == "cells"`` adds a ``note`` saying so.
    """
    run = load_run(store, run_id)
    cells = store.run_cells(run)
    ran = [c for c in cells if c["in_run"]]
    nb = _saved_notebook(store, run)
    source = "snapshot"
    if nb is None:
        if not cells:
            raise ValidationError(
                f"run {run['id'][:8]} has no saved notebook and no recorded cells: "
                "there is no notebook to show as it was"
            )
        nb, source = _cells_notebook(cells, recorded_kernelspec(store, run)), "cells"
    unmatched = _mark_cells(nb, ran, exact=source == "cells")
    nb.metadata["nbtrack"] = {
        "as_recorded": True,
        "run_id": run["id"],
        "run_name": run["name"],
        "recorded_at": iso(run.get("end_time") or run["start_time"]),
        "revision": {
            "path": run.get("notebook_path"),
            "hash": run.get("notebook_hash"),
            "git_commit": run.get("git_commit"),
            "git_diff_hash": run.get("git_diff_hash"),
            "snapshot_hash": run.get("snapshot_hash"),
        },
        "source": source,
        "unmatched": unmatched,
    }
    if source == "cells":
        nb.metadata["nbtrack"]["note"] = (
            "the notebook file was not in the store; rebuilt from the recorded cells in executed order"
        )
    validate_notebook(nb)
    return nb


def _saved_notebook(store: Store, run: dict[str, Any]) -> Any | None:
    """The notebook file the run recorded, parsed; None when the store has none."""
    blobs = []
    if run.get("notebook_hash"):
        blobs.append(run["notebook_hash"])
    path = run.get("notebook_path")
    if run.get("snapshot_hash") and path:
        from nbtrack.capture.snapshot import snapshot_files

        try:
            files = snapshot_files(store, run["snapshot_hash"])
        except Exception:
            files = {}
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        blobs += [h for key, h in files.items() if key in (path, name)]
    nbformat = import_nbformat()
    for h in blobs:
        try:
            nb = nbformat.reads(store.get_blob(h).decode("utf-8"), as_version=4)
        except Exception:  # not a notebook (a script's run), or the blob is gone
            continue
        if nb.get("nbformat") == 4 and isinstance(nb.get("cells"), list):
            return nb
    return None


def _cells_notebook(cells: Sequence[dict[str, Any]], kernelspec: dict[str, Any] | None) -> Any:
    """Every recorded cell of the session up to the run's end, in executed order, with its count."""
    nbformat = import_nbformat()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(kernelspec or DEFAULT_KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    used: set[str] = set()
    for cell in cells:
        node = _code_cell(nbformat, cell["source"], _unique_id(cell, used), {})
        node.execution_count = cell["execution_count"]
        nb.cells.append(node)
    return nb


def _mark_cells(nb: Any, ran: Sequence[dict[str, Any]], *, exact: bool) -> list[int | None]:
    """Mark the notebook cells the run executed; returns the counts of those not found.

    ``exact``: the notebook was rebuilt from ``ran``'s session, so cell ``index`` is position."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    by_id = {str(c["id"]): c for c in code if c.get("id")}
    marked: set[int] = set()
    unmatched: list[int | None] = []
    for cell in ran:
        if exact:
            target = nb.cells[cell["index"]]
        else:
            target = by_id.get(str(cell.get("cell_id") or ""))
            if target is None:
                same = [c for c in code if _same_source(c.source, cell["source"])]
                fresh = [c for c in same if id(c) not in marked]
                target = (fresh or same or [None])[0]
        if target is None:
            unmatched.append(cell["execution_count"])
            continue
        marked.add(id(target))
        mark = {
            "in_run": True,
            "execution_count": cell["execution_count"],
            "executed_at": iso(cell["start_time"]),
            "status": cell["status"],
        }
        if not _same_source(target.source, cell["source"]):
            mark["edited"] = True  # the saved cell differs from what ran
        target.metadata["nbtrack"] = mark
    return unmatched


def _same_source(a: str, b: str) -> bool:
    return [ln.rstrip() for ln in a.strip().splitlines()] == [
        ln.rstrip() for ln in b.strip().splitlines()
    ]
