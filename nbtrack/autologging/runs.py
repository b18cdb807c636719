"""The run an autologged fit logs to, and the values it logs as nbtrack accepts them.

Inside a run (``%%track``, ``start_run``), a fit logs to the innermost active run. Outside any
run it starts one, named after the estimator, as MLflow's autolog does; like nbtrack's other
implicit runs (recording/fluent.py) it ends with the cell in a kernel, so what the cell logs
after the fit (a test score) lands in it too, and in a script it ends with the fit. The next fit
outside a run starts a run of its own: one run per fit.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from nbtrack import validation as v
from nbtrack.errors import ValidationError
from nbtrack.recording import fluent
from nbtrack.recording.run import Run

PARAM_MAX = 1000  # a param's text is cut here: a nested estimator's repr can be long

_started: Run | None = None  # the run autolog started for the last fit outside a run
_announced = False


def run_for_fit(label: str, flavor: str) -> tuple[Run, bool]:
    """(the run to log to, whether autolog started it and ends it)."""
    global _started, _announced
    active = fluent.active_run()
    if active is not None and active is _started and active.status == "running":
        active.end("finished")  # a second fit in the cell gets a run of its own
        active = fluent.active_run()
    if active is not None:
        return active, False
    run = fluent.start_run(label, tags={"autolog": flavor})
    shell = fluent._shell()
    if shell is not None:
        fluent.CellScopedRun(shell, run)
        _started = run
        if not _announced:
            _announced = True
            print(
                f"nbtrack: autolog started run {run.name} ({run.id[:8]}) for a fit outside a run; "
                "it ends with this cell. Use %%track or nbtrack.start_run() to group fits.",
                file=sys.stderr,
            )
        return run, False  # the cell ends it
    return run, True


def end_fit_run(run: Run, owned: bool, failed: bool = False) -> None:
    if failed and run is _started:
        run.end("failed")
    elif owned:
        run.end("failed" if failed else "finished")


def param_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= PARAM_MAX else text[: PARAM_MAX - 3] + "..."


def log_params(run: Run, params: Mapping[str, Any], prefix: str = "") -> None:
    """Log what nbtrack accepts; a key it refuses is left out rather than failing the rest."""
    good = {}
    for key, value in params.items():
        try:
            k, val = v.check_param(f"{prefix}{key}", param_text(value))
        except ValidationError:
            continue
        good[k] = val
    run.log_params(good)


def number(value: Any) -> float | None:
    """``value`` as a finite-or-not float, or None when it is not a single number."""
    try:
        if hasattr(value, "item") and getattr(value, "size", 1) == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)
    except Exception:
        return None


def log_metrics(run: Run, metrics: Iterable[tuple[str, Any]], step: int | None = None) -> None:
    for key, value in metrics:
        x = number(value)
        if x is None:
            continue
        try:
            run.log_metric(key, x, step)
        except ValidationError:
            continue


def is_nan(x: float | None) -> bool:
    return x is not None and math.isnan(x)
