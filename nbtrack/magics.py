"""``%%track``: run a cell as a tracked run."""

from __future__ import annotations

import ast
import linecache
import re
import sys
from types import FrameType
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from nbtrack.errors import NbtrackError
from nbtrack.recording import fluent
from nbtrack.recording.run import Run
from nbtrack.recording.track_line import parse_track_line, track_arguments
from nbtrack.recording.unrecorded import UnrecordedRun


@magics_class
class TrackMagics(Magics):
    @track_arguments  # the arguments live in recording/track_line.py: exports parse them too
    @line_cell_magic
    def track(self, line: str, cell: str | None = None) -> Any:
        """Run the cell as one nbtrack run with its params, metrics, tags and executed cells.

        Example::

            %%track --name baseline --experiment churn --param lr=0.01 --tag owner=ana
            model = train(X, y, lr=0.01)
            nbtrack.log_metric("acc", score)

        As a line magic (``%track ARGS``) it starts a run that ends with the cell running it.
        When the run ends, one line says its name, short id, status, duration and final
        metrics (``--quiet``, or ``NBTRACK_RUN_SUMMARY=off``, for none).
        """
        __tracebackhide__ = True
        if cell is None:
            self._start_cell_run(line)
            return None
        run, live = _start(self.shell, line)
        if live:
            _show_live(run)
        try:
            result = self._run_body(cell)
        except KeyboardInterrupt:
            run.end("killed")
            raise
        except BaseException as exc:
            run.end("failed", exc)
            raise
        run.end("finished")
        return result

    def _start_cell_run(self, line: str) -> None:
        """``%track ARGS``, which a ``%%track ARGS`` line becomes (:func:`track_cell`): start
        a run that ends with the cell, failed if the cell raised, with where."""
        __tracebackhide__ = True
        from nbtrack.recording.fluent import CellScopedRun

        shell = self.shell
        _show_as_written(shell)
        run, live = _start(shell, line)
        CellScopedRun(shell, run)
        if live:
            _show_live(run)

    def _run_body(self, cell: str) -> Any:
        """Execute like a normal cell: magics transformed, the last expression's value returned,
        the code named after the calling cell (``Cell In[n]``) and numbered as the cell, whose
        line 1 is the ``%%track`` line. Only explicit ``run_cell_magic('track', ...)`` calls
        come here: a ``%%track`` cell is rewritten by :func:`track_cell` instead."""
        __tracebackhide__ = True
        shell = self.shell
        assert shell is not None  # a magic runs in a shell
        code = shell.transform_cell(cell)
        filename = shell.compile.cache(f"%%track\n{code}", _calling_cell(shell))
        tree = ast.increment_lineno(ast.parse(code, filename), 1)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        ns = shell.user_ns
        exec(compile(tree, filename, "exec"), ns)
        if last is not None and not code.rstrip().endswith(";"):
            return eval(compile(ast.Expression(last.value), filename, "eval"), ns)
        if last is not None:
            exec(compile(ast.Module([last], []), filename, "exec"), ns)
        return None


# -- a %%track cell runs as the cell it is -----------------------------------------------------
_TRACK_CELL = re.compile(r"[ \t]*%%track(?:[ \t]|$)")


def track_cell(lines: list[str]) -> list[str]:
    """IPython input transformer: a cell whose first line is ``%%track ARGS`` becomes the
    same cell with ``%track ARGS`` on line 1, a line magic that starts a run ending with the
    cell. The body is not moved into a magic's string: it runs as the cell itself, so a
    traceback names ``Cell In[n], line k`` as for any cell, IPython shows the last
    expression's value, and ``await`` works at the top level."""
    if not lines or not _TRACK_CELL.match(lines[0]):
        return lines
    return [lines[0].replace("%%track", "%track", 1), *lines[1:]]


def register(ip: Any) -> None:
    """Rewrite ``%%track`` cells in shell ``ip`` (:func:`track_cell`)."""
    unregister(ip)  # also a track_cell of this module imported before (deleted from sys.modules)
    if track_cell not in ip.input_transformers_cleanup:
        ip.input_transformers_cleanup.append(track_cell)


def unregister(ip: Any) -> None:
    ip.input_transformers_cleanup[:] = [
        t
        for t in ip.input_transformers_cleanup
        if getattr(t, "__module__", None) != __name__
        or getattr(t, "__name__", None) != "track_cell"
    ]


def _start(shell: Any, line: str) -> tuple[Run, bool]:
    """Parse a ``%%track`` line and start its run; a bad line is a ``UsageError``."""
    __tracebackhide__ = True
    try:
        args = parse_track_line(line)  # as an export parses it: quotes as in a shell
        run = fluent.start_run(
            args.name,
            args.experiment,
            params=args.params,
            tags=args.tags,
            log_system_metrics=args.system_metrics,
        )
    except (NbtrackError, UsageError) as exc:
        raise UsageError(f"%%track: {exc}") from None
    if isinstance(run, UnrecordedRun):  # the store cannot be opened: the cell runs, unrecorded
        return run, False
    run.announce = not args.quiet  # one line when the run ends (recording/summary.py)
    if args.autolog:  # the cell's fits log to its run (nbtrack.autolog(), for this cell)
        from nbtrack.autologging import for_cell

        for_cell(shell)
    return run, bool(args.live)


def _show_as_written(shell: Any) -> None:
    """Line 1 of the running cell as IPython keeps it for tracebacks (``get_ipython().
    run_line_magic('track', ...)``) back to the ``%%track ...`` line the user wrote."""
    try:
        names = shell.compile._filename_map
        frame: FrameType | None = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename not in names:
            frame = frame.f_back
        if frame is None:
            return
        filename = frame.f_code.co_filename
        raw = shell.history_manager.input_hist_raw[names[filename]]
        first = next(ln for ln in raw.splitlines() if ln.strip())
        entry: Any = linecache.cache.get(filename)
        if _TRACK_CELL.match(first) and entry[2][0].startswith("get_ipython().run_line_magic("):
            entry[2][0] = first.strip() + "\n"
    except Exception:
        pass  # only the listing of line 1 is at stake


def _calling_cell(shell: Any) -> int:
    """The execution count of the cell running now: the one its compiled code is named after
    (IPython counts the next cell from the moment this one starts)."""
    names = shell.compile._filename_map
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        count = names.get(frame.f_code.co_filename)
        if count is not None:
            return int(count)
        frame = frame.f_back
    return int(shell.execution_count) - 1


def _show_live(run: Run) -> None:
    try:
        from nbtrack.widgets import live

        live(run.id)  # shows itself in the cell's output
    except Exception as exc:
        from nbtrack.errors import warn_failure

        warn_failure("could not show the live chart", exc)
