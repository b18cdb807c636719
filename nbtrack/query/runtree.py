"""Runs arranged under their parents (a sweep's runs under the run that started them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def nest(records: Sequence[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """``(depth, record)`` with every run right after its parent, depth first, siblings in the
    given order; a run whose parent is not among ``records`` stays where it is at depth 0.
    Walked with a stack, not recursion: a chain of 1,000 nested runs is as fine as 10."""
    by_id = {r["id"]: r for r in records}
    children: dict[str, list[dict[str, Any]]] = {}
    roots = []
    for r in records:
        parent = r.get("parent_run_id")
        if parent and parent in by_id and parent != r["id"]:
            children.setdefault(parent, []).append(r)
        else:
            roots.append(r)
    out: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()

    def visit(root: dict[str, Any]) -> None:
        stack = [(0, root)]
        while stack:
            depth, r = stack.pop()
            if r["id"] in seen:  # a cycle (parent ids edited by hand) must not loop forever
                continue
            seen.add(r["id"])
            out.append((depth, r))
            stack.extend((depth + 1, c) for c in reversed(children.get(r["id"], [])))

    for r in roots:
        visit(r)
    for r in records:  # members of a cycle, unreachable from any root
        if r["id"] not in seen:
            visit(r)
    return out
