"""The line a run prints when it ends in IPython (W&B's "View run at ..."): name, short id,
status, duration, a few final metrics and, for a failed run, what failed where.

It is shown as a MIME bundle: ``text/plain`` (a terminal, nbconvert, VS Code) and
``application/vnd.nbtrack.run+json``, which nbtrack's JupyterLab extension draws as the same
line with a button that opens the run. ``%%track --quiet`` or ``NBTRACK_RUN_SUMMARY=off``
silence it. Showing it never fails a cell: a failure is one warning line.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from nbtrack.errors import warn_failure

MIME = "application/vnd.nbtrack.run+json"
MAX_METRICS = 4
MAX_MESSAGE = 80
OFF = ("0", "off", "false", "no")


def enabled() -> bool:
    """False when ``NBTRACK_RUN_SUMMARY`` says off (``0``, ``off``, ``false``, ``no``)."""
    return os.environ.get("NBTRACK_RUN_SUMMARY", "on").strip().lower() not in OFF


def duration_text(seconds: float) -> str:
    """``0.42 s``, ``2.4 s``, ``37 s``, ``3 min 12 s``, ``1 h 04 min``."""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def took_text(status: str, seconds: float) -> str:
    """``finished in 2.4 s``, ``failed after 0.31 s``, ``killed after 3 min 12 s``."""
    return f"{status} {'in' if status == 'finished' else 'after'} {duration_text(seconds)}"


def where_text(failure: dict[str, Any]) -> str:
    """``ValueError: bad alpha at line 3 of cell [5]`` (as much as the failure record knows)."""
    message = " ".join(str(failure.get("message") or "").split())
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    text = f"{failure.get('type')}: {message}" if message else str(failure.get("type"))
    if failure.get("lineno") is not None:
        text += f" at line {failure['lineno']}"
        if failure.get("execution_count") is not None:
            text += f" of cell [{failure['execution_count']}]"
    return text


def summary(run: Any) -> dict[str, Any]:
    """What the line says, as JSON: the payload of :data:`MIME` (``text`` is the plain line;
    metric values as the tables show them, NaN as ``"NaN"``)."""
    from nbtrack.query.jsonsafe import jsonable, number_text

    end = run.end_time if run.end_time is not None else run.start_time
    metrics = [[k, number_text(v)] for k, (_, v) in run.final_metrics.items()]
    data: dict[str, Any] = {
        "id": run.id,
        "name": run.name,
        "experiment": run.experiment,
        "status": run.status,
        "duration": end - run.start_time,
        "took": took_text(run.status, end - run.start_time),
        "metrics": metrics[:MAX_METRICS],
        "more_metrics": max(0, len(metrics) - MAX_METRICS),
        "failure": None,
    }
    if run.failure:
        data["failure"] = {
            k: run.failure.get(k) for k in ("type", "message", "lineno", "execution_count")
        }
        data["failure"]["where"] = where_text(run.failure)
    data["text"] = summary_text(data)
    return jsonable(data)


def summary_text(data: dict[str, Any]) -> str:
    """``nbtrack: run sgd-0.01 (3f2a9c1b) finished in 2.4 s · acc=0.912 · loss=0.2311 · +2 more``."""
    text = f"nbtrack: run {data['name']} ({data['id'][:8]}) {data['took']}"
    if data["failure"]:
        text += f": {data['failure']['where']}"
    parts = [f"{k}={v}" for k, v in data["metrics"]]
    if data["more_metrics"]:
        parts.append(f"+{data['more_metrics']} more")
    return " · ".join([text, *parts])


def summary_bundle(run: Any) -> dict[str, Any]:
    """The MIME bundle shown: the plain line and the JSON the JupyterLab extension draws."""
    data = summary(run)
    return {"text/plain": data["text"], MIME: data}


def show_summary(run: Any) -> None:
    """Show the line in the running IPython cell's output (nothing outside IPython)."""
    try:
        if not enabled():
            return
        ipython = sys.modules.get("IPython")
        if ipython is None or ipython.get_ipython() is None:
            return
        from IPython.display import display

        display(summary_bundle(run), raw=True)
    except Exception as exc:
        warn_failure(f"could not show the summary of run {str(run.id)[:8]}", exc)
