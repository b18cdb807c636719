"""XGBoost and LightGBM autologging in a real kernel: the booster's params, each iteration's
evaluation metrics as step metrics, early stopping, feature importance, and the model loads back
and predicts the same, through both the training function and the scikit-learn API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nbtrack.query.runs import read_run
from nbtrack.query.search import get_metric_history, search_runs
from nbtrack.store import open_store

DATA = """
import numpy as np
rng = np.random.RandomState(0)
X = rng.rand(400, 5)
y = (X[:, 0] + 0.5 * X[:, 1] + 0.1 * rng.rand(400) > 0.8).astype(int)
Xt, yt, Xv, yv = X[:300], y[:300], X[300:], y[300:]
nbtrack.autolog()
"""


def runs(store_dir: Path) -> Any:
    return search_runs(store=open_store(store_dir)).set_index("run_name")


def result(k: Any, expr: str) -> Any:
    out = k.ok(f"import json as _j\nprint(_j.dumps({expr}))")
    return json.loads(out["stdout"].strip().splitlines()[-1])


def importance(store_dir: Path, run_id: str, kind: str) -> dict[str, float]:
    store = open_store(store_dir)
    art = next(
        a for a in store.artifacts_of(run_id) if a["path"] == f"feature_importance_{kind}.json"
    )
    return json.loads(store.get_blob(art["blob_hash"]))


def test_xgboost_train_and_classifier_log_params_iterations_early_stopping_and_the_model(
    kernel, store_dir
):
    pytest.importorskip("xgboost")
    kernel.ok(DATA)
    kernel.ok(
        "import xgboost as xgb\n"
        "dt, dv = xgb.DMatrix(Xt, label=yt), xgb.DMatrix(Xv, label=yv)\n"
        "booster = xgb.train({'objective': 'binary:logistic', 'eta': 0.5, 'max_depth': 3}, dt, 200,"
        " evals=[(dt, 'train'), (dv, 'valid')], early_stopping_rounds=5, verbose_eval=False)"
    )
    kernel.ok(
        "clf = xgb.XGBClassifier(n_estimators=12, max_depth=2)\n"
        "clf.fit(Xt, yt, eval_set=[(Xv, yv)], verbose=False)"
    )
    df = runs(store_dir)
    store = open_store(store_dir)
    train = df.loc["xgboost.train"]
    assert train["params.eta"] == "0.5" and train["params.max_depth"] == "3"
    assert train["params.num_boost_round"] == "200"
    history = get_metric_history(train["run_id"], "valid-logloss", store=store)
    rounds = result(kernel, "booster.num_boosted_rounds()")
    assert list(history["step"]) == list(range(rounds))  # one point per iteration, by step
    assert rounds < 200  # early stopping ended it
    best = result(kernel, "[booster.best_iteration, booster.best_score]")
    assert train["metrics.best_iteration"] == best[0]
    assert train["metrics.best_score"] == pytest.approx(best[1])
    assert history["value"][best[0]] == pytest.approx(best[1])
    gain = importance(store_dir, train["run_id"], "gain")
    assert gain == pytest.approx(result(kernel, "booster.get_score(importance_type='gain')"))
    same = result(
        kernel,
        f"bool((nbtrack.load_model({train['run_id']!r}).predict(dv) == booster.predict(dv)).all())",
    )
    assert same is True

    clf = df.loc["XGBClassifier"]
    assert clf["params.n_estimators"] == "12" and clf["params.max_depth"] == "2"
    history = get_metric_history(clf["run_id"], "validation_0-logloss", store=store)
    assert list(history["step"]) == list(range(12))
    expected = result(kernel, "clf.evals_result()['validation_0']['logloss']")
    assert list(history["value"]) == pytest.approx(expected)
    models = read_run(store, clf["run_id"])["models"]
    assert (
        models[0]["flavor"] == "xgboost" and models[0]["class"] == "xgboost.sklearn.XGBClassifier"
    )
    loaded = f"nbtrack.load_model({clf['run_id']!r})"
    assert result(kernel, f"type({loaded}).__name__") == "XGBClassifier"
    assert result(kernel, f"bool(({loaded}.predict_proba(Xv) == clf.predict_proba(Xv)).all())")


def test_lightgbm_train_and_classifier_log_params_iterations_early_stopping_and_the_model(
    kernel, store_dir
):
    pytest.importorskip("lightgbm")
    kernel.ok(DATA)
    kernel.ok(
        "import lightgbm as lgb\n"
        "dt = lgb.Dataset(Xt, yt)\n"
        "dv = lgb.Dataset(Xv, yv, reference=dt)\n"
        "booster = lgb.train({'objective': 'binary', 'learning_rate': 0.3, 'num_leaves': 7, "
        "'verbose': -1}, dt, 300, valid_sets=[dv], valid_names=['valid'], "
        "callbacks=[lgb.early_stopping(5, verbose=False)])"
    )
    kernel.ok(
        "clf = lgb.LGBMClassifier(n_estimators=15, num_leaves=5, verbose=-1)\n"
        "clf.fit(Xt, yt, eval_X=(Xv,), eval_y=(yv,))"
    )
    df = runs(store_dir)
    store = open_store(store_dir)
    train = df.loc["lightgbm.train"]
    assert train["params.learning_rate"] == "0.3" and train["params.num_leaves"] == "7"
    history = get_metric_history(train["run_id"], "valid-binary_logloss", store=store)
    best = result(kernel, "[booster.best_iteration, booster.best_score['valid']['binary_logloss']]")
    assert best[0] < 300  # early stopping ended it
    assert len(history) >= best[0]
    assert train["metrics.best_iteration"] == best[0]
    assert train["metrics.best_valid-binary_logloss"] == pytest.approx(best[1])
    split = importance(store_dir, train["run_id"], "split")
    assert sorted(split) == result(kernel, "sorted(booster.feature_name())")
    same = result(
        kernel,
        f"bool((nbtrack.load_model({train['run_id']!r}).predict(Xv) == booster.predict(Xv)).all())",
    )
    assert same is True

    clf = df.loc["LGBMClassifier"]
    assert clf["params.n_estimators"] == "15" and clf["params.num_leaves"] == "5"
    (data,) = result(kernel, "list(clf.evals_result_)")
    history = get_metric_history(clf["run_id"], f"{data}-binary_logloss", store=store)
    assert list(history["value"]) == pytest.approx(
        result(kernel, f"clf.evals_result_[{data!r}]['binary_logloss']")
    )
    loaded = f"nbtrack.load_model({clf['run_id']!r})"
    assert result(kernel, f"bool(({loaded}.predict_proba(Xv) == clf.predict_proba(Xv)).all())")
    assert read_run(store, clf["run_id"])["models"][0]["versions"]["lightgbm"] == result(
        kernel, "lgb.__version__"
    )
