"""Which kernel variables a cell may read, bind, mutate or delete, from its (IPython-transformed) code.

The answer is an over-approximation used to decide what to re-hash after a cell; when the code can
reach the namespace in ways a syntax walk cannot follow (exec, globals(), ``%run``, ``%reset``...)
the answer is None and the caller re-hashes everything. ``names_rebound`` tells which names the cell
binds afresh before using them, so what they held before the cell is not touched through them.
"""

from __future__ import annotations

import ast
import re

_OPAQUE_NAMES = frozenset(
    {"exec", "eval", "globals", "locals", "vars", "__import__", "__main__", "__builtins__"}
)
_SAFE_LINE_MAGICS = frozenset(
    {
        "matplotlib", "pip", "conda", "mamba", "load_ext", "unload_ext", "reload_ext", "config",
        "cd", "pwd", "env", "set_env", "who", "whos", "who_ls", "lsmagic", "magic", "autoreload",
        "aimport", "pinfo", "pinfo2", "pdef", "pdoc", "psource", "pfile", "psearch", "history",
        "precision", "xmode", "page", "ls", "alias", "unalias", "automagic", "autocall", "colors",
        "pprint", "bookmark", "dhist", "dirs", "pushd", "popd", "system", "sx", "sc", "time",
        "timeit", "prun", "load_ipython_extension", "track",
    }
)  # fmt: skip
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "track"})
_FOREIGN_CELL_MAGICS = frozenset(
    {
        "bash", "sh", "script", "writefile", "html", "HTML", "javascript", "js", "latex",
        "markdown", "svg", "perl", "ruby", "python", "python2", "python3", "pypy", "file",
    }
)  # fmt: skip
_SHELL_METHODS = frozenset({"system", "getoutput"})
_IDENT = re.compile(r"[A-Za-z_]\w*")


class _Opaque(Exception):
    """The code touches the namespace in a way the walk cannot follow."""


def names_touched(code: str) -> set[str] | None:
    """Every name a cell may read, bind, mutate or delete at top level (plus global/nonlocal
    names, names in function bodies and bound by imports/defs); None when it cannot tell."""
    return cell_names(code)[0]


def names_rebound(code: str) -> set[str]:
    """Names whose old object the cell cannot reach through the name: bound by an unconditional
    top-level assignment (``x = ...``, ``a, b = ...``) before anything else in the cell names
    them, its right-hand side included. The cell may still reach that object through other
    names (``res.model``) or notebook functions reading the global, which the caller checks.
    Empty when :func:`names_touched` cannot tell."""
    return cell_names(code)[1]


def cell_names(code: str) -> tuple[set[str] | None, set[str]]:
    """``(names_touched(code), names_rebound(code))`` from one parse and one walk."""
    try:
        tree = ast.parse(code)
        seen: set[str] = set()
        rebound: set[str] = set()
        for stmt in tree.body:
            targets = _plain_targets(stmt)
            if targets is None:
                seen |= _names(stmt)
                continue
            assert isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None
            seen |= _names(stmt.value)  # evaluated before the names are bound
            if isinstance(stmt, ast.AnnAssign):
                seen |= _names(stmt.annotation)
            rebound |= targets - seen
            seen |= targets
        return seen, rebound
    except (SyntaxError, ValueError, _Opaque):
        return None, set()


def _plain_targets(stmt: ast.stmt) -> set[str] | None:
    """The names an assignment binds when every target is a name (or a tuple, list or starred
    of names); None for any other statement."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and stmt.simple:
        targets = [stmt.target]
    else:
        return None
    out: set[str] = set()
    todo: list[ast.expr] = list(targets)
    while todo:
        t = todo.pop()
        if isinstance(t, ast.Name):
            out.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            todo.extend(t.elts)
        elif isinstance(t, ast.Starred):
            todo.append(t.value)
        else:  # an attribute or item: the cell writes into an object
            return None
    return out


def _names(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    shell_calls = 0
    shell_names = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in _OPAQUE_NAMES:
                raise _Opaque(node.id)
            if node.id == "get_ipython":
                shell_names += 1
            else:
                out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.update(node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.partition(".")[0]
                if top == "__main__":
                    raise _Opaque("import __main__")
                out.add(alias.asname or top)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    raise _Opaque("import *")
                out.add(alias.asname or alias.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            out.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            out.add(node.rest)
        elif isinstance(node, ast.Attribute) and node.attr == "modules":
            if isinstance(node.value, ast.Name) and node.value.id == "sys":
                raise _Opaque("sys.modules")
        elif isinstance(node, ast.Call):
            if _is_shell_call(node.func):
                shell_calls += 1
                out |= _shell_call_names(node)
            elif isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
                if not node.args or not isinstance(node.args[0], ast.Name):
                    raise _Opaque(node.func.id)
    if shell_names > shell_calls:  # get_ipython used other than as get_ipython().<known>(...)
        raise _Opaque("get_ipython")
    return out


def _is_shell_call(func: ast.expr) -> bool:
    """``get_ipython().<method>`` as the callee."""
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "get_ipython"
        and not func.value.args
    )


def _shell_call_names(call: ast.Call) -> set[str]:
    """Names touched by a magic or shell escape, as IPython's transformer writes them."""
    assert isinstance(call.func, ast.Attribute)
    method = call.func.attr
    if method in _SHELL_METHODS:
        return set()
    args = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if len(args) != len(call.args) or call.keywords:
        raise _Opaque(method)
    if method == "run_line_magic" and len(args) == 2:
        magic, line = args
        if magic not in _SAFE_LINE_MAGICS:
            raise _Opaque(f"%{magic}")
        return _line_names(line)
    if method == "run_cell_magic" and len(args) == 3:
        magic, line, body = args
        if magic in _FOREIGN_CELL_MAGICS:
            return _line_names(line)
        if magic in _PYTHON_CELL_MAGICS:
            return _line_names(line) | _body_names(body)
    raise _Opaque(method)


def _line_names(line: str) -> set[str]:
    """A magic's argument line: parsed as Python if it is, else every identifier in it."""
    try:
        return _names(ast.parse(line))
    except SyntaxError:
        found = set(_IDENT.findall(line))
        if found & _OPAQUE_NAMES:
            raise _Opaque(line) from None
        return found


def _body_names(body: str) -> set[str]:
    """A Python cell magic's body, which may itself hold magics not yet transformed."""
    try:
        tree = ast.parse(body)
    except SyntaxError:
        try:
            from IPython.core.inputtransformer2 import TransformerManager

            tree = ast.parse(TransformerManager().transform_cell(body))
        except Exception:
            raise _Opaque("cell magic body") from None
    return _names(tree)
