"""What changed around a run since it was recorded: the environment (Python, platform,
packages), the input files its cells read and the local code of its snapshot."""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

from nbtrack.reproduce.imports import normalise
from nbtrack.store import Store

Packages = dict[str, tuple[str | None, str | None]]


def environment_diff(
    st: Store,
    row: dict[str, Any],
    replayed: dict[str, Any] | None = None,
    leave_out: Collection[str] = (),
) -> tuple[dict[str, Any], Packages]:
    """The recorded environment of run ``row`` against ``replayed`` (default: this one), and
    the packages that changed. Recorded packages named in ``leave_out`` (normalised; those a
    recreated environment skipped on purpose) are not differences."""
    from nbtrack.capture.environment import capture_environment, diff_environments
    from nbtrack.query.runs import environment_of

    recorded = environment_of(st, row.get("env_hash"))
    if recorded is None:
        return {}, {}
    diff = diff_environments(recorded, replayed or capture_environment())
    removed = diff.get("packages", {}).get("removed")
    if removed and leave_out:
        for name in [n for n in removed if normalise(n) in leave_out]:
            del removed[name]
        if not removed:
            del diff["packages"]["removed"]
        if not diff["packages"]:
            del diff["packages"]
    return diff, changed_packages(diff)


def summarise_environment(diff: dict[str, Any], imported: set[str], shown: int = 5) -> list[str]:
    """The environment differences in a few lines: a one-line count of differing packages that
    names those the run's cells import (``imported``: normalised names) first, then Python
    and the platform if they differ. The full list is ``format_environment_diff``'s."""
    from nbtrack.capture.environment import format_environment_diff

    rows = sorted(
        changed_packages(diff).items(), key=lambda kv: (normalise(kv[0]) not in imported, kv[0])
    )
    lines = [
        ln for ln in format_environment_diff({k: v for k, v in diff.items() if k != "packages"})
    ]
    if not rows:
        return lines
    mine = [(n, v) for n, v in rows if normalise(n) in imported]
    head = f"{len(rows)} package{'s differ' if len(rows) != 1 else ' differs'}"
    if mine:
        named = ", ".join(
            f"{n} {old or 'absent'} → {new or 'absent'}" for n, (old, new) in mine[:shown]
        )
        more = f" (and {len(mine) - shown} more)" if len(mine) > shown else ""
        head += f", {len(mine)} imported by the run's cells: {named}{more}"
    others = len(rows) - len(mine)
    if others:
        head += f"; {others} other{'s' if others != 1 else ''}: --verbose"
    return [head, *lines]


def changed_packages(diff: dict[str, Any]) -> Packages:
    """``{name: (recorded version, current version)}`` from an environment diff, None for absent."""
    pk = diff.get("packages", {})
    packages: Packages = {n: (None, v) for n, v in pk.get("added", {}).items()}
    packages.update({n: (v, None) for n, v in pk.get("removed", {}).items()})
    packages.update({n: (old, new) for n, (old, new) in pk.get("changed", {}).items()})
    return packages


def file_change(path: str, recorded: str | None) -> str | None:
    """``"changed"`` or ``"is missing"`` when the file no longer has the recorded content."""
    from nbtrack.store.blobs import content_hash

    try:
        with open(path, "rb") as f:
            now = content_hash(f.read())
    except OSError:
        return "is missing"
    return "changed" if recorded is not None and now != recorded else None


def reads_by_seq(st: Store, row: dict[str, Any]) -> dict[int | None, list[tuple[str, str | None]]]:
    """The files run ``row`` read, by the cell that read them: ``{seq: [(path, hash)]}``."""
    reads: dict[int | None, list[tuple[str, str | None]]] = {}
    for ev in st.file_events_of(row):
        if ev["mode"] in ("read", "input"):
            reads.setdefault(ev["seq"], []).append((ev["path"], ev["hash"]))
    return reads


def changed_inputs(reads: dict[int | None, list[tuple[str, str | None]]]) -> dict[str, str]:
    """``{path: how}`` for every file read whose content is no longer the recorded one."""
    changed: dict[str, str] = {}
    for events in reads.values():
        for path, recorded in events:
            if path not in changed and recorded is not None:
                how = file_change(path, recorded)
                if how:
                    changed[path] = how
    return changed


def changed_code(st: Store, row: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, how) for the local files that differ from run ``row``'s snapshot."""
    if not row.get("snapshot_hash"):
        return []
    try:
        from nbtrack.capture.snapshot import changed_files
    except ImportError:
        return []
    root = os.path.dirname(row.get("notebook_path") or "") or os.getcwd()
    return list(changed_files(st, row["snapshot_hash"], root))
