"""The ``%%track`` cells of an exported run: which of them start a run, and as what.

``tracking`` chooses: ``"run"`` (the default) lets the cells of the exported run start their run
again and turns other runs' ``%%track`` cells into their bodies, so re-running an export does
not re-record runs nobody asked for; ``"all"`` lets every ``%%track`` cell start its run;
``"none"`` keeps only the bodies. The line is parsed with the magic's own parser
(``nbtrack.recording.track_line``), and every value is written with ``repr``: a name or a param
holding a newline or a quote stays a string.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from nbtrack.recording.track_line import TrackLine, parse_track_line
from nbtrack.reproduce.no_tracking import RECORDS
from nbtrack.reproduce.plain_python import split_cell_magic

TRACKING = ("run", "all", "none")
OTHER_CALLS = "(another run's nbtrack calls: they record nothing here; --track-all records them)"
LINE_TRACK = re.compile(r"^%track\b([^\n]*)(?:\n|\Z)", re.M)


@dataclass(frozen=True)
class TrackCell:
    """A ``%%track`` cell: its line, its body, the parsed arguments (None with ``error`` when
    the line does not parse) and whether the export lets it start a run."""

    line: str
    body: str
    args: TrackLine | None
    error: str | None
    starts_run: bool
    own: bool  # a cell of the exported run
    written: str = ""  # the magic's line as the user wrote it


def track_cell(cell: dict[str, Any], tracking: str) -> TrackCell | None:
    """The cell as a ``%%track`` cell, None when it is not one. A cell with a ``%track ARGS``
    line (the line magic: a run that ends with the cell) counts as one whose body is the
    cell without that line."""
    magic = split_cell_magic(cell["source"])
    if magic is not None and magic[0] == "track":
        _, line, body = magic
        written = f"%%track {line}".rstrip()
    elif magic is None and len(found := LINE_TRACK.findall(cell["source"])) == 1:
        line = found[0].strip()
        body = LINE_TRACK.sub("", cell["source"], count=1)
        written = f"%track {line}".rstrip()
    else:
        return None
    own = bool(cell.get("in_run"))
    try:
        args, error = parse_track_line(line), None
    except Exception as exc:  # UsageError, ValidationError: the cell failed before its body ran
        args, error = None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    starts = args is not None and (tracking == "all" or (tracking == "run" and own))
    return TrackCell(line, body, args, error, starts, own, written)


def start_run_line(tc: TrackCell, run: dict[str, Any]) -> str:
    """``with nbtrack.start_run(...):`` for a cell that starts a run. The exported run's own
    cell gets its recorded name and experiment; another run's cell its own name (or none, as
    the magic) and the experiment the notebook's runs defaulted to."""
    assert tc.args is not None
    args = tc.args
    name = args.name or (run["name"] if tc.own else None)
    experiment = run["experiment"] if tc.own else args.experiment or _default_experiment(run)
    parts = [f"name={name!r}"] if name is not None else []
    parts.append(f"experiment={experiment!r}")
    if args.params:
        parts.append(f"params={args.params!r}")
    if args.tags:
        parts.append(f"tags={args.tags!r}")
    if not args.system_metrics:
        parts.append("log_system_metrics=False")
    return f"with nbtrack.start_run({', '.join(parts)}):"


def run_block(tc: TrackCell, run: dict[str, Any], body: str) -> str:
    """The cell as a block that records its run: ``with nbtrack.start_run(...):`` over
    ``body`` (already indented); with ``--autolog`` the libraries' fits log to the run while
    the block runs, as the magic has them log for the cell."""
    block = f"{start_run_line(tc, run)}\n{body.rstrip()}"
    if tc.args is None or not tc.args.autolog:
        return block
    inner = "\n".join(f"    {line}" if line.strip() else "" for line in block.split("\n"))
    return (
        "nbtrack.autolog()  # --autolog: the fits below log to the run\n"
        f"try:\n{inner}\nfinally:\n    nbtrack.autolog(disable=True)"
    )


def describe(tc: TrackCell) -> str:
    """A comment line saying what became of the cell's ``%%track`` line."""
    magic = tc.written or f"%%track {tc.line}".rstrip()
    if tc.args is None:
        return f"{magic}  (did not parse when recorded: {tc.error})"
    if tc.starts_run:
        live = "; --live left out: the live chart is a notebook widget" if tc.args.live else ""
        return f"{magic}  (records the run again{live})"
    if tc.own:
        return f"{magic}  (--no-tracking: the body only, recording nothing)"
    return (
        f"{magic}  (another run's cell: the body runs, recording nothing; --track-all records it)"
    )


def records(tree: ast.Module | None) -> bool:
    """Whether the code calls something of nbtrack's that records (``nbtrack.log_metric``...)."""
    return tree is not None and any(
        isinstance(n, ast.Attribute)
        and n.attr in RECORDS
        and isinstance(n.value, ast.Name)
        and n.value.id == "nbtrack"
        for n in ast.walk(tree)
    )


def untracked_lines() -> str:
    """The head of the block another run's body runs in when it calls nbtrack (``run`` mode):
    its import binds no new name (``nbtrack`` is the package already)."""
    return (
        "import nbtrack.reproduce.no_tracking\n"
        "with nbtrack.reproduce.no_tracking.untracked(globals()):"
    )


def _default_experiment(run: dict[str, Any]) -> str:
    """The experiment a notebook's runs go to when they name none: the notebook's name."""
    path = run.get("notebook_path")
    return PurePath(path).stem if path else "Default"
