"""Runs arranged under their parents (a sweep's runs under the run that started them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def nest(records: Sequence[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """``(depth, record)`` with every run right after its parent, depth first, siblings in the
    given order; a run whose parent is not among ``records`` stays where it is at depth 0."""
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

    def visit(r: dict[str, Any], depth: int) -> None:
        if r["id"] in seen:  # a cycle (parent ids edited by hand) must not loop forever
            return
        seen.add(r["id"])
        out.append((depth, r))
        for child in children.get(r["id"], []):
            visit(child, depth + 1)

    for r in roots:
        visit(r, 0)
    for r in records:  # members of a cycle, unreachable from any root
        if r["id"] not in seen:
            visit(r, 0)
    return out
