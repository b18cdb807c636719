"""Which distributions a run's cells import: top-level modules read from the cells' code, mapped
to distributions through this interpreter's ``importlib.metadata``, so a replay can say which
package differences matter and a recreated environment installs only what the run uses."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable

_LOAD_EXT = re.compile(r"^\s*%load_ext\s+([A-Za-z_][\w]*)", re.M)
_IMPORT_LINE = re.compile(
    r"^\s*(?:import|from)\s+([A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w.]*)*)", re.M
)


def normalise(name: str) -> str:
    """PEP 503 name: ``Scikit_Learn`` and ``scikit-learn`` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(sources: Iterable[str]) -> set[str]:
    """Top-level modules the code imports, stdlib excluded. Cells with magics or shell escapes
    do not parse as Python: their import lines are read with a pattern instead."""
    found: set[str] = set()
    for source in sources:
        found.update(_LOAD_EXT.findall(source))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            for match in _IMPORT_LINE.finditer(source):
                found.update(part.strip().split(".")[0] for part in match.group(1).split(","))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    return {m for m in found if m and m not in stdlib and m != "__future__"}


def imported_distributions(sources: Iterable[str], recorded: dict[str, str]) -> dict[str, str]:
    """``{normalised distribution: module}`` for the recorded distributions the code imports.

    A module maps to its distribution through this interpreter's metadata
    (``sklearn`` -> ``scikit-learn``); a module not installed here maps to the recorded
    distribution of the same name, if any. nbtrack itself is left out: the replay always uses
    the current one."""
    from importlib import metadata

    by_module = metadata.packages_distributions()
    recorded_names = {normalise(n) for n in recorded}
    found: dict[str, str] = {}
    for module in sorted(imported_modules(sources)):
        dists = by_module.get(module) or [module]
        for dist in dists:
            key = normalise(dist)
            if key in recorded_names and key != "nbtrack":
                found.setdefault(key, module)
    return found
