"""Export a run's executed-cell sequence: a jupytext percent script, a clean notebook, or a bundle.

Cells come in executed order (``Store.run_cells``), so an out-of-order session exports as the
sequence that actually built the state. The script turns magics and ``!`` lines into Python
with IPython's own transformers; ``%load_ext nbtrack`` is left out of it unless a cell needs
nbtrack's magics, because recording is for interactive sessions and the line alone would make
an otherwise plain-Python script need IPython. The notebook keeps every source verbatim,
``%load_ext nbtrack`` included: run in Jupyter it records the re-execution, which is the point.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import sys
import time
import tokenize
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from .slicing import RunSlice
    from .store import Store

FORMATS = ("script", "notebook", "bundle")
SUFFIXES = {"script": ".py", "notebook": ".ipynb", "bundle": ".zip"}
DEFAULT_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_LOAD_NBTRACK = re.compile(r"^[ \t]*%(?:re)?load_ext[ \t]+nbtrack[ \t]*$")
_TRACK_MAGIC = re.compile(r"^[ \t]*%%?track\b", re.M)
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
        raise ValidationError("--slice works with --format script or notebook, not bundle (a bundle is the whole run)")
    run = load_run(store, run_id)
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
    path = Path(output) if output else Path(f"{_file_stem(run)}{SUFFIXES[fmt]}")
    exported = time.time()
    if fmt == "script":
        _write_atomic(path, render_script(run, cells, exported=exported, slice_var=slice_var).encode())
    elif fmt == "notebook":
        nb = render_notebook(run, cells, exported=exported, slice_var=slice_var, kernelspec=recorded_kernelspec(store, run))
        _write_atomic(path, notebook_bytes(nb))
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


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _iso(ts: float | None) -> str | None:
    from .records import iso

    return iso(ts)


# -- script ---------------------------------------------------------------------------------
_transformer: Any = None


def to_python(source: str) -> tuple[str, ast.Module | None]:
    """IPython source as plain Python (magics become ``get_ipython()`` calls), and its syntax
    tree, None when it does not compile (the cell failed before running when recorded)."""
    global _transformer
    if _transformer is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _transformer = TransformerManager()
    try:
        code = _transformer.transform_cell(source)
    except Exception:
        code = source if source.endswith("\n") else source + "\n"
    try:
        return code, ast.parse(code)
    except (SyntaxError, ValueError):
        return code, None


def _uses_name(tree: ast.Module | None, name: str) -> bool:
    return tree is not None and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(tree))


def render_script(
    run: dict[str, Any], cells: Sequence[dict[str, Any]], *, exported: float | None = None, slice_var: str | None = None
) -> str:
    """The cells as a jupytext percent script, each headed ``# %% [count] id="cell id"``."""
    keep_ext, wants_name, loaded = _nbtrack_use(cells)
    if keep_ext:
        replacement, prelude = None, "get_ipython().run_line_magic('load_ext', 'nbtrack')"
    elif wants_name:  # cells call `nbtrack.log_metric(...)` through the name the extension pushed
        replacement, prelude = "import nbtrack  # was: {line}", "import nbtrack"
    else:
        replacement, prelude = "# {line}  (left out: nbtrack records interactive sessions, not this script)", None
    converted = [to_python(_replace_load_ext(c["source"], replacement)) for c in cells]
    futures: list[str] = []
    blocks = []
    if prelude and not loaded:
        blocks.append(f"# %%\n# (added: the cells below use nbtrack)\n{prelude}")
    for cell, (code, tree) in zip(cells, converted):
        if tree is not None:
            code, moved = _hoist_futures(code, tree)
            futures += [f for f in moved if f not in futures]
        blocks.append(_script_cell(cell, code, tree))
    needs_ipython = keep_ext or any(_uses_name(tree, "get_ipython") for _, tree in converted)
    head = _script_header(run, len(cells), exported, slice_var, needs_ipython)
    if futures:
        head.append("# %%\n# (moved here: Python allows `from __future__` imports only at the top of a file)\n" + "\n".join(futures))
    return "\n\n".join([*head, *blocks]) + "\n"


def _nbtrack_use(cells: Sequence[dict[str, Any]]) -> tuple[bool, bool, bool]:
    """Whether the cells use nbtrack's magics, use the name ``nbtrack``, and load the extension."""
    magic = any(_TRACK_MAGIC.search(c["source"]) for c in cells)
    name = any(_uses_name(to_python(c["source"])[1], "nbtrack") for c in cells if "nbtrack" in c["source"])
    loaded = any(_LOAD_NBTRACK.match(line) for c in cells for line in c["source"].split("\n"))
    return magic, name, loaded


def _replace_load_ext(source: str, replacement: str | None) -> str:
    """The source with each ``%load_ext nbtrack`` line replaced (``{line}`` is the old line)."""
    if replacement is None or source.lstrip().startswith("%%"):
        return source
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if _LOAD_NBTRACK.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = indent + replacement.format(line=line.strip())
    return "\n".join(lines)


def _script_header(run: dict[str, Any], n: int, exported: float | None, slice_var: str | None, ipython: bool) -> list[str]:
    from . import __version__

    what = f"the {n} cells needed to rebuild `{slice_var}`" if slice_var else f"its {n} executed cells"
    how = (
        "Run it with `ipython` (it uses IPython magics or shell escapes, written as `get_ipython()` calls)."
        if ipython
        else "It is plain Python: run it with `python` (or `ipython`)."
    )
    lines = [
        "# %% [markdown]",
        f"# nbtrack run {run['id']} \"{run['name']}\" (experiment {run['experiment']}): {what},",
        "# in the order they were executed; `[n]` is the execution count. "
        + f"Exported by nbtrack {__version__} at {_iso(exported or time.time())}.",
        f"# {how} Run it from the notebook's directory.",
    ]
    return ["\n".join(lines)]


def _script_cell(cell: dict[str, Any], code: str, tree: ast.Module | None) -> str:
    count = cell["execution_count"]
    head = f"# %% [{count if count is not None else ' '}]"
    if cell.get("cell_id"):
        head += f" id={json.dumps(str(cell['cell_id']))}"
    failed = cell["status"] == "error"
    if failed:
        head += ' status="error"'
    code = code.rstrip("\n")
    if tree is None:  # did not compile: it never ran, so it changed nothing
        body = "# (did not compile when recorded; kept as a comment)\n" + "\n".join(
            f"# {line}" if line else "#" for line in code.split("\n")
        )
    elif failed:
        error = cell.get("error") or {}
        reason = f"{error.get('type') or 'an error'}: {error.get('message') or ''}".strip().rstrip(":")
        reason = reason.splitlines()[0][:200] if reason else "an error"
        body = f"# failed when recorded ({reason}); what it did before failing is part of the state\n"
        body += _guarded(code, tree)
    else:
        body = code
    return f"{head}\n{body}" if body else head


def _guarded(code: str, tree: ast.Module) -> str:
    """``code`` in ``try: ... except Exception: pass``: indented when that cannot change a string
    literal, else through ``exec`` of the exact text."""
    if _indent_safe(code):
        inner = "\n".join(f"    {line}" if line.strip() else "" for line in code.split("\n"))
        if not tree.body:
            inner = "    pass\n" + inner
    else:
        inner = f"    exec(compile({code!r}, '<cell>', 'exec'))"
    return f"try:\n{inner}\nexcept Exception:\n    pass"


def _indent_safe(code: str) -> bool:
    multi = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in multi and tok.start[0] != tok.end[0]:
                return False
    except (tokenize.TokenError, SyntaxError):
        return False
    return True


def _hoist_futures(code: str, tree: ast.Module) -> tuple[str, list[str]]:
    """Take ``from __future__`` imports out of a cell (Python wants them at the top of a file)."""
    found = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    if not found:
        return code, []
    lines = code.split("\n")
    moved = []
    for node in reversed(found):
        start, end = node.lineno - 1, (node.end_lineno or node.lineno)
        moved.append("from __future__ import " + ", ".join(a.name for a in node.names))
        lines[start:end] = [f"# {moved[-1]}  (moved to the top of the script)"]
    return "\n".join(lines), moved[::-1]


# -- notebook -------------------------------------------------------------------------------
def import_nbformat() -> Any:
    """``nbformat``, imported without jsonschema's optional IRI checker: its rfc3987-syntax
    package compiles 39 lark grammars at import (seconds of CPU), and notebooks use no IRI."""
    if "nbformat" not in sys.modules and "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # makes the import fail fast
        try:
            import nbformat
        finally:
            if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
                del sys.modules["rfc3987_syntax"]
    import nbformat

    return nbformat


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
    meta: dict[str, Any] = {"run_id": run["id"], "exported": _iso(exported or time.time()),
                            "name": run["name"], "experiment": run["experiment"]}
    if slice_var is not None:
        meta["slice"] = slice_var
    nb.metadata["nbtrack"] = meta
    used: set[str] = set()
    magic, name, loaded = _nbtrack_use(cells)
    if (magic or name) and not loaded:  # a slice that left the loading cell out
        added = {"nbtrack": {"added": "the cells below use nbtrack"}}
        nb.cells.append(nbformat.v4.new_code_cell("%load_ext nbtrack", id=_unique_id({"index": "load"}, used), metadata=added))
    for cell in cells:
        info = {"index": cell["index"], "execution_count": cell["execution_count"],
                "cell_id": cell.get("cell_id"), "status": cell["status"]}
        metadata: dict[str, Any] = {"nbtrack": info}
        if cell["status"] == "error":
            metadata["tags"] = ["raises-exception"]  # nbclient and nbval accept the failure
        nb.cells.append(nbformat.v4.new_code_cell(cell["source"], id=_unique_id(cell, used), metadata=metadata))
    nbformat.validate(nb)
    return nb


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
    nbformat = import_nbformat()

    return (nbformat.writes(nb) + "\n").encode()


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
