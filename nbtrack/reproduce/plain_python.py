"""IPython cell source as plain Python.

Magics with a plain equivalent become that code: ``%time stmt`` and ``%%time`` run the
statement or body, ``%%writefile`` writes its file; magics that only matter interactively
(``%matplotlib``, ``%config``, ``%autoreload``, ``%timeit``, ``%%html`` and the other display
cells) are left out with a comment. The rest (``!cmd``, ``%pip``, ``%%bash``, ``%%capture``...)
become ``get_ipython()`` calls through IPython's own transformers: only ``ipython`` runs those,
and :func:`ipython_uses` names them for the script's header.
"""

from __future__ import annotations

import ast
import functools
import re
import shlex
from dataclasses import dataclass, field

CELL_MAGIC = re.compile(r"\A(?:[ \t]*\n)*%%(\w+)[ \t]*([^\n]*?)[ \t]*(?:\n|\Z)")
DISPLAY_CELLS = frozenset({"html", "markdown", "latex", "javascript", "js", "svg"})
# Line magics dropped with the reason given; they change nothing a script's later code reads.
DROPPED = {
    "matplotlib": "plots show in the notebook; a script shows them with plt.show()",
    "config": "IPython configuration",
    "autoreload": "reloads modules in an interactive session",
    "aimport": "reloads modules in an interactive session",
    "timeit": "it only times the statement, in a scope of its own",
}
DROPPED_EXTENSIONS = {"autoreload": "reloads modules in an interactive session"}

_transformer: object | None = None


@dataclass
class Plain:
    """A cell as plain Python: ``code`` (ends with a newline), its syntax tree (None when it
    does not compile), and ``notes``: what was changed, as comment lines for the reader."""

    code: str
    tree: ast.Module | None
    notes: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=4096)
def to_python(source: str) -> tuple[str, ast.Module | None]:
    """IPython source as Python (magics become ``get_ipython()`` calls), and its syntax tree,
    None when it does not compile (the cell failed before running when recorded).
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
        code = _transformer.transform_cell(source)  # type: ignore[attr-defined]
    except Exception:
        code = source if source.endswith("\n") else source + "\n"
    try:
        return code, ast.parse(code)
    except (SyntaxError, ValueError):
        return code, None


def split_cell_magic(source: str) -> tuple[str, str, str] | None:
    """``(name, line, body)`` of a cell that starts with ``%%name line``, else None."""
    m = CELL_MAGIC.match(source)
    return (m.group(1), m.group(2), source[m.end() :]) if m else None


def plain_cell(source: str) -> Plain:
    """``source`` with each magic that has a plain equivalent replaced by it (see the module)."""
    magic = split_cell_magic(source)
    if magic is not None:
        name, line, body = magic
        if name == "time":
            inner = plain_cell(body)
            inner.notes.insert(0, f"%%time {line}".rstrip() + "  (timing left out: the body runs)")
            return inner
        if name in DISPLAY_CELLS or name == "timeit":
            why = "display only" if name != "timeit" else "it only times the body"
            return _commented(body, f"%%{name} {line}".rstrip() + f"  (left out: {why})")
        if name == "writefile":
            written = _writefile(line, body)
            if written is not None:
                return written
    code, tree = to_python(source)
    if tree is None or "get_ipython" not in code:
        return Plain(code, tree)
    return _plain_line_magics(code, tree)


def as_comment(text: str) -> str:
    """``text`` as comment lines, split at every line break Python knows (``\\r`` too), so no
    part of it can end the comment and run as code."""
    return "\n".join(f"# {line}".rstrip() for line in text.splitlines()) or "#"


def _commented(body: str, note: str) -> Plain:
    code = as_comment(body.rstrip("\n")) + "\n" if body.strip() else ""
    return Plain(code, ast.parse(""), [note])


def _writefile(line: str, body: str) -> Plain | None:
    """``%%writefile [-a] path`` as ``open(...).write(...)`` (as IPython writes it: UTF-8)."""
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    append = any(w in ("-a", "--append") for w in words)
    paths = [w for w in words if w not in ("-a", "--append")]
    if len(paths) != 1 or paths[0].startswith("-"):
        return None
    path, mode = paths[0], "a" if append else "w"
    if "~" in path:
        target = f"__import__('os').path.expanduser({path!r})"
    else:
        target = repr(path)
    code = (
        f"with open({target}, {mode!r}, encoding='utf-8') as _nbtrack_file:\n"
        f"    _nbtrack_file.write({body!r})\n"
        "del _nbtrack_file\n"
    )
    return Plain(code, ast.parse(code), [f"%%writefile {line}"])


def _magic_call(node: ast.AST | None, method: str) -> tuple[str, str] | None:
    """``(name, argument)`` when ``node`` is ``get_ipython().<method>('name', 'argument')``."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (
        node.func.attr == method
        and isinstance(owner, ast.Call)
        and isinstance(owner.func, ast.Name)
        and owner.func.id == "get_ipython"
        and len(node.args) >= 2
        and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:2])
    ):
        return None
    return node.args[0].value, node.args[1].value  # type: ignore[attr-defined]


def _plain_line_magics(code: str, tree: ast.Module) -> Plain:
    """Rewrite the line magics that have a plain equivalent, wherever they stand as a statement."""
    lines = code.split("\n")
    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line, replacement)
    notes: list[str] = []
    top = {id(s) for s in tree.body}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Expr | ast.Assign):
            continue
        call = _magic_call(node.value, "run_line_magic")
        if call is None or not _alone(lines, node):
            continue
        name, arg = call
        indent = lines[node.lineno - 1][: node.col_offset]
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        if name == "time":
            new = _timed(node, arg, lines[first][node.col_offset : node.value.col_offset])
            if new is None:
                continue
            edits.append((first, last, [indent + new]))
            notes.append(f"%time {arg}  (timing left out: the statement runs)")
        elif isinstance(node, ast.Expr) and (
            name in DROPPED or (name in ("load_ext", "reload_ext") and arg in DROPPED_EXTENSIONS)
        ):
            why = DROPPED.get(name) or DROPPED_EXTENSIONS[arg]
            comment = f"# %{name} {' '.join(arg.splitlines())}".rstrip() + f"  (left out: {why})"
            edits.append(
                (first, last, [indent + (comment if id(node) in top else "pass  " + comment)])
            )
    if not edits:
        return Plain(code, tree)
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first : last + 1] = replacement
    text = "\n".join(lines)
    try:
        return Plain(text, ast.parse(text), notes)
    except SyntaxError:  # pragma: no cover - each replacement parses on its own
        return Plain(code, tree)


def _alone(lines: list[str], node: ast.stmt) -> bool:
    """Whether the statement has its lines to itself (so they can be replaced whole)."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    before = lines[first].encode()[: node.col_offset].decode("utf-8", "replace")
    after = lines[last].encode()[node.end_col_offset or 0 :].decode("utf-8", "replace")
    return not before.strip() and not after.strip()


def _timed(node: ast.Expr | ast.Assign, arg: str, assign: str) -> str | None:
    """``%time stmt`` as ``stmt``; ``x = %time expr`` as ``x = expr`` (when they parse)."""
    try:
        if isinstance(node, ast.Expr):
            ast.parse(arg)
            return arg
        ast.parse(arg.rstrip().rstrip(";"), mode="eval")
    except SyntaxError:
        return None
    return f"{assign}{arg}"


def ipython_uses(tree: ast.Module | None) -> list[str]:
    """What in ``tree`` needs IPython: ``%name``, ``%%name``, ``!cmd`` or ``get_ipython()``."""
    if tree is None:
        return []
    out: list[str] = []
    named: set[int] = set()  # the get_ipython() calls that were named by what they call
    labels = {"run_line_magic": "%", "run_cell_magic": "%%", "system": "!", "getoutput": "!"}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in labels
            and _is_get_ipython(node.func.value)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            words = node.args[0].value.split()
            out.append(labels[node.func.attr] + (words[0] if words else ""))
            named.add(id(node.func.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_get_ipython(node) and id(node) not in named:
            out.append("get_ipython()")
    if not out and any(isinstance(n, ast.Name) and n.id == "get_ipython" for n in ast.walk(tree)):
        out.append("get_ipython")
    return list(dict.fromkeys(out))


def _is_get_ipython(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "get_ipython"
    )
