"""What the recorder hands the store: typed, immutable records of a cell and of a file it
touched. The store turns them into rows (column names, JSON lists, content-addressed sources)
and never writes into them."""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FileEvent:
    """A file a cell read or wrote (``seq``), or an input a run declared (``run_id``)."""

    session_id: str
    path: str
    mode: str  # read | write | input
    seq: int | None = None
    run_id: str | None = None
    hash: str | None = None
    size: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> FileEvent:
        """From a ``file_events`` row as a mapping of column names (fixtures, benchmarks)."""
        return cls(
            row["session_id"],
            row["path"],
            row["mode"],
            row.get("seq"),
            row.get("run_id"),
            row.get("hash"),
            row.get("size"),
        )


@dataclass(frozen=True)
class CellRecord:
    """One executed cell: its source, timing, outcome, the names it created, changed, deleted
    and may touch, its state diff (name -> hash, None: deleted) and the files it opened."""

    session_id: str
    seq: int
    source: str
    start_time: float
    end_time: float
    status: str  # ok | error | history (run before nbtrack was loaded)
    execution_count: int | None = None
    cell_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    created: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    touched: tuple[str, ...] | None = None  # None: cannot tell
    notebook_path: str | None = None
    state_diff: Mapping[str, str | None] = field(default_factory=dict)
    file_events: tuple[FileEvent, ...] = ()

    def __post_init__(self) -> None:
        # a read-only copy: the caller's dict may change after the record is queued
        object.__setattr__(self, "state_diff", types.MappingProxyType(dict(self.state_diff)))

    @classmethod
    def from_row(
        cls,
        row: Mapping[str, Any],
        source: str,
        state_diff: Mapping[str, str | None] = types.MappingProxyType({}),
        file_events: Iterable[Mapping[str, Any]] = (),
    ) -> CellRecord:
        """From a ``cells`` row as a mapping of column names, names as JSON lists (the form
        fixtures and benchmarks write); the mapping is left as it is."""

        def names(key: str) -> tuple[str, ...]:
            text = row.get(key)
            return tuple(json.loads(text)) if text else ()

        touched = row.get("touched")
        return cls(
            session_id=row["session_id"],
            seq=row["seq"],
            source=source,
            start_time=row["start_time"],
            end_time=row["end_time"],
            status=row["status"],
            execution_count=row.get("execution_count"),
            cell_id=row.get("cell_id"),
            error_type=row.get("error_type"),
            error_message=row.get("error_message"),
            created=names("created"),
            changed=names("changed"),
            deleted=names("deleted"),
            touched=tuple(json.loads(touched)) if touched is not None else None,
            notebook_path=row.get("notebook_path"),
            state_diff=state_diff,
            file_events=tuple(FileEvent.from_row(e) for e in file_events),
        )
