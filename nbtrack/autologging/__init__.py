"""``nbtrack.autolog()``: log the params, metrics and model of every fit of scikit-learn,
XGBoost, LightGBM and Keras 3 without a line of logging code.

How the patches get in: ``autolog()`` patches each library already imported, and puts a finder
on ``sys.meta_path`` that patches a library right after its first import, so the order of
``import sklearn`` and ``nbtrack.autolog()`` does not matter and nothing is imported that the
user did not import. A library that is not installed is never looked for: autolog is silent
about it. ``autolog(disable=True)`` restores the original attributes and removes the finder.
What a patch may and may not do is in :mod:`.patching`; which run a fit logs to, in :mod:`.runs`.

Keras: nbtrack sets no backend (``KERAS_BACKEND`` is the user's; the tests use JAX on CPU, a
~97 MB download: keras 2.4 MB, jax 3.2 MB, jaxlib 85 MB, h5py 5 MB and small ones). PyTorch
Lightning is not supported: PyPI's torch 2.14.1 wheel alone is 555 MB and requires CUDA 13's
toolkit (cublas, cudnn, nccl, nvshmem, cusparselt...) and triton, several GB more, too large for
the machines nbtrack is tested on (measured 2026-12).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from nbtrack.autologging import patching
from nbtrack.errors import ValidationError, warn_failure

# library (its import name) -> the module of nbtrack that patches it
INTEGRATIONS = {
    "sklearn": "nbtrack.autologging.sklearn",
    "xgboost": "nbtrack.autologging.xgboost",
    "lightgbm": "nbtrack.autologging.lightgbm",
    "keras": "nbtrack.autologging.keras",
}


@dataclass
class Config:
    libraries: set[str] = field(default_factory=set)  # the libraries autolog is on for
    log_models: bool = True
    log_training_metrics: bool = True
    max_tuning_runs: int | None = 100


config = Config()


def enabled(library: str) -> bool:
    return library in config.libraries


def autolog(
    disable: bool = False,
    log_models: bool = True,
    *,
    exclude_flavors: Sequence[str] = (),
    log_training_metrics: bool = True,
    max_tuning_runs: int | None = 100,
) -> None:
    """Log every fit of scikit-learn, XGBoost, LightGBM and Keras from now on (the libraries
    imported now and those imported later): the estimator's params, its training metrics or
    per-iteration (per-epoch) evaluation metrics, a grid search's candidates as child runs, and
    the fitted model
    (``log_models``), loadable with :func:`nbtrack.load_model`. A fit outside any run starts a run
    of its own. ``max_tuning_runs``: the most child runs a search logs, best ranked first (None:
    all). ``exclude_flavors``: libraries (``"sklearn"``, ``"xgboost"``, ``"lightgbm"``,
    ``"keras"``) left as they are. ``disable=True`` turns it off and restores the libraries' original functions."""
    excluded = set(exclude_flavors)
    unknown = excluded - set(INTEGRATIONS)
    if unknown:
        raise ValidationError(
            f"autolog: unknown flavor {sorted(unknown)[0]!r}; flavors are {', '.join(INTEGRATIONS)}"
        )
    if max_tuning_runs is not None and (
        not isinstance(max_tuning_runs, int) or max_tuning_runs < 0
    ):
        raise ValidationError(
            f"max_tuning_runs must be a non-negative int or None, got {max_tuning_runs!r}"
        )
    if disable:
        for library in (
            set(INTEGRATIONS) - excluded
        ):  # as MLflow: excluded ones are left as they are
            config.libraries.discard(library)
            patching.unpatch(library)
        if not config.libraries:
            _remove_finder()
        return
    config.log_models = bool(log_models)
    config.log_training_metrics = bool(log_training_metrics)
    config.max_tuning_runs = max_tuning_runs
    config.libraries = set(INTEGRATIONS) - excluded
    for library in INTEGRATIONS:
        if library in excluded:
            patching.unpatch(library)
    for library in config.libraries:
        module = sys.modules.get(library)
        if module is not None:
            install(library, module)
    _add_finder()


def for_cell(shell: Any) -> None:
    """``%%track --autolog``: autolog on for the cell running now; off again when it ends,
    unless it was on before (then it stays as it was)."""
    if config.libraries:
        return
    autolog()

    def off(result: Any) -> None:
        shell.events.unregister("post_run_cell", off)
        autolog(disable=True)

    shell.events.register("post_run_cell", off)


def install(library: str, module: ModuleType) -> None:
    """Patch ``library`` (just imported) if autolog is on for it and it is not patched yet."""
    if not enabled(library) or patching.patched(library):
        return
    try:
        importlib.import_module(INTEGRATIONS[library]).install(module)
    except Exception as exc:
        patching.unpatch(library)
        warn_failure(f"autolog: could not patch {library}", exc)


class _Finder(importlib.abc.MetaPathFinder):
    """Patches a library once its top-level module has run: finds the module with the other
    finders, then wraps its loader's ``exec_module``. Every other import is passed on at once."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in config.libraries:
            return None
        spec = None
        for finder in _others(self):
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return None
        run_module = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            install(fullname, module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _others(finder: Any) -> Iterable[Any]:
    return [f for f in sys.meta_path if f is not finder and not isinstance(f, _Finder)]


_finder = _Finder()


def _add_finder() -> None:
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def _remove_finder() -> None:
    while _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


__all__ = ["autolog"]
