"""``%%track``: run a cell as a tracked run."""

from __future__ import annotations

import ast
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import parse_argstring

from nbtrack.errors import NbtrackError
from nbtrack.recording import fluent
from nbtrack.recording.run import Run
from nbtrack.recording.track_line import track_arguments
from nbtrack.validation import parse_assignment


@magics_class
class TrackMagics(Magics):
    @track_arguments  # the arguments live in recording/track_line.py: exports parse them too
    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Run the cell as one nbtrack run with its params, metrics, tags and executed cells.

        Example::

            %%track --name baseline --experiment churn --param lr=0.01 --tag owner=ana
            model = train(X, y, lr=0.01)
            nbtrack.log_metric("acc", score)
        """
        __tracebackhide__ = True
        try:
            try:
                args = parse_argstring(self.track, line)
            except ValueError as exc:  # shlex: an unbalanced quote
                raise UsageError(f"{exc} in the arguments {line!r}") from None
            params = dict(parse_assignment("--param", p) for p in args.param)
            tags = dict(parse_assignment("--tag", t) for t in args.tag)
            run = fluent.start_run(
                args.name,
                args.experiment,
                params=params,
                tags=tags,
                log_system_metrics=not args.no_system_metrics,
            )
        except (NbtrackError, UsageError) as exc:
            raise UsageError(f"%%track: {exc}") from None
        if args.live:
            _show_live(run)
        try:
            result = self._run_body(cell)
        except KeyboardInterrupt:
            run.end("killed")
            raise
        except BaseException:
            run.end("failed")
            raise
        run.end("finished")
        return result

    def _run_body(self, cell: str) -> Any:
        """Execute like a normal cell: magics transformed, the last expression's value returned."""
        __tracebackhide__ = True
        shell = self.shell
        assert shell is not None  # a magic runs in a shell
        code = shell.transform_cell(cell)
        filename = shell.compile.cache(code, shell.execution_count)
        tree = ast.parse(code, filename)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        ns = shell.user_ns
        exec(compile(tree, filename, "exec"), ns)
        if last is not None and not code.rstrip().endswith(";"):
            return eval(compile(ast.Expression(last.value), filename, "eval"), ns)
        if last is not None:
            exec(compile(ast.Module([last], []), filename, "exec"), ns)
        return None


def _show_live(run: Run) -> None:
    try:
        from nbtrack.widgets import live

        live(run.id)  # shows itself in the cell's output
    except Exception as exc:
        from nbtrack.errors import warn_failure

        warn_failure("could not show the live chart", exc)
