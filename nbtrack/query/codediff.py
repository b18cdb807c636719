"""Cell-level diff of two runs' executed-code sequences (added, removed, changed cells).

Shared by `nbtrack compare` and the compare widget; pure Python (difflib), no view code.
"""

from __future__ import annotations

import difflib
from typing import Any

_SIMILAR = 0.4  # cells at least this similar are shown as one changed cell


def diff_cells(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries ``{"kind": same|added|removed|changed, "a", "b", "lines"}`` in sequence order.

    ``a``/``b`` describe the old/new cell (``index``, ``execution_count``) or are ``None``;
    ``lines`` are ``{"op": " "|"-"|"+", "text"}`` (the source for added/removed cells).
    """
    a_src = [c["source"] for c in old]
    b_src = [c["source"] for c in new]
    out: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(a=a_src, b=b_src, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [
                _entry("same", old[i], new[j], [])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
        elif tag == "delete":
            out += [
                _entry("removed", old[i], None, _lines("-", old[i]["source"]))
                for i in range(i1, i2)
            ]
        elif tag == "insert":
            out += [
                _entry("added", None, new[j], _lines("+", new[j]["source"])) for j in range(j1, j2)
            ]
        else:
            out += _pair_block(old[i1:i2], new[j1:j2])
    return out


def _pair_block(olds: list[dict[str, Any]], news: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Match the cells of a replaced block by similarity, in order."""
    out: list[dict[str, Any]] = []
    j = 0
    for a in olds:
        best, best_ratio = None, _SIMILAR
        for k in range(j, len(news)):
            ratio = difflib.SequenceMatcher(
                a=a["source"], b=news[k]["source"], autojunk=False
            ).quick_ratio()
            if ratio >= best_ratio:
                best, best_ratio = k, ratio
        if best is None:
            out.append(_entry("removed", a, None, _lines("-", a["source"])))
            continue
        out += [
            _entry("added", None, news[k], _lines("+", news[k]["source"])) for k in range(j, best)
        ]
        out.append(_entry("changed", a, news[best], line_diff(a["source"], news[best]["source"])))
        j = best + 1
    out += [
        _entry("added", None, news[k], _lines("+", news[k]["source"])) for k in range(j, len(news))
    ]
    return out


def line_diff(old: str, new: str) -> list[dict[str, str]]:
    a, b = old.splitlines(), new.splitlines()
    lines: list[dict[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            lines += [{"op": " ", "text": t} for t in a[i1:i2]]
            continue
        lines += [{"op": "-", "text": t} for t in a[i1:i2]]
        lines += [{"op": "+", "text": t} for t in b[j1:j2]]
    return lines


def _lines(op: str, source: str) -> list[dict[str, str]]:
    return [{"op": op, "text": t} for t in source.splitlines()]


def _ref(cell: dict[str, Any] | None) -> dict[str, Any] | None:
    if cell is None:
        return None
    return {
        "index": cell.get("index"),
        "execution_count": cell.get("execution_count"),
        "in_run": cell.get("in_run", False),
    }


def _entry(
    kind: str, a: dict[str, Any] | None, b: dict[str, Any] | None, lines: list[dict[str, str]]
) -> dict[str, Any]:
    return {"kind": kind, "a": _ref(a), "b": _ref(b), "lines": lines}
