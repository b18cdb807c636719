"""The package's folders are its layers: imports run one way, with no circles, and the views and
the recorder stay out of the store's internals. Read from the source (ast), as a newcomer reads
the architecture off ``ls nbtrack/`` (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nbtrack"

# Lower layers never import higher ones, and layers of one rank do not import each other, but
# for the small shared modules at the bottom and the views at the top.
BASE = ("errors", "redaction", "validation", "timespec", "outfiles", "version", "_version")
VIEWS = ("cli", "server", "widgets", "magics")
RANKS = {
    **dict.fromkeys(BASE, 0),
    "store": 1,
    "capture": 2,
    "query": 2,
    "recording": 3,
    "lifecycle": 3,
    "reproduce": 4,
    "autologging": 4,
    "interop": 5,
    **dict.fromkeys(VIEWS, 6),
}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(module imported, line) for every nbtrack import that runs, at any depth of the code;
    imports for type checking only are left out, as they never run."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(
                    here[: len(here) - node.level + 1] + ([node.module] if node.module else [])
                )
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("nbtrack") and target != name:
                yield target, node.lineno


def layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {t for t, _ in imports(name, path, known)} for name, path in known.items()}


def test_no_import_circles() -> None:
    # The package root only re-exports lazily; nothing inside imports it.
    edges = {m: {t for t in ts if t != "nbtrack"} for m, ts in graph().items() if m != "nbtrack"}
    circles, seen, stack, on_stack, index, low = [], {}, [], set(), {}, {}

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    assert circles == [], f"import circles: {circles}"
    del seen


def test_imports_run_down_the_layers() -> None:
    known = modules()
    upward = []
    for name, path in known.items():
        if name in ("nbtrack", "nbtrack.__main__"):
            continue
        here = layer(name)
        assert here in RANKS, (
            f"{name}: put it in a layer folder (or add its layer to RANKS and docs)"
        )
        for target, line in imports(name, path, known):
            there = layer(target)
            if there == here or target == "nbtrack":
                continue
            if RANKS[there] > RANKS[here] or (
                RANKS[there] == RANKS[here] and there not in (*BASE, *VIEWS)
            ):
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} {name} -> {target}")
    assert upward == [], "imports that run up or across the layers:\n" + "\n".join(upward)


def test_views_and_the_recorder_stay_out_of_the_stores_internals() -> None:
    known = modules()
    bad = []
    for name, path in known.items():
        if layer(name) in (*VIEWS, "recording"):
            bad += [
                f"{name} -> {t}"
                for t, _ in imports(name, path, known)
                if t.startswith(("nbtrack.store.sql", "nbtrack.store.schema"))
            ]
    assert bad == [], "views and the recorder use the Store facade (nbtrack.store):\n" + "\n".join(
        bad
    )


def third_party_imports(path: Path) -> Iterator[tuple[str, int]]:
    """(top-level package, line) of every import of ``path`` that is not nbtrack's, at any depth."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            yield name.split(".")[0], node.lineno


def test_views_write_no_sql() -> None:
    # The views read runs through query/ (the one read model) and write through the Store.
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for name, path in modules().items()
        if layer(name) in VIEWS
        for package, line in third_party_imports(path)
        if package == "sqlalchemy"
    ]
    assert bad == [], "views import sqlalchemy (write the query in nbtrack/query/):\n" + "\n".join(
        bad
    )


# Views are left out here for now: another change is moving their last SQL into query/
# (test_views_write_no_sql above covers their sqlalchemy imports); add them once it is in.
SQL_LAYERS = ("store", "query")
NOT_YET_CHECKED = VIEWS


def test_only_the_store_and_the_query_layer_write_sql() -> None:
    # The store is the only SQL writer and query/ the one SQL reader: everything else calls
    # the Store (recording, lifecycle, interop, reproduce, capture) and imports neither
    # SQLAlchemy nor the store's tables, not even for type checking.
    known = modules()
    bad = []
    for name, path in known.items():
        if layer(name) in (*SQL_LAYERS, *NOT_YET_CHECKED):
            continue
        bad += [
            f"{path.relative_to(PACKAGE.parent)}:{line} {package}"
            for package, line in third_party_imports(path)
            if package in ("sqlalchemy", "sqlite3", "psycopg")
        ]
        bad += [
            f"{path.relative_to(PACKAGE.parent)}:{line} {target}"
            for target, line in imports(name, path, known)
            if target == "nbtrack.store.schema"
        ]
    assert bad == [], (
        "SQL outside store/ and query/ (add a Store method in nbtrack/store/):\n" + "\n".join(bad)
    )
