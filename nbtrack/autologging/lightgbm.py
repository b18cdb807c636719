"""LightGBM: ``lightgbm.train`` logs the params and ``num_boost_round``, each iteration's
validation metrics as step metrics (through a callback), early stopping (``best_iteration`` and
the best scores), feature importance (split and gain) and the Booster; the scikit-learn API
(``LGBMClassifier.fit``, ...) logs ``get_params()``, the evaluation results of each iteration,
early stopping, importance and the fitted estimator."""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

from nbtrack.autologging import enabled
from nbtrack.autologging.boosting import BoostingFit, log_history
from nbtrack.autologging.patching import patch

IMPORTANCE = ("split", "gain")


def install(module: ModuleType) -> None:
    import lightgbm.engine
    import lightgbm.sklearn

    on = lambda: enabled("lightgbm")  # noqa: E731
    for owner in (module, lightgbm.engine):
        patch("lightgbm", owner, "train", TrainFit, on)
    for cls in vars(lightgbm.sklearn).values():
        if (
            isinstance(cls, type)
            and issubclass(cls, lightgbm.sklearn.LGBMModel)
            and "fit" in cls.__dict__
        ):
            patch("lightgbm", cls, "fit", EstimatorFit, on)


class _LogIterations:
    """A LightGBM callback: after each iteration, its evaluation results as step metrics."""

    order = 0  # before early stopping's (30), which ends the training by raising

    def __init__(self, fit: BoostingFit):
        self.fit = fit

    def __call__(self, env: Any) -> None:
        self.fit.log_iteration(
            env.iteration,
            [(f"{item[0]}-{item[1]}", item[2]) for item in env.evaluation_result_list or []],
        )


def _best(booster: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    best = getattr(booster, "best_iteration", 0)
    if best:
        out["best_iteration"] = best
    scores = getattr(booster, "best_score", None) or {}
    for data, by_metric in scores.items():
        for metric, value in by_metric.items():
            out[f"best_{data}-{metric}"] = value
    return out


def _importance(booster: Any) -> dict[str, Any]:
    out = {}
    names = booster.feature_name()
    for kind in IMPORTANCE:
        try:
            values = booster.feature_importance(importance_type=kind)
            out[kind] = dict(zip(names, (float(x) for x in values), strict=False))
        except Exception:
            pass
    return out


class TrainFit(BoostingFit):
    flavor = "lightgbm"

    def __init__(self, *args: Any, **kwargs: Any):
        import lightgbm

        self.bound = inspect.signature(lightgbm.engine.train).bind(*args, **kwargs)
        a = self.bound.arguments
        params = dict(a.get("params") or {})
        params["num_boost_round"] = a.get("num_boost_round", 100)
        super().__init__("lightgbm.train", params)

    def prepare(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        a = self.bound.arguments
        a["callbacks"] = [*(a.get("callbacks") or []), _LogIterations(self)]
        return self.bound.args, self.bound.kwargs

    def finished(self, booster: Any) -> None:
        self.finish(booster, _best(booster), _importance(booster))


class EstimatorFit(BoostingFit):
    flavor = "lightgbm"

    def __init__(self, estimator: Any, *args: Any, **kwargs: Any):
        self.estimator = estimator
        super().__init__(type(estimator).__name__, estimator.get_params())

    def finished(self, result: Any) -> None:
        est = self.estimator
        log_history(self.run, getattr(est, "evals_result_", None) or {})
        self.finish(est, _best(est.booster_), _importance(est.booster_))
