"""XGBoost: ``xgboost.train`` logs the booster's params and ``num_boost_round``, each
iteration's evaluation metrics as step metrics (through a callback), early stopping
(``best_iteration``, ``best_score``), feature importance (weight and gain) and the Booster;
the scikit-learn API (``XGBClassifier.fit``, ...) logs ``get_params()``, the evaluation results
of each iteration, early stopping, importance and the fitted estimator."""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

from nbtrack.autologging import enabled
from nbtrack.autologging.boosting import BoostingFit, log_history
from nbtrack.autologging.patching import patch

IMPORTANCE = ("weight", "gain")


def install(module: ModuleType) -> None:
    import xgboost.sklearn
    import xgboost.training

    on = lambda: enabled("xgboost")  # noqa: E731
    for owner in (module, xgboost.training):
        patch("xgboost", owner, "train", TrainFit, on)
    for cls in vars(xgboost.sklearn).values():
        if (
            isinstance(cls, type)
            and issubclass(cls, xgboost.sklearn.XGBModel)
            and "fit" in cls.__dict__
        ):
            patch("xgboost", cls, "fit", EstimatorFit, on)


def _callback(fit: BoostingFit) -> Any:
    from xgboost.callback import TrainingCallback

    class LogIterations(TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            fit.log_iteration(
                epoch,
                [
                    (
                        f"{data}-{metric}",
                        values[-1][0] if isinstance(values[-1], tuple) else values[-1],
                    )
                    for data, by_metric in evals_log.items()
                    for metric, values in by_metric.items()
                    if values
                ],
            )
            return False  # never stops the training

    return LogIterations()


def _best(model: Any) -> dict[str, Any]:
    out = {}
    for key in ("best_iteration", "best_score"):
        try:
            out[key] = getattr(model, key)
        except Exception:  # no early stopping
            pass
    return out


def _importance(booster: Any) -> dict[str, Any]:
    out = {}
    for kind in IMPORTANCE:
        try:
            out[kind] = booster.get_score(importance_type=kind)
        except Exception:
            pass
    return out


class TrainFit(BoostingFit):
    flavor = "xgboost"

    def __init__(self, *args: Any, **kwargs: Any):
        import xgboost

        self.bound = inspect.signature(xgboost.training.train).bind(*args, **kwargs)
        a = self.bound.arguments
        params = dict(a.get("params") or {})
        params["num_boost_round"] = a.get("num_boost_round", 10)
        if a.get("early_stopping_rounds") is not None:
            params["early_stopping_rounds"] = a["early_stopping_rounds"]
        super().__init__("xgboost.train", params)

    def prepare(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        a = self.bound.arguments
        a["callbacks"] = [*(a.get("callbacks") or []), _callback(self)]
        return self.bound.args, self.bound.kwargs

    def finished(self, booster: Any) -> None:
        self.finish(booster, _best(booster), _importance(booster))


class EstimatorFit(BoostingFit):
    flavor = "xgboost"

    def __init__(self, estimator: Any, *args: Any, **kwargs: Any):
        self.estimator = estimator
        super().__init__(type(estimator).__name__, estimator.get_params())

    def finished(self, result: Any) -> None:
        est = self.estimator
        try:
            log_history(self.run, est.evals_result())
        except Exception:  # fitted without an eval_set
            pass
        self.finish(est, _best(est), _importance(est.get_booster()))
