"""What a failed run keeps of the exception that ended it: type, message, the failing line of
the cell (or script) as the user sees it, and the cell's execution count and sequence number.

The failing line is the innermost traceback frame in the code the run was running: the cell
the traceback starts in (the one being executed), else the file of the ``with start_run()``
block. So an error raised inside a library, or inside a function defined in the same cell,
points at the user's line in that cell.
"""

from __future__ import annotations

import linecache
import sys
from types import TracebackType
from typing import Any

MAX_MESSAGE = 1_000
MAX_LINE = 300


def describe_failure(
    exc: BaseException | None, tb: TracebackType | None = None, seq: int | None = None
) -> dict[str, Any] | None:
    """``{type, message, line, lineno, execution_count, seq}`` for ``exc`` (``tb``: its
    traceback, by default the one it carries); ``None`` when there is no exception."""
    if exc is None:
        return None
    tb = tb if tb is not None else exc.__traceback__
    frames = [(t.tb_frame.f_code.co_filename, t.tb_lineno) for t in _walk(tb)]
    cells = _cell_numbers()
    in_cells = [f for f in frames if f[0] in cells]
    anchor = (in_cells or frames or [("", 0)])[0][0]
    here = [f for f in frames if f[0] == anchor]
    filename, lineno = here[-1] if here else (None, None)
    count = cells.get(filename) if filename else None
    line = _line_text(filename, lineno, count) if filename and lineno else None
    return {
        "type": type(exc).__name__,
        "message": _clip(_message(exc), MAX_MESSAGE),
        "line": _clip(line, MAX_LINE) if line else None,
        "lineno": lineno,
        "execution_count": count,
        "seq": seq,
    }


def _walk(tb: TracebackType | None) -> list[TracebackType]:
    out = []
    while tb is not None:
        out.append(tb)
        tb = tb.tb_next
    return out


def _shell() -> Any:
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def _cell_numbers() -> dict[str, int]:
    """Compiled cell file name -> execution count, from the running IPython shell's compiler."""
    shell = _shell()
    names = getattr(getattr(shell, "compile", None), "_filename_map", None)
    return dict(names) if isinstance(names, dict) else {}


def _line_text(filename: str, lineno: int, count: int | None) -> str | None:
    """The line as the user wrote it: from the cell's raw source when the shell kept it
    (a ``!ls`` line, not IPython's ``get_ipython().system('ls')``), else as compiled."""
    shell = _shell()
    if count is not None and shell is not None:
        try:
            raw = shell.history_manager.input_hist_raw[count]
            compiled = linecache.getlines(filename)
            lines = raw.splitlines()
            if len(lines) == len(compiled) and 0 < lineno <= len(lines):
                return lines[lineno - 1].strip() or None
        except Exception:
            pass
    return linecache.getline(filename, lineno).strip() or None


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__}: its message cannot be shown>"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
