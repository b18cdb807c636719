"""log_model / load_model with real models and a real store: each flavor comes back and predicts
the same, the versions it was saved with are kept and checked, and the run shows how to load it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

import nbtrack
from nbtrack.recording.models import ModelVersionWarning
from nbtrack.store import open_store

X = np.random.RandomState(0).rand(120, 4)
Y = (X[:, 0] + X[:, 1] > 1).astype(int)


def models() -> dict[str, tuple[object, object]]:
    """name -> (fitted model, what its predict takes)"""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out: dict[str, tuple[object, object]] = {
        "pipeline": (
            make_pipeline(StandardScaler(), RandomForestClassifier(5, random_state=0)).fit(X, Y),
            X,
        )
    }
    try:
        import xgboost as xgb

        out["xgb_booster"] = (xgb.train({}, xgb.DMatrix(X, label=Y), 3), xgb.DMatrix(X))
        out["xgb_classifier"] = (xgb.XGBClassifier(n_estimators=3).fit(X, Y), X)
    except ImportError:
        pass
    try:
        import lightgbm as lgb

        out["lgb_booster"] = (lgb.train({"verbose": -1}, lgb.Dataset(X, Y), 3), X)
        out["lgb_classifier"] = (lgb.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, Y), X)
    except ImportError:
        pass
    return out


def test_every_flavor_loads_back_and_predicts_the_same(store_dir: Path) -> None:
    fitted = models()
    with nbtrack.start_run("models", store=store_dir) as run:
        infos = {name: nbtrack.log_model(m, name) for name, (m, _) in fitted.items()}
    assert infos["pipeline"]["flavor"] == "sklearn"
    assert infos["pipeline"]["snippet"] == f'model = nbtrack.load_model("{run.id}", "pipeline")'
    for name, (model, data) in fitted.items():
        loaded = nbtrack.load_model(run.id[:10], name, store=store_dir)
        assert type(loaded) is type(model), name
        assert np.array_equal(loaded.predict(data), model.predict(data)), name  # type: ignore[attr-defined]
    shown = nbtrack.get_run(run.id, store=open_store(store_dir))
    assert shown["status"] == "finished"


def test_the_run_shows_each_model_with_its_versions_and_the_line_that_loads_it(
    store_dir: Path,
) -> None:
    import sklearn

    model, _ = models()["pipeline"]
    with nbtrack.start_run("shown", store=store_dir) as run:
        nbtrack.log_model(model, "clf")
    out = run_cli("show", run.id, "--store", str(store_dir))
    assert out.returncode == 0, out.stderr
    assert f'model = nbtrack.load_model("{run.id}", "clf")' in out.stdout
    assert f"scikit-learn {sklearn.__version__}" in out.stdout
    record = json.loads(run_cli("show", run.id, "--json", "--store", str(store_dir)).stdout)
    (m,) = record["models"]
    assert m["name"] == "clf" and m["flavor"] == "sklearn"
    assert m["class"] == "sklearn.pipeline.Pipeline"
    assert m["versions"]["scikit-learn"] == sklearn.__version__
    assert m["versions"]["numpy"] == np.__version__
    view = nbtrack.run_view(run.id, store=store_dir)  # the notebook widget shows the same
    assert [v["snippet"] for v in view.models] == [m["snippet"]]


def test_a_model_saved_with_other_versions_loads_with_a_warning(
    store_dir: Path, tmp_path: Path
) -> None:
    import pickle

    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(X, Y)
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps(model))
    meta = {
        "name": "old",
        "flavor": "sklearn",
        "format": "pickle",
        "file": "model.pkl",
        "class": "sklearn.linear_model._logistic.LogisticRegression",
        "versions": {"scikit-learn": "0.24.2", "numpy": np.__version__},
    }
    (folder / "MLmodel.json").write_text(json.dumps(meta))
    with nbtrack.start_run("old", store=store_dir) as run:
        nbtrack.log_artifact(folder, "models/old")
    with pytest.warns(ModelVersionWarning, match=r"scikit-learn 0\.24\.2 \(now "):
        loaded = nbtrack.load_model(run.id, "old", store=store_dir)
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_bad_models_and_names_are_clear_errors(store_dir: Path) -> None:
    with nbtrack.start_run("bad", store=store_dir) as run:
        with pytest.raises(nbtrack.ValidationError, match="log_model takes a scikit-learn"):
            nbtrack.log_model(object(), "x")
        with pytest.raises(nbtrack.ValidationError, match="one path segment"):
            nbtrack.log_model(models()["pipeline"][0], "a/b")
    with pytest.raises(nbtrack.NotFoundError, match="has no model 'model'; it has no models"):
        nbtrack.load_model(run.id, store=store_dir)
