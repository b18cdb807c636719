"""scikit-learn: every estimator's ``fit`` (and ``fit_transform``, ``fit_predict``) logs the
estimator's params (``get_params(deep=True)``: nested ones as ``step__param``), its training
metrics under MLflow's names (``training_accuracy_score``, ``training_r2_score``, ...), the
fitted model; a ``GridSearchCV`` / ``RandomizedSearchCV`` also logs each candidate as a child run
with its params and cross-validation scores (the best tagged ``best=true``) and the best params
(``best_<param>``) and score (``best_cv_score``) on its own run."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from nbtrack.autologging import config, enabled
from nbtrack.autologging.patching import FitLogger, patch
from nbtrack.autologging.runs import end_fit_run, log_metrics, log_params, run_for_fit
from nbtrack.recording import fluent
from nbtrack.recording.models import log_model_to

METHODS = ("fit", "fit_transform", "fit_predict")


def install(module: ModuleType) -> None:
    """Patch the training methods of every estimator scikit-learn lists, on the class that
    defines each (``BaseSearchCV.fit`` serves GridSearchCV and RandomizedSearchCV)."""
    from sklearn.utils import all_estimators

    done: set[tuple[type, str]] = set()
    for _, cls in all_estimators():
        for name in METHODS:
            owner = next((k for k in cls.__mro__ if name in k.__dict__), None)
            if owner is None or (owner, name) in done:
                continue
            if not owner.__module__.startswith("sklearn."):
                continue
            done.add((owner, name))
            patch("sklearn", owner, name, SklearnFit, lambda: enabled("sklearn"))


def _data(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    """X, y and sample_weight of a ``fit(self, X, y=None, ..., sample_weight=None)`` call."""
    x = args[1] if len(args) > 1 else kwargs.get("X")
    y = args[2] if len(args) > 2 else kwargs.get("y", kwargs.get("Y"))
    return x, y, kwargs.get("sample_weight")


class SklearnFit(FitLogger):
    def __init__(self, estimator: Any, *args: Any, **kwargs: Any):
        self.estimator = estimator
        self.x, self.y, self.weight = _data((estimator, *args), kwargs)
        cls = type(estimator)
        self.run, self.owned = run_for_fit(cls.__name__, "sklearn")
        self.run.set_tags(
            {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}
        )
        log_params(self.run, estimator.get_params(deep=True))

    def failed(self, exc: BaseException) -> None:
        end_fit_run(self.run, self.owned, failed=True)

    def finished(self, result: Any) -> None:
        try:
            est = self.estimator
            if config.log_training_metrics and self.y is not None:
                log_metrics(self.run, training_metrics(est, self.x, self.y, self.weight))
            if hasattr(est, "cv_results_"):
                log_search(self.run, est)
            if config.log_models:
                log_model_to(self.run, est, "model")
        finally:
            end_fit_run(self.run, self.owned)


def training_metrics(est: Any, x: Any, y: Any, weight: Any) -> list[tuple[str, Any]]:
    """MLflow's training metrics: each one that cannot be computed for this estimator and data
    (no predict_proba, multi-output y, ...) is left out."""
    from sklearn import base, metrics

    out: list[tuple[str, Any]] = []

    def add(name: str, fn: Any) -> None:
        try:
            out.append((name, fn()))
        except Exception:
            pass

    if not (base.is_classifier(est) or base.is_regressor(est)) or not hasattr(est, "predict"):
        return out
    try:
        pred = est.predict(x)
    except Exception:
        return out
    w = {"sample_weight": weight}
    if base.is_classifier(est):
        add("training_accuracy_score", lambda: metrics.accuracy_score(y, pred, **w))
        try:  # one pass for the three (each alone repeats the same checks)
            p, r, f, _ = metrics.precision_recall_fscore_support(
                y, pred, average="weighted", zero_division=0, **w
            )
            out += [
                ("training_precision_score", p),
                ("training_recall_score", r),
                ("training_f1_score", f),
            ]
        except Exception:
            pass
        if hasattr(est, "predict_proba"):
            try:
                proba = est.predict_proba(x)
            except Exception:
                proba = None
            if proba is not None:
                labels = getattr(est, "classes_", None)
                add("training_log_loss", lambda: metrics.log_loss(y, proba, labels=labels, **w))
                if proba.ndim == 2 and proba.shape[1] == 2:
                    add("training_roc_auc", lambda: metrics.roc_auc_score(y, proba[:, 1], **w))
                else:
                    add(
                        "training_roc_auc",
                        lambda: metrics.roc_auc_score(
                            y, proba, multi_class="ovr", labels=labels, **w
                        ),
                    )
    else:
        add("training_mean_squared_error", lambda: metrics.mean_squared_error(y, pred, **w))
        add(
            "training_root_mean_squared_error",
            lambda: metrics.root_mean_squared_error(y, pred, **w),
        )
        add("training_mean_absolute_error", lambda: metrics.mean_absolute_error(y, pred, **w))
        add("training_r2_score", lambda: metrics.r2_score(y, pred, **w))
    add("training_score", lambda: est.score(x, y, **({} if weight is None else w)))
    return out


def _rank_key(cv: dict[str, Any], est: Any) -> str | None:
    """The rank column that orders the candidates (``refit``'s metric when several are scored)."""
    refit = getattr(est, "refit", True)
    for key in ("rank_test_score", f"rank_test_{refit}" if isinstance(refit, str) else ""):
        if key in cv:
            return key
    return next((k for k in cv if k.startswith("rank_test_")), None)


def log_search(parent: Any, est: Any) -> None:
    """Each candidate of a search as a child run (params and CV scores), best ranked first and
    at most ``max_tuning_runs``; the best tagged ``best=true``; best params and score on the
    parent."""
    cv = est.cv_results_
    candidates = list(cv["params"])
    rank_key = _rank_key(cv, est)
    order = sorted(
        range(len(candidates)), key=lambda i: (float(cv[rank_key][i]) if rank_key else 0.0, i)
    )
    best = getattr(est, "best_index_", None)
    if best is None and rank_key is not None and order:
        best = order[0]
    if config.max_tuning_runs is not None:
        order = order[: config.max_tuning_runs]
    best_params = getattr(est, "best_params_", None)
    if best_params is None and best is not None:
        best_params = candidates[best]
    if best_params:
        log_params(parent, best_params, prefix="best_")
    if getattr(est, "best_score_", None) is not None:
        log_metrics(parent, [("best_cv_score", est.best_score_)])
    scores = [k for k in cv if k != "params" and not k.startswith("param_")]
    for i in order:
        child = fluent.start_run(
            f"{parent.name} candidate {i}",
            parent.experiment,
            tags={
                "autolog": "sklearn",
                "estimator_name": type(est).__name__,
                "best": "true" if i == best else "false",
            },
            log_system_metrics=False,
        )
        try:
            log_params(child, candidates[i])
            log_metrics(child, [(k, cv[k][i]) for k in scores])
        finally:
            child.end("finished")
        if i == best:
            parent.set_tag("best_child_run_id", child.id)
