"""A run's cells as a jupytext percent script (``# %% [count] id="cell id"`` per cell).

The script is plain Python wherever a plain equivalent exists (``plain_python.py``): ``python
x.py`` runs it, and its header says ``ipython`` only when a ``get_ipython()`` call remains
(``!cmd``, ``%pip``...). ``%load_ext nbtrack`` becomes ``import nbtrack`` when the script uses
nbtrack, else it is commented out. The run's own ``%%track`` cell becomes ``with
nbtrack.start_run(name=..., experiment=..., params=..., tags=...):`` around its body, so running
the script records the run again; other runs' ``%%track`` cells keep only their body unless
``tracking="all"``, and ``tracking="none"`` keeps only bodies and imports a stand-in for nbtrack
whose recording calls do nothing (``no_tracking.py``), see ``track_cells.py``.
Cells that failed when recorded run inside ``try``/``except`` (what they did before failing
is part of the state); cells that did not compile are kept as comments. When a cell reads
IPython's output history (``_``, ``__``, ``___``, ``_<n>``, ``Out``), each cell's value is
passed to a small stand-in for IPython's display hook, so the names hold what they held.
"""

from __future__ import annotations

import ast
import io
import json
import re
import time
import tokenize
from collections.abc import Sequence
from typing import Any

from nbtrack.reproduce.plain_python import (
    as_comment,
    ipython_uses,
    plain_cell,
    split_cell_magic,
    to_python,
)
from nbtrack.reproduce.track_cells import (
    OTHER_CALLS,
    TrackCell,
    describe,
    records,
    run_block,
    track_cell,
    untracked_lines,
)

__all__ = [
    "indented",
    "nbtrack_use",
    "render_script",
    "replace_load_ext",
    "stand_in_imports",
    "to_python",
    "uses_name",
]

LOAD_NBTRACK = re.compile(r"^[ \t]*%(?:re)?load_ext[ \t]+nbtrack[ \t]*$")
IMPORT_NBTRACK = re.compile(r"^([ \t]*)import[ \t]+nbtrack[ \t]*$", re.M)
FROM_NBTRACK = re.compile(r"^([ \t]*)from[ \t]+nbtrack[ \t]+import[ \t]+", re.M)
NO_TRACKING_IMPORT = "import nbtrack.reproduce.no_tracking as nbtrack"
TRACK_MAGIC = re.compile(r"^[ \t]*%%?track\b", re.M)
HISTORY_NAME = re.compile(r"_{1,3}|_\d+|Out|_oh")
HISTORY = """# %%
# (added: cells below read IPython's output history, which the display hook kept from each
# cell's value; `_nbtrack_out(n, value)` does the same here)
Out = _oh = {}
_ = __ = ___ = ""


def _nbtrack_out(n, value):
    if value is not None:
        g, kept = globals(), _nbtrack_out.__dict__.setdefault("kept", ["", "", ""])
        rebound = any(name in g and g[name] is not old for name, old in zip(("_", "__", "___"), kept))
        kept[:] = [value, kept[0], kept[1]]
        if not rebound:  # as IPython: names the cells assigned themselves are left alone
            g["_"], g["__"], g["___"] = kept
        if n is not None:
            g[f"_{n}"] = Out[n] = value
    return value"""


def uses_name(tree: ast.Module | None, name: str) -> bool:
    return tree is not None and any(
        isinstance(n, ast.Name) and n.id == name for n in ast.walk(tree)
    )


def _reads_history(tree: ast.Module | None) -> bool:
    return tree is not None and any(
        isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and HISTORY_NAME.fullmatch(n.id)
        for n in ast.walk(tree)
    )


def _pass_value(code: str, count: int | None) -> str:
    """``code`` with its last statement, when IPython would have displayed its value (an
    expression not followed by ``;``), wrapped in ``_nbtrack_out(count, (...))``."""
    tree = ast.parse(code)
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Expr) or _quiet(code):
        return code
    lines = code.split("\n")
    first, end = last.lineno - 1, (last.end_lineno or last.lineno) - 1

    def column(i: int, offset: int | None) -> int:  # the AST counts UTF-8 bytes
        return len(lines[i].encode()[: offset or 0].decode())

    a, b = column(first, last.col_offset), column(end, last.end_col_offset)
    lines[end] = lines[end][:b] + "))" + lines[end][b:]
    lines[first] = lines[first][:a] + f"_nbtrack_out({count!r}, (" + lines[first][a:]
    return "\n".join(lines)


def _quiet(code: str) -> bool:
    """Whether the cell ends with ``;``, which tells IPython not to display (nor keep) its value."""
    skip = {
        tokenize.NEWLINE,
        tokenize.NL,
        tokenize.COMMENT,
        tokenize.ENDMARKER,
        tokenize.DEDENT,
        tokenize.INDENT,
    }
    last = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type not in skip:
                last = tok
    except (tokenize.TokenError, SyntaxError):
        return False
    return last is not None and last.string == ";"


def render_script(
    run: dict[str, Any],
    cells: Sequence[dict[str, Any]],
    *,
    exported: float | None = None,
    slice_var: str | None = None,
    tracking: str = "run",
    filename: str = "run.py",
) -> str:
    """The cells as a jupytext percent script, each headed ``# %% [count] id="cell id"``;
    ``tracking`` says which ``%%track`` cells start a run (``nbtrack.reproduce.track_cells``)."""
    tracks = [track_cell(c, tracking) for c in cells]
    bodies = [tc.body if tc else c["source"] for c, tc in zip(cells, tracks, strict=True)]
    starts = any(tc is not None and tc.starts_run for tc in tracks)
    uses = any(uses_name(to_python(b)[1], "nbtrack") for b in bodies if "nbtrack" in b)
    loaded = any(LOAD_NBTRACK.match(line) for c in cells for line in c["source"].split("\n"))
    stand_in = tracking == "none" and uses
    if starts or uses:  # `nbtrack.log_metric(...)` uses the name the extension pushed
        imp = NO_TRACKING_IMPORT if stand_in else "import nbtrack"
        replacement, prelude = imp + "  # was: {line}", imp
    else:
        replacement, prelude = (
            "# {line}  (left out: nbtrack records interactive sessions, not this script)",
            None,
        )
    plains = []
    for cell, body, tc in zip(cells, bodies, tracks, strict=True):
        source = replace_load_ext(body, replacement)
        plain = plain_cell(stand_in_imports(source) if stand_in else source)
        if not stand_in and _other_run(cell, tc, tracking) and records(plain.tree):
            plain = plain_cell(stand_in_imports(source))  # it runs `untracked`: its imports too
        plains.append(plain)
    history = any(_reads_history(p.tree) for p in plains)
    futures: list[str] = []
    needs: list[str] = []
    blocks = [HISTORY] if history else []
    if prelude and not loaded:
        blocks.append(f"# %%\n# (added: the cells below use nbtrack)\n{prelude}")
    for cell, tc, plain in zip(cells, tracks, plains, strict=True):
        code, tree, notes = plain.code, plain.tree, list(plain.notes)
        never_ran = None
        if tc is not None:
            notes.insert(0, describe(tc))
            if tc.args is None:
                never_ran = "the body never ran; kept as a comment"
        if tree is not None and never_ran is None:
            needs += ipython_uses(tree)
            code, moved = _hoist_futures(code, tree)
            futures += [f for f in moved if f not in futures]
            if history and cell["status"] != "error":
                code = _pass_value(code, cell["execution_count"])
            if moved:
                tree = ast.parse(code)  # it may hold no statement now
            if tc is not None and tc.starts_run:
                code = run_block(tc, run, indented(code, tree))
            elif not stand_in and _other_run(cell, tc, tracking) and records(tree):
                code = untracked_lines() + "\n" + indented(code, tree)
                if tc is None:
                    notes.append(OTHER_CALLS)
        blocks.append(_script_cell(cell, code, tree, notes, never_ran))
    head = _script_header(
        run, len(cells), exported, slice_var, list(dict.fromkeys(needs)), filename, tracks, tracking
    )
    if futures:
        head.append(
            "# %%\n# (moved here: Python allows `from __future__` imports only at the top of a file)\n"
            + "\n".join(futures)
        )
    return "\n\n".join([*head, *blocks]) + "\n"


def _other_run(cell: dict[str, Any], tc: TrackCell | None, tracking: str) -> bool:
    """Whether the cell belongs to another run whose recording the export leaves out
    (``tracking="run"``): another run's ``%%track`` cell, or a cell outside the run."""
    if tc is not None:
        return not tc.starts_run
    return tracking == "run" and not cell.get("in_run")


def nbtrack_use(cells: Sequence[dict[str, Any]]) -> tuple[bool, bool, bool]:
    """Whether the cells use nbtrack's magics, use the name ``nbtrack``, and load the extension."""
    magic = any(TRACK_MAGIC.search(c["source"]) for c in cells)
    bodies = [_track_body(c["source"]) for c in cells]
    name = any(uses_name(to_python(b)[1], "nbtrack") for b in bodies if "nbtrack" in b)
    loaded = any(LOAD_NBTRACK.match(line) for c in cells for line in c["source"].split("\n"))
    return magic, name, loaded


def _track_body(source: str) -> str:
    """A ``%%track`` cell's body (the code the magic runs), else the source."""
    magic = split_cell_magic(source)
    return magic[2] if magic is not None and magic[0] == "track" else source


def replace_load_ext(source: str, replacement: str | None) -> str:
    """The source with each ``%load_ext nbtrack`` line replaced (``{line}`` is the old line)."""
    if replacement is None or source.lstrip().startswith("%%"):
        return source
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if LOAD_NBTRACK.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = indent + replacement.format(line=line.strip())
    return "\n".join(lines)


def stand_in_imports(source: str) -> str:
    """The cell's own ``import nbtrack`` / ``from nbtrack import ...`` made to import the
    stand-in that records nothing (``--no-tracking``)."""
    source = IMPORT_NBTRACK.sub(rf"\1{NO_TRACKING_IMPORT}", source)
    return FROM_NBTRACK.sub(r"\1from nbtrack.reproduce.no_tracking import ", source)


def _script_header(
    run: dict[str, Any],
    n: int,
    exported: float | None,
    slice_var: str | None,
    ipython: list[str],
    filename: str,
    tracks: Sequence[TrackCell | None],
    tracking: str,
) -> list[str]:
    from nbtrack.query.runs import iso
    from nbtrack.version import __version__

    what = (
        f"the {n} cells needed to rebuild `{slice_var}`" if slice_var else f"its {n} executed cells"
    )
    if ipython:
        how = (
            f"Run with: ipython {filename} (this script uses IPython magics: {', '.join(ipython)})"
        )
    else:
        how = f"Run with: python {filename} (plain Python; ipython runs it too)"
    lines = [
        "# %% [markdown]",
        f"# nbtrack run {run['id']} {json.dumps(run['name'])} "
        f"(experiment {json.dumps(run['experiment'])}): {what},",
        "# in the order they were executed; `[n]` is the execution count. "
        + f"Exported by nbtrack {__version__} at {iso(exported or time.time())}.",
        f"# {how}, from the notebook's directory.",
    ]
    started = [tc for tc in tracks if tc is not None and tc.starts_run]
    if started:
        who = f"run {json.dumps(run['name'])}" if all(tc.own for tc in started) else "its runs"
        lines.append(
            f"# Running it records {who} again into nbtrack's store (NBTRACK_STORE, else ./.nbtrack)."
        )
    elif tracking == "none":
        lines.append("# Exported with --no-tracking: running it records nothing.")
    return ["\n".join(lines)]


def _script_cell(
    cell: dict[str, Any],
    code: str,
    tree: ast.Module | None,
    notes: Sequence[str] = (),
    never_ran: str | None = None,
) -> str:
    count = cell["execution_count"]
    head = f"# %% [{count if count is not None else ' '}]"
    if cell.get("cell_id"):
        head += f" id={json.dumps(str(cell['cell_id']))}"
    failed = cell["status"] == "error"
    if failed:
        head += ' status="error"'
    code = code.rstrip("\n")
    if tree is None or never_ran:  # it never ran, so it changed nothing
        why = never_ran or "did not compile when recorded; kept as a comment"
        body = f"# ({why})\n" + as_comment(code)
    elif failed:
        error = cell.get("error") or {}
        reason = f"{error.get('type') or 'an error'}: {error.get('message') or ''}".strip().rstrip(
            ":"
        )
        reason = reason.splitlines()[0][:200] if reason else "an error"
        body = (
            f"# failed when recorded ({reason}); what it did before failing is part of the state\n"
        )
        body += _guarded(code, tree)
    else:
        body = code
    if notes:
        body = "\n".join(as_comment(note) for note in notes) + ("\n" + body if body else "")
    return f"{head}\n{body}" if body else head


def indented(code: str, tree: ast.Module) -> str:
    """``code`` as the body of a block: indented when that cannot change a string literal,
    else run through ``exec`` of the exact text."""
    if indent_safe(code):
        inner = "\n".join(f"    {line}" if line.strip() else "" for line in code.split("\n"))
        return ("    pass\n" + inner) if not tree.body else inner
    return f"    exec(compile({code!r}, '<cell>', 'exec'))"


def _guarded(code: str, tree: ast.Module) -> str:
    """``code`` in ``try: ... except Exception: pass``."""
    return f"try:\n{indented(code, tree)}\nexcept Exception:\n    pass"


def indent_safe(code: str) -> bool:
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
