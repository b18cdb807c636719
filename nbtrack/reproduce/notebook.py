"""A run's cells as a clean notebook: executed order, no outputs, each source verbatim, the
recorded count and cell id kept in the cell's metadata."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.query.runs import iso
from nbtrack.reproduce.notebook_format import import_nbformat
from nbtrack.reproduce.script import nbtrack_use

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
) -> Any:
    """A clean nbformat v4 notebook of the cells in executed order: no outputs, no execution
    counts; the recorded count and cell id are kept in each cell's ``metadata.nbtrack``."""
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
