"""nbtrack: notebook-native experiment tracking.

``%load_ext nbtrack`` records every cell execution; ``%%track`` and :func:`start_run` make runs.
Attributes are imported lazily so ``import nbtrack`` and ``%load_ext nbtrack`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

try:  # written by the build (hatch's version hook) from labextension/package.json
    from ._version import __version__
except ImportError:  # a source tree that was never installed
    __version__ = "0+unknown"

_LAZY = {
    "start_run": "fluent",
    "end_run": "fluent",
    "active_run": "fluent",
    "log_param": "fluent",
    "log_params": "fluent",
    "log_metric": "fluent",
    "log_metrics": "fluent",
    "set_tag": "fluent",
    "set_tags": "fluent",
    "log_artifact": "fluent",
    "log_text": "fluent",
    "log_dict": "fluent",
    "log_figure": "fluent",
    "log_input": "fluent",
    "Run": "tracking",
    "replay": "replay",
    "search_runs": "search",
    "get_run": "search",
    "get_metric_history": "search",
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
    "rename_run": "manage",
    "set_run_notes": "manage",
    "set_run_tag": "manage",
    "set_run_tags": "manage",
    "delete_run_tag": "manage",
    "move_run": "manage",
    "delete_run": "manage",
    "restore_run": "manage",
    "delete_runs": "manage",
    "restore_runs": "manage",
    "create_experiment": "experiments",
    "rename_experiment": "experiments",
    "delete_experiment": "experiments",
    "restore_experiment": "experiments",
    "list_experiments": "experiments",
    "compare_runs": "compare",
    "export_runs": "transfer",
    "import_runs": "transfer",
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

    from .kernel import load
    from .magics import TrackMagics

    ip.register_magics(TrackMagics)
    ip.push({"nbtrack": sys.modules[__name__]}, interactive=False)
    load(ip)


def unload_ipython_extension(ip: Any) -> None:
    from .kernel import unload

    unload(ip)
