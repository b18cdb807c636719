"""scikit-learn autologging in a real kernel: what a user checks after ``nbtrack.autolog()`` and
a fit (params, training metrics, the model loads back and predicts the same, a grid search's
candidates as child runs with the best tagged), and that nbtrack never changes what ``fit`` does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nbtrack.query.runs import read_run
from nbtrack.query.search import search_runs
from nbtrack.store import open_store

pytest.importorskip("sklearn")

DATA = """
import numpy as np
rng = np.random.RandomState(0)
X = rng.rand(300, 4)
y = (X[:, 0] + 0.3 * X[:, 1] > 0.6).astype(int)
"""


def runs(store_dir: Path) -> Any:
    return search_runs(store=open_store(store_dir)).set_index("run_name")


def result(k: Any, expr: str) -> Any:
    out = k.ok(f"import json as _j\nprint(_j.dumps({expr}))")
    return json.loads(out["stdout"].strip().splitlines()[-1])


def test_a_fit_logs_params_training_metrics_and_a_model_that_predicts_the_same(kernel, store_dir):
    # autolog before sklearn is imported: the import hook patches it on import
    kernel.ok("nbtrack.autolog()")
    kernel.ok(DATA)
    out = kernel.ok(
        "from sklearn.linear_model import LogisticRegression\n"
        "model = LogisticRegression(C=0.5, max_iter=200).fit(X, y)\n"
        "acc = model.score(X, y)"
    )
    assert "autolog started run LogisticRegression" in out["stderr"]  # said once, on stderr
    df = runs(store_dir)
    run = df.loc["LogisticRegression"]
    assert run["status"] == "finished"
    assert run["params.C"] == "0.5" and run["params.max_iter"] == "200"
    assert run["tags.estimator_name"] == "LogisticRegression"
    assert run["tags.estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    acc = result(kernel, "acc")
    assert run["metrics.training_accuracy_score"] == pytest.approx(acc)
    assert run["metrics.training_score"] == pytest.approx(acc)
    for key in ("training_f1_score", "training_log_loss", "training_roc_auc"):
        assert 0 <= run[f"metrics.{key}"] <= 1.5, key
    # the model comes back and predicts the same
    run_id = run["run_id"]
    same = result(
        kernel,
        f"bool((nbtrack.load_model({run_id!r}).predict_proba(X) == model.predict_proba(X)).all())",
    )
    assert same is True
    # the run read model lists it with the line that loads it
    models = read_run(open_store(store_dir), run_id)["models"]
    assert [(m["name"], m["flavor"]) for m in models] == [("model", "sklearn")]
    assert models[0]["snippet"] == f'model = nbtrack.load_model("{run_id}", "model")'
    assert models[0]["versions"]["scikit-learn"] == result(
        kernel, "__import__('sklearn').__version__"
    )


def test_a_pipeline_is_one_run_with_its_steps_params_and_a_regressor_gets_regression_metrics(
    kernel, store_dir
):
    kernel.ok(DATA)
    kernel.ok(
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "from sklearn.linear_model import Ridge\n"
        "nbtrack.autolog()"
    )
    kernel.ok(
        "%%track --name pipe\npipe = make_pipeline(StandardScaler(), Ridge(alpha=2.0)).fit(X, X[:, 0])"
    )
    df = runs(store_dir)
    assert list(df.index) == ["pipe"]  # the steps' fits log nothing of their own
    run = df.loc["pipe"]
    assert run["params.ridge__alpha"] == "2.0"
    assert run["params.standardscaler__with_mean"] == "True"
    r2 = result(kernel, "pipe.score(X, X[:, 0])")
    assert run["metrics.training_r2_score"] == pytest.approx(r2)
    assert run["metrics.training_root_mean_squared_error"] >= 0
    assert "metrics.training_accuracy_score" not in df.columns


def test_grid_search_logs_a_child_run_per_candidate_and_tags_the_best(kernel, store_dir):
    kernel.ok(DATA)
    kernel.ok(
        "nbtrack.autolog()\n"
        "from sklearn.model_selection import GridSearchCV\n"
        "from sklearn.tree import DecisionTreeClassifier\n"
        "search = GridSearchCV(DecisionTreeClassifier(random_state=0), {'max_depth': [1, 2, 4], "
        "'min_samples_leaf': [1, 20]}, cv=3).fit(X, y)"
    )
    df = runs(store_dir)
    parent = df.loc["GridSearchCV"]
    children = df[df["parent_run_id"] == parent["run_id"]]
    assert len(children) == 6 and len(df) == 7  # no run for the internal CV fits
    best = result(
        kernel,
        "{'params': {k: str(v) for k, v in search.best_params_.items()}, "
        "'score': search.best_score_, 'index': int(search.best_index_)}",
    )
    tagged = children[children["tags.best"] == "true"]
    assert len(tagged) == 1
    (best_name,) = tagged.index
    assert best_name == f"GridSearchCV candidate {best['index']}"
    assert tagged.iloc[0]["params.max_depth"] == best["params"]["max_depth"]
    assert tagged.iloc[0]["metrics.rank_test_score"] == 1
    assert tagged.iloc[0]["metrics.mean_test_score"] == pytest.approx(best["score"])
    assert parent["tags.best_child_run_id"] == tagged.iloc[0]["run_id"]
    assert parent["params.best_max_depth"] == best["params"]["max_depth"]
    assert parent["metrics.best_cv_score"] == pytest.approx(best["score"])
    for _, child in children.iterrows():  # every candidate with its CV scores
        assert {"split0_test_score", "split2_test_score", "std_test_score"} <= {
            c.removeprefix("metrics.") for c in child.index if child[c] == child[c]
        }
    same = result(
        kernel,
        f"bool((nbtrack.load_model({parent['run_id']!r}).predict(X) == search.predict(X)).all())",
    )
    assert same is True


def test_fit_returns_what_it_returns_unpatched_and_the_users_errors_pass_through(kernel, store_dir):
    kernel.ok(DATA)
    kernel.ok(
        "from sklearn.linear_model import LogisticRegression\n"
        "plain = LogisticRegression().fit(X, y).predict_proba(X)\n"
        "nbtrack.autolog()\n"
        "est = LogisticRegression()\n"
        "returned = est.fit(X, y)"
    )
    assert result(kernel, "returned is est") is True
    assert result(kernel, "bool((est.predict_proba(X) == plain).all())") is True
    # the user's own error is raised as it would be, and its run marked failed
    out = kernel.run("LogisticRegression().fit(X, y[:10])")
    assert out["error"] == "ValueError" and "NbtrackWarning" not in out["stderr"]
    df = runs(store_dir)
    assert sorted(df["status"]) == ["failed", "finished"]


def test_track_autolog_logs_the_cells_fits_to_its_run_for_that_cell_only(kernel, store_dir):
    kernel.ok(DATA)
    kernel.ok("from sklearn.linear_model import LogisticRegression")
    kernel.ok("%%track --autolog --name tracked\nm = LogisticRegression(C=3.0).fit(X, y)")
    kernel.ok("m2 = LogisticRegression().fit(X, y)")  # autolog is off again
    df = runs(store_dir)
    assert list(df.index) == ["tracked"]
    assert df.loc["tracked", "params.C"] == "3.0"
    assert df.loc["tracked", "metrics.training_accuracy_score"] > 0.5
    run_id = df.loc["tracked", "run_id"]
    assert [m["name"] for m in read_run(open_store(store_dir), run_id)["models"]] == ["model"]
