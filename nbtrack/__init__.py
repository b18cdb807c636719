"""nbtrack: notebook-native experiment tracking.

``%load_ext nbtrack`` records every cell execution; ``%%track`` and :func:`start_run` make runs.
Attributes are imported lazily so ``import nbtrack`` and ``%load_ext nbtrack`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from nbtrack.version import __version__ as __version__

_LAZY = {
    "start_run": "recording.fluent",
    "end_run": "recording.fluent",
    "active_run": "recording.fluent",
    "log_param": "recording.fluent",
    "log_params": "recording.fluent",
    "log_metric": "recording.fluent",
    "log_metrics": "recording.fluent",
    "set_tag": "recording.fluent",
    "set_tags": "recording.fluent",
    "log_artifact": "recording.fluent",
    "log_text": "recording.fluent",
    "log_dict": "recording.fluent",
    "log_figure": "recording.fluent",
    "log_input": "recording.fluent",
    "log_model": "recording.models",
    "load_model": "recording.models",
    "autolog": "autologging",
    "Run": "recording.run",
    "replay": "reproduce.replay",
    "search_runs": "query.search",
    "get_run": "query.search",
    "get_metric_history": "query.search",
    "runs_table": "widgets",
    "chart": "widgets",
    "chart_spec": "widgets",
    "live": "widgets",
    "compare": "widgets",
    "run_view": "widgets",
    "open_store": "store",
    "NbtrackError": "errors",
    "ValidationError": "errors",
    "NotFoundError": "errors",
    "StoreError": "errors",
    "rename_run": "lifecycle.edits",
    "set_run_notes": "lifecycle.edits",
    "set_run_tag": "lifecycle.edits",
    "set_run_tags": "lifecycle.edits",
    "delete_run_tag": "lifecycle.edits",
    "move_run": "lifecycle.edits",
    "delete_run": "lifecycle.edits",
    "restore_run": "lifecycle.edits",
    "delete_runs": "lifecycle.edits",
    "restore_runs": "lifecycle.edits",
    "create_experiment": "lifecycle.experiments",
    "rename_experiment": "lifecycle.experiments",
    "delete_experiment": "lifecycle.experiments",
    "restore_experiment": "lifecycle.experiments",
    "list_experiments": "lifecycle.experiments",
    "compare_runs": "query.compare",
    "export_runs": "lifecycle.transfer",
    "import_runs": "lifecycle.transfer",
}

__all__ = sorted([*_LAZY, "load_ipython_extension", "unload_ipython_extension", "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"nbtrack.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext nbtrack``: record every cell from now on and enable ``%%track``."""
    import sys

    from nbtrack.magics import TrackMagics, register
    from nbtrack.recording.recorder import load

    ip.register_magics(TrackMagics)
    register(ip)  # a %%track cell runs as itself: tracebacks as for any cell
    ip.push({"nbtrack": sys.modules[__name__]}, interactive=False)
    load(ip)


def unload_ipython_extension(ip: Any) -> None:
    from nbtrack.magics import unregister
    from nbtrack.recording.recorder import unload

    unload(ip)
    unregister(ip)
