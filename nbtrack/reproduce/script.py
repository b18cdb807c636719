"""A run's cells as a jupytext percent script (``# %% [count] id="cell id"`` per cell).

Magics and ``!`` lines become Python through IPython's own transformers (``get_ipython()``
calls), so the script runs with ``ipython``, and with plain ``python`` when no cell used one.
``%load_ext nbtrack`` is kept only when a cell needs nbtrack's magics; when cells only use the
name ``nbtrack`` it becomes ``import nbtrack``; otherwise it is commented out: recording is
for interactive sessions, and the line alone would make a plain-Python script need IPython.
Cells that failed when recorded run inside ``try``/``except`` (what they did before failing
is part of the state); cells that did not compile are kept as comments. When a cell reads
IPython's output history (``_``, ``__``, ``___``, ``_<n>``, ``Out``), each cell's value is
passed to a small stand-in for IPython's display hook, so the names hold what they held.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import re
import time
import tokenize
from collections.abc import Sequence
from typing import Any

LOAD_NBTRACK = re.compile(r"^[ \t]*%(?:re)?load_ext[ \t]+nbtrack[ \t]*$")
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


_transformer: Any = None


@functools.lru_cache(maxsize=4096)
def to_python(source: str) -> tuple[str, ast.Module | None]:
    """IPython source as plain Python (magics become ``get_ipython()`` calls), and its syntax
    tree, None when it does not compile (the cell failed before running when recorded).
    Source that already parses as Python is returned as it is: IPython would not change it."""
    global _transformer
    try:
        return (source if source.endswith("\n") else source + "\n"), ast.parse(source)
    except (SyntaxError, ValueError):
        pass
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
) -> str:
    """The cells as a jupytext percent script, each headed ``# %% [count] id="cell id"``."""
    keep_ext, wants_name, loaded = nbtrack_use(cells)
    if keep_ext:
        replacement, prelude = None, "get_ipython().run_line_magic('load_ext', 'nbtrack')"
    elif wants_name:  # cells call `nbtrack.log_metric(...)` through the name the extension pushed
        replacement, prelude = "import nbtrack  # was: {line}", "import nbtrack"
    else:
        replacement, prelude = (
            "# {line}  (left out: nbtrack records interactive sessions, not this script)",
            None,
        )
    converted = [to_python(_replace_load_ext(c["source"], replacement)) for c in cells]
    history = any(_reads_history(tree) for _, tree in converted)
    futures: list[str] = []
    blocks = [HISTORY] if history else []
    if prelude and not loaded:
        blocks.append(f"# %%\n# (added: the cells below use nbtrack)\n{prelude}")
    for cell, (code, tree) in zip(cells, converted, strict=True):
        if tree is not None:
            code, moved = _hoist_futures(code, tree)
            futures += [f for f in moved if f not in futures]
            if history and cell["status"] != "error":
                code = _pass_value(code, cell["execution_count"])
        blocks.append(_script_cell(cell, code, tree))
    needs_ipython = keep_ext or any(_uses_name(tree, "get_ipython") for _, tree in converted)
    head = _script_header(run, len(cells), exported, slice_var, needs_ipython)
    if futures:
        head.append(
            "# %%\n# (moved here: Python allows `from __future__` imports only at the top of a file)\n"
            + "\n".join(futures)
        )
    return "\n\n".join([*head, *blocks]) + "\n"


def nbtrack_use(cells: Sequence[dict[str, Any]]) -> tuple[bool, bool, bool]:
    """Whether the cells use nbtrack's magics, use the name ``nbtrack``, and load the extension."""
    magic = any(TRACK_MAGIC.search(c["source"]) for c in cells)
    name = any(
        _uses_name(to_python(c["source"])[1], "nbtrack") for c in cells if "nbtrack" in c["source"]
    )
    loaded = any(LOAD_NBTRACK.match(line) for c in cells for line in c["source"].split("\n"))
    return magic, name, loaded


def _replace_load_ext(source: str, replacement: str | None) -> str:
    """The source with each ``%load_ext nbtrack`` line replaced (``{line}`` is the old line)."""
    if replacement is None or source.lstrip().startswith("%%"):
        return source
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if LOAD_NBTRACK.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = indent + replacement.format(line=line.strip())
    return "\n".join(lines)


def _script_header(
    run: dict[str, Any], n: int, exported: float | None, slice_var: str | None, ipython: bool
) -> list[str]:
    from nbtrack.query.runs import iso
    from nbtrack.version import __version__

    what = (
        f"the {n} cells needed to rebuild `{slice_var}`" if slice_var else f"its {n} executed cells"
    )
    how = (
        "Run it with `ipython` (it uses IPython magics or shell escapes, written as `get_ipython()` calls)."
        if ipython
        else "It is plain Python: run it with `python` (or `ipython`)."
    )
    lines = [
        "# %% [markdown]",
        f'# nbtrack run {run["id"]} "{run["name"]}" (experiment {run["experiment"]}): {what},',
        "# in the order they were executed; `[n]` is the execution count. "
        + f"Exported by nbtrack {__version__} at {iso(exported or time.time())}.",
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
