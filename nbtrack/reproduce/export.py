"""Export a run's executed-cell sequence: a jupytext percent script, a clean notebook, or a bundle.

Cells come in executed order (``Store.run_cells``), so an out-of-order session exports as the
sequence that actually built the state. The script is plain Python where it can be
(``script.py``: the run's ``%%track`` cell a ``with nbtrack.start_run(...)`` block); the
notebook keeps its sources, ``%load_ext nbtrack`` and the run's ``%%track`` included: run in
Jupyter it records the re-execution, which is the point. ``as_recorded`` gives instead the
notebook file as the run recorded it, its cells marked (``recorded_notebook``). The notebook
is rendered by ``notebook.py``, the bundle by ``bundle.py``; slices are ``slicing.py``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.errors import ValidationError
from nbtrack.outfiles import check_output, write_atomic
from nbtrack.query.runs import load_run
from nbtrack.reproduce.notebook import (
    notebook_bytes,
    recorded_kernelspec,
    recorded_notebook,
    render_notebook,
)
from nbtrack.reproduce.script import render_script
from nbtrack.reproduce.track_cells import TRACKING

__all__ = ["export_run"]

if TYPE_CHECKING:
    from nbtrack.reproduce.slicing import RunSlice
    from nbtrack.store import Store

FORMATS = ("script", "notebook", "bundle")
SUFFIXES = {"script": ".py", "notebook": ".ipynb", "bundle": ".zip"}


def export_run(
    store: Store,
    run_id: str,
    fmt: str,
    output: str | os.PathLike[str] | None = None,
    slice_var: str | None = None,
    *,
    verify: bool = True,
    on_slice: Callable[[RunSlice], None] | None = None,
    tracking: str = "run",
    as_recorded: bool = False,
    on_contents: Callable[[list[dict[str, Any]]], None] | None = None,
) -> Path:
    """Write run ``run_id`` as ``fmt`` (script, notebook or bundle) to ``output`` (default:
    ``<run name>-<id>.py|.ipynb|.zip`` here); returns the path written.

    ``slice_var`` keeps only the cells needed to rebuild that variable (script and notebook);
    unless ``verify`` is False the slice is replayed in a fresh kernel first, and a slice that
    does not rebuild the variable's recorded hash raises :class:`ValidationError`. ``on_slice``
    receives the slice (cells kept, verification) before anything is written; ``on_contents``
    a bundle's members (name, size, what) before it is written.

    ``tracking`` (script, notebook): ``"run"`` lets this run's ``%%track`` cells start the run
    again (a ``with nbtrack.start_run(...)`` block in a script) and keeps only the body of other
    runs' ``%%track`` cells, ``"all"`` lets every one start its run, ``"none"`` keeps only bodies
    (the script then records nothing).
    ``as_recorded`` (notebook): the notebook file as it was when the run was recorded, with the
    run's cells marked (:func:`nbtrack.reproduce.notebook.recorded_notebook`).
    """
    if fmt not in FORMATS:
        raise ValidationError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if tracking not in TRACKING:
        raise ValidationError(f"tracking must be one of {', '.join(TRACKING)}, got {tracking!r}")
    if as_recorded and (fmt != "notebook" or slice_var is not None or tracking != "run"):
        raise ValidationError(
            "--as-recorded goes with --format notebook alone: it is the notebook file as it was, "
            "not a slice nor a re-tracked copy"
        )
    if tracking != "run" and fmt == "bundle":
        raise ValidationError(
            "--no-tracking and --track-all go with --format script or notebook, not bundle"
        )
    if slice_var is not None and fmt == "bundle":
        raise ValidationError(
            "--slice works with --format script or notebook, not bundle (a bundle is the whole run)"
        )
    run = load_run(store, run_id)
    path = Path(output) if output else Path(f"{_file_stem(run)}{SUFFIXES[fmt]}")
    check_output(path, f"{_file_stem(run)}{SUFFIXES[fmt]}")  # before a slice's replay, not after
    if as_recorded:
        write_atomic(path, notebook_bytes(recorded_notebook(store, run["id"])))
        return path
    cells = store.run_cells(run)
    if not cells:
        raise ValidationError(
            f"run {run['id'][:8]} has no recorded cells to export: it was not run in a kernel with %load_ext nbtrack"
        )
    sliced = None
    if slice_var is not None:
        from nbtrack.reproduce.slicing import slice_run

        sliced = slice_run(store, run, cells, slice_var, verify=verify)
        if on_slice is not None:
            on_slice(sliced)
        if sliced.verified is False:
            raise ValidationError(sliced.describe())
        cells = sliced.cells
    exported = time.time()
    if fmt == "script":
        write_atomic(
            path,
            render_script(
                run,
                cells,
                exported=exported,
                slice_var=slice_var,
                tracking=tracking,
                filename=path.name,
            ).encode(),
        )
    elif fmt == "notebook":
        nb = render_notebook(
            run,
            cells,
            exported=exported,
            slice_var=slice_var,
            kernelspec=recorded_kernelspec(store, run),
            tracking=tracking,
        )
        write_atomic(path, notebook_bytes(nb))
    else:
        from nbtrack.reproduce.bundle import write_bundle

        write_bundle(store, run, cells, path, exported=exported, on_contents=on_contents)
    return path


def _file_stem(run: dict[str, Any]) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", run["name"]).strip("-.") or "run"
    return f"{name}-{run['id'][:8]}"
