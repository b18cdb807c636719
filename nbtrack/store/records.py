"""What the recorder hands the store: typed, immutable records of a cell and of a file it
touched. The store turns them into rows (column names, JSON lists, content-addressed sources)
and never writes into them."""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field


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
