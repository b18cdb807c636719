"""Slices of a run: the cells needed to rebuild one variable in its final state, and a check.

From the recorded read/write sets of each cell execution: walk back from the last cell that
wrote the variable (created or changed its hash), keep a cell when it wrote (created, changed
or deleted) a needed name, and add the names its code touches to the needed set. Names are
never dropped from the needed set, so a slice may keep more cells than strictly necessary,
never fewer. What cannot be sliced safely is named (:func:`plan_slice`): a needed cell whose
code cannot be analysed, a needed cell that failed, a file a needed cell reads that a left-out
cell wrote before it, a needed variable whose content cannot be hashed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbtrack.errors import ValidationError

UNHASHABLE = "unhashable:"


@dataclass
class RunSlice:
    """The cells kept for ``var`` and, after :func:`verify_slice`, whether they rebuild it."""

    run_id: str
    var: str
    cells: list[dict[str, Any]]
    total: int
    recorded_hash: str
    replayed_hash: str | None = None
    verified: bool | None = None  # None: not replayed
    failure: str | None = None  # why the replay did not rebuild it
    indexes: list[int] = field(default_factory=list)

    def describe(self) -> str:
        head = f"slice of run {self.run_id[:8]}: {len(self.cells)} of {self.total} cells for `{self.var}`"
        if self.verified is None:
            return f"{head} (not verified)"
        if self.verified:
            return f"{head}, verified in a fresh kernel: `{self.var}` hashes {self.recorded_hash[:12]} as recorded"
        replayed = self.replayed_hash[:12] if self.replayed_hash else "nothing"
        why = f" ({self.failure})" if self.failure else ""
        return (
            f"{head} do not rebuild it: recorded hash {self.recorded_hash[:12]}, "
            f"replayed {replayed}{why}; cells kept: {self.indexes}"
        )


def label(cell: dict[str, Any]) -> str:
    """``cell #4 [5] "df = load()"``: position in the run's sequence, execution count, first line."""
    first = next((ln.strip() for ln in cell["source"].splitlines() if ln.strip()), "")
    if len(first) > 50:
        first = first[:47] + "..."
    count = cell["execution_count"] if cell["execution_count"] is not None else " "
    return f'cell #{cell["index"]} [{count}] "{first}"'


def plan_slice(
    cells: Sequence[dict[str, Any]], var: str, file_events: Iterable[dict[str, Any]] = ()
) -> tuple[list[dict[str, Any]], list[str]]:
    """(cells to keep in executed order, problems). Problems make the slice unsafe; each names
    the cell (see :func:`label`) and why."""
    if not cells:
        raise ValidationError("the run has no recorded cells to slice")
    final = cells[-1]["state"]
    if var not in final:
        names = ", ".join(sorted(final)[:30]) or "none"
        raise ValidationError(
            f"{var!r} is not a variable of the run's final state (its variables: {names})"
        )
    writes, reads = _effects(cells)
    born = _born(cells)
    last = next((i for i in range(len(cells) - 1, -1, -1) if var in _or(writes[i], born)), None)
    if last is None:
        raise ValidationError(f"no recorded cell wrote {var!r}")
    needed = {var}
    kept: list[int] = []
    problems: list[str] = []
    for i in range(last, -1, -1):
        cell, w, r = cells[i], writes[i], reads[i]
        if w is not None and not (w & needed):
            continue
        if w is None and not (needed & born):
            continue
        kept.append(i)
        if cell["status"] == "error":
            err = cell.get("error") or {}
            problems.append(
                f"{label(cell)} failed when recorded ({err.get('type')}); a slice would need it to fail the same way"
            )
        if r is None:
            problems.append(
                f"{label(cell)}: which variables it reads cannot be told from its code "
                "(exec/eval, globals(), %run, `import *`, an unknown magic...)"
            )
        else:
            needed |= r
    kept.reverse()
    state = cells[last]["state"]
    for name in sorted(needed):
        h = state.get(name)
        if isinstance(h, str) and h.startswith(UNHASHABLE):
            problems.append(
                f"`{name}` cannot be hashed ({h[len(UNHASHABLE) :]}), so the cells that change it cannot be told"
            )
    problems += _file_problems(cells, kept, file_events)
    return [cells[i] for i in kept], problems


def _effects(
    cells: Sequence[dict[str, Any]],
) -> tuple[list[set[str] | None], list[set[str] | None]]:
    """Per cell: names written (None: cannot tell) and names touched (None: cannot tell).

    Cells run before ``%load_ext nbtrack`` (status ``history``) were not hashed: the names that
    existed at the first hashed cell are shared out among them by what their code touches.
    """
    writes: list[set[str] | None] = []
    reads: list[set[str] | None] = []
    for c in cells:
        touched = set(c["touched"]) if c.get("touched") is not None else None
        writes.append(set(c["created"]) | set(c["changed"]) | set(c["deleted"]))
        reads.append(touched)
    first = next((i for i, c in enumerate(cells) if c["status"] != "history"), None)
    if first is None or first == 0:
        return writes, reads
    born = set(cells[first]["created"])
    if reads[first] is not None:
        writes[first] = (writes[first] or set()) & reads[first]  # type: ignore[operator]
    for i in range(first):
        touched = _static_touched(cells[i]["source"])
        reads[i] = touched
        writes[i] = touched & born if touched is not None else None
    return writes, reads


def _or(names: set[str] | None, unknown: set[str]) -> set[str]:
    return unknown if names is None else names


def _born(cells: Sequence[dict[str, Any]]) -> set[str]:
    first = next((c for c in cells if c["status"] != "history"), None)
    return set(first["created"]) if first else set()


def _static_touched(source: str) -> set[str] | None:
    from nbtrack.capture.cellnames import names_touched
    from nbtrack.reproduce.script import to_python

    code, tree = to_python(source)
    return names_touched(code) if tree is not None else set()


def _file_problems(
    cells: Sequence[dict[str, Any]], kept: list[int], events: Iterable[dict[str, Any]]
) -> list[str]:
    """Files a kept cell reads that a left-out cell wrote before it."""
    position = {c["seq"]: c["index"] for c in cells}
    reads: dict[int, set[str]] = {}
    writers: dict[str, list[int]] = {}
    for e in events:
        i = position.get(e.get("seq"))
        if i is None:
            continue
        if e["mode"] == "write":
            writers.setdefault(e["path"], []).append(i)
        elif e["mode"] in ("read", "input"):
            reads.setdefault(i, set()).add(e["path"])
    keep = set(kept)
    out = []
    for k in kept:
        for path in sorted(reads.get(k, ())):
            for j in sorted(set(writers.get(path, ()))):
                if j < k and j not in keep:
                    out.append(
                        f"{label(cells[j])} writes {os.path.basename(path)}, which needed {label(cells[k])} "
                        "reads afterwards; the slice would read the file as it is now"
                    )
    return out


def slice_run(
    store: Any,
    run: dict[str, Any],
    cells: Sequence[dict[str, Any]],
    var: str,
    *,
    verify: bool = True,
    kernel_name: str | None = None,
) -> RunSlice:
    """Plan the slice of ``run`` for ``var`` (raising :class:`ValidationError` naming every cell
    that makes it unsafe) and, with ``verify``, replay it in a fresh kernel."""
    kept, problems = plan_slice(cells, var, store.file_events_of(run))
    if problems:
        lines = "\n  ".join(problems)
        raise ValidationError(f"cannot slice run {run['id'][:8]} for `{var}` safely:\n  {lines}")
    sl = RunSlice(
        run["id"],
        var,
        kept,
        len(cells),
        cells[-1]["state"][var],
        indexes=[c["index"] for c in kept],
    )
    if verify:
        from nbtrack.query.runs import run_directory

        verify_slice(sl, run_directory(store, run) or os.getcwd(), kernel_name=kernel_name)
    return sl


def verify_slice(sl: RunSlice, cwd: str, *, kernel_name: str | None = None) -> RunSlice:
    """Run the slice's cells in a fresh kernel with nbtrack recording into a temporary store and
    compare the variable's hash after the last cell with the recorded one; fills in ``sl``."""
    import tempfile
    import uuid

    from nbtrack.reproduce.execute import LOAD_NBTRACK, execute_notebook
    from nbtrack.reproduce.notebook_format import import_nbformat
    from nbtrack.store import Store

    nbformat = import_nbformat()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c["source"]) for c in sl.cells]
    run_id = uuid.uuid4().hex
    errors: list[str] = []

    def on_cell(index: int, cell: Any, error: dict[str, Any] | None) -> None:
        if error and not errors:
            errors.append(
                f"{label(sl.cells[index])} failed in the replay: {error['type']}: {error['message']}"
            )

    with tempfile.TemporaryDirectory(prefix="nbtrack-slice-") as tmp:
        url = os.path.join(tmp, "store")
        setup = (
            f"{LOAD_NBTRACK}\nimport nbtrack as _nbtrack_\n"
            f"_nbtrack_.start_run(name='slice', experiment='slice', run_id={run_id!r}, log_system_metrics=False)\n"
            "del _nbtrack_"
        )
        execute_notebook(
            nb,
            cwd=cwd,
            env={"NBTRACK_STORE": url, "NBTRACK_SNAPSHOT_LIMIT_MB": "0"},
            setup=setup,
            teardown=lambda ok: "import nbtrack as _nbtrack_\n_nbtrack_.end_run()\ndel _nbtrack_",
            kernel_name=kernel_name,
            on_cell=on_cell,
            extensions=("nbtrack",),
        )
        store = Store(url, create=False)
        try:
            rows = store.run_summaries([run_id])
            replayed = store.run_cells(rows[0]) if rows else []
        finally:
            store.close()
    sl.replayed_hash = replayed[-1]["state"].get(sl.var) if replayed else None
    sl.verified = sl.replayed_hash == sl.recorded_hash
    if not sl.verified:
        sl.failure = errors[0] if errors else None
    return sl
