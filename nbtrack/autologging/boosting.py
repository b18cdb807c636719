"""What XGBoost and LightGBM logs have in common: a training call's run, its params, the
evaluation metrics of each iteration as step metrics (``<data>-<metric>``, as MLflow names them),
early stopping, feature importance (metrics and a JSON artifact) and the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nbtrack.autologging import config
from nbtrack.autologging.patching import FitLogger
from nbtrack.autologging.runs import end_fit_run, log_metrics, log_params, number, run_for_fit
from nbtrack.errors import warn_failure
from nbtrack.recording.models import log_model_to
from nbtrack.recording.run import Run


class BoostingFit(FitLogger):
    """A training call of ``flavor``: its run is found (or started) and its params logged at
    once, so a training that fails still shows what it was asked to do."""

    flavor = ""

    def __init__(self, label: str, params: Mapping[str, Any]):
        self.run, self.owned = run_for_fit(label, self.flavor)
        log_params(self.run, params)
        self.warned = False

    def log_iteration(self, step: int, values: Sequence[tuple[str, Any]]) -> None:
        """One iteration's evaluation metrics (from a callback: it must never raise)."""
        try:
            log_metrics(self.run, values, step)
        except Exception as exc:
            if not self.warned:
                self.warned = True
                warn_failure(f"autolog: could not log iteration {step} of {self.flavor}", exc)

    def failed(self, exc: BaseException) -> None:
        end_fit_run(self.run, self.owned, failed=True)

    def finish(self, model: Any, best: Mapping[str, Any], importance: Mapping[str, Any]) -> None:
        """Early stopping (``best_iteration``, ``best_score``...), importance
        (``{type: {feature: value}}``) and the model; then end the run if the fit started it."""
        try:
            log_metrics(self.run, [(k, val) for k, val in best.items() if number(val) is not None])
            for kind, values in importance.items():
                if values:
                    self.run.log_dict(
                        {str(k): number(x) for k, x in values.items()},
                        f"feature_importance_{kind}.json",
                    )
            if config.log_models:
                log_model_to(self.run, model, "model")
        finally:
            end_fit_run(self.run, self.owned)


def log_history(run: Run, history: Mapping[str, Mapping[str, Sequence[Any]]]) -> None:
    """``{data: {metric: [value per iteration]}}`` (a scikit-learn API model's eval results) as
    step metrics, the same as the callback logs them during ``train``."""
    for data, by_metric in history.items():
        for metric, values in by_metric.items():
            for step, value in enumerate(values):
                if isinstance(value, (tuple, list)):  # (mean, std) of xgboost.cv
                    value = value[0]
                log_metrics(run, [(f"{data}-{metric}", value)], step)
